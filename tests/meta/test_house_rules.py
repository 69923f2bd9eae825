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


#: fastmath flags that change a ceiling, a floor or a rounded count, or hide a failure.
UNSAFE_FLAGS = {
    "arcp": "x / y becomes x * (1 / y), above an exact integer quotient: a ceiling counts one "
            "tile or core too many (525 neurons at 75 per core took 8 cores)",
    "contract": "fused multiply-adds round differently from the twin, across a ceiling",
    "afn": "approximate sqrt/exp/log feeding counts",
    "reassoc": "sums in an order that depends on the compiler",
    "nnan": "NaN assumed away: an unpriceable row must stay visible",
    "ninf": "infinity assumed away",
    "fast": "all of the above",
}
KERNEL_SOURCES = [*ROOT.rglob("*.py"), *(ROOT.parent / "examples").rglob("*.py")]


def test_no_hardcoded_fastmath():
    for path in KERNEL_SOURCES:
        hits = re.findall(r"fastmath\s*=\s*(?!COST_FASTMATH\b)\S+", path.read_text())
        assert not hits, f"{path}: {hits}: use fastmath=COST_FASTMATH (cost kernels only)"


def test_cost_fastmath_is_safe_for_ceilings_and_counts():
    from xpusim.core.kernels import COST_FASTMATH

    bad = {flag: UNSAFE_FLAGS[flag] for flag in COST_FASTMATH if flag in UNSAFE_FLAGS}
    assert not bad, f"COST_FASTMATH holds flags that cost kernels (ceilings) cannot use: {bad}"


def test_fastmath_only_in_cost_kernels():
    """Compute kernels emulate numerics bit for bit: no fastmath outside cost modules."""
    for path in KERNEL_SOURCES:
        if re.search(r"fastmath\s*=", path.read_text()) and path.parent.name != "meta":
            assert path.stem.startswith("cost") or path.name == "kernels.py", path


def test_every_hookspec_has_prefix_docstring_and_annotations():
    specs = [f for name, f in vars(hookspecs).items() if name.startswith("xpusim_")]
    assert len(specs) >= 7
    for f in specs:
        assert f.__doc__ and "Returns" in f.__doc__, f.__name__
        assert "return" in f.__annotations__, f.__name__
        assert all(p in f.__annotations__ for p in inspect.signature(f).parameters), f.__name__


def test_ci_runs_the_twin_and_conformance_tests_without_jit():
    repo = ROOT.parent
    assert re.search(r"^make test-nojit$", (repo / ".ci" / "run").read_text(), re.M)
    target = (repo / "Makefile").read_text().split("test-nojit:", 1)[1].split("\n\n")[0]
    assert "NUMBA_DISABLE_JIT=1" in target
    assert "tests/test_twins.py" in target and "tests/test_conformance.py" in target
