"""House rules that are cheap to check: the core stays ignorant of plugins; no hard-coded
fastmath in kernels; every hookspec is documented and prefixed."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from xpusim.core import hookspecs

ROOT = Path(__file__).resolve().parents[2] / "xpusim"


def test_core_never_imports_plugins():
    for path in (ROOT / "core").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+xpusim\.plugins|from \.\.plugins", text, re.M), path


def test_no_hardcoded_fastmath():
    for path in ROOT.rglob("*.py"):
        hits = re.findall(r"fastmath\s*=\s*(?!COST_FASTMATH\b)\S+", path.read_text())
        assert not hits, f"{path}: {hits}: use fastmath=COST_FASTMATH (cost kernels only)"


def test_every_hookspec_has_prefix_docstring_and_annotations():
    specs = [f for name, f in vars(hookspecs).items() if name.startswith("xpusim_")]
    assert len(specs) >= 7
    for f in specs:
        assert f.__doc__ and "Returns" in f.__doc__, f.__name__
        assert "return" in f.__annotations__, f.__name__
        assert all(p in f.__annotations__ for p in inspect.signature(f).parameters), f.__name__
