"""Generated reference pages are up to date, and every hook has its exact heading."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path

import pytest

from xpusim.core import hookspecs
from xpusim.core.plugins import get_plugin_manager

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOOKS = [f for name, f in vars(hookspecs).items() if name.startswith("xpusim_") and callable(f)]


def test_hook_reference_is_up_to_date():
    page = ROOT / "docs" / "plugin_hooks.md"
    assert page.read_text() == _script("gen_hook_docs").render(), \
        "docs/plugin_hooks.md is out of date: run python scripts/gen_hook_docs.py"


@pytest.mark.parametrize("hook", HOOKS, ids=lambda f: f.__name__)
def test_every_hook_has_its_exact_heading(hook):
    text = (ROOT / "docs" / "plugin_hooks.md").read_text()
    args = ", ".join(inspect.signature(hook).parameters)
    heading = f"## {hook.__name__}({args})"
    assert re.search(rf"^{re.escape(heading)}$", text, re.M), f"missing heading {heading!r}"


def test_hook_reference_documents_nothing_else():
    text = (ROOT / "docs" / "plugin_hooks.md").read_text()
    documented = set(re.findall(r"^## (xpusim_\w+)\(", text, re.M))
    assert documented == {f.__name__ for f in HOOKS}


def test_spec_reference_is_up_to_date():
    page = ROOT / "docs" / "spec_reference.md"
    assert page.read_text() == _script("gen_spec_docs").render(), \
        "docs/spec_reference.md is out of date: run python scripts/gen_spec_docs.py"


def test_conformance_page_is_up_to_date():
    page = ROOT / "docs" / "conformance.md"
    assert page.read_text() == _script("gen_conformance_docs").render(), \
        "docs/conformance.md is out of date: run python scripts/gen_conformance_docs.py"


def test_spec_reference_has_every_backend_and_key():
    from xpusim.testing.template import param_rows

    text = (ROOT / "docs" / "spec_reference.md").read_text()
    for name, info in get_plugin_manager(autoload=False).backends.items():
        assert re.search(rf"^## {re.escape(name)}$", text, re.M), name
        for row in param_rows(info.params):
            assert f"| `{row.path}` |" in text, (name, row.path)
