import sys
from pathlib import Path

import numpy.fft  # noqa: F401  in every pytester snapshot: its C module loads once per process

sys.path.insert(0, str(Path(__file__).parent))  # for the toy plugin writer

pytest_plugins = ["pytester"]
