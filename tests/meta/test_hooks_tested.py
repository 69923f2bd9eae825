"""Every hookspec is exercised by a test named after it (``test_hook_<hook name>``, as
datasette does), whose body implements or calls that hook."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from xpusim.core import hookspecs

TESTS = Path(__file__).resolve().parents[1]
HOOKS = sorted(name for name, f in vars(hookspecs).items()
               if name.startswith("xpusim_") and callable(f))


def _hook_tests() -> dict[str, str]:
    """``test_hook_*`` function name -> its source, over every test module."""
    found = {}
    for path in TESTS.rglob("test_*.py"):
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_hook_"):
                found[node.name] = ast.get_source_segment(text, node) or ""
    return found


def test_there_are_hooks_to_check():
    assert len(HOOKS) >= 7


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test_that_uses_it(hook):
    tests = _hook_tests()
    name = f"test_hook_{hook}"
    assert name in tests, f"no test named {name} (tests/test_hooks.py holds one per hook)"
    assert hook in tests[name], f"{name} neither implements nor calls {hook}"


def test_no_hook_test_for_a_hook_that_does_not_exist():
    stale = sorted(n for n in _hook_tests() if n.removeprefix("test_hook_") not in HOOKS
                   and n.removeprefix("test_hook_").startswith("xpusim_"))
    assert not stale, f"tests named after hooks that no longer exist: {stale}"
