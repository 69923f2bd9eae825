"""Start-up time of CLI commands: best of 7 wall-clock times of `python -m xpusim ARGS`.

    python benchmarks/bench_startup.py              # this checkout
    python benchmarks/bench_startup.py OTHER_DIR    # and another checkout, interleaved

Commands that need no plugins (``--help``) import neither NumPy nor numba; commands that list
plugins import the built-in backends, whose kernel modules import numba.
"""
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
DIRS = {"this": str(HERE), **({"other": sys.argv[1]} if len(sys.argv) > 1 else {})}
CASES = ["--help", "study --help", "specs list", "methods", "plugins",
         "price --hardware h100-sxm --shape 1,2,3"]
for args in CASES:
    best = dict.fromkeys(DIRS, 1e9)
    for _ in range(7):
        for k, d in DIRS.items():
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "xpusim", *args.split()], cwd=d,
                           capture_output=True,
                           env={"XPUSIM_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "/usr/bin:/bin"})
            best[k] = min(best[k], time.perf_counter() - t)
    print(f"xpusim {args:42} " + "   ".join(f"{k} {v:.2f} s" for k, v in best.items()))
