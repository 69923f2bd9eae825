"""The tutorials work as written: each page's blocks, in order, in an empty folder, in a fresh
virtual environment where xpusim is installed as a user installs it.

Conventions the pages follow (so that what a reader sees is what CI runs):

- a ```python or ```toml block whose first line is ``# file: PATH`` is written to PATH;
- any other ```python block is executed in this interpreter (one namespace per page);
- each line of a ```bash block is run by ``bash`` in the page's folder, with this
  interpreter's virtual environment first on ``PATH`` (as if activated), and must exit 0;
- in a ```console block, ``$ ...`` lines are run the same way and the lines after them must
  appear in the output (a non-zero exit is expected when they show ``error:``);
- ```text blocks are not run (layouts).

The pages install things (``pip install -e .``), so this test runs only in a throwaway
environment: ``scripts/check_example_plugin.sh`` (part of CI) builds one, installs xpusim and the
example plugin from a copy of the tree, and runs this file there with
``XPUSIM_TUTORIAL_VENV=1``. Elsewhere it is skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs" / "tutorials").glob("*.md"))
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.M | re.S)

pytestmark = pytest.mark.skipif(
    os.environ.get("XPUSIM_TUTORIAL_VENV") != "1",
    reason="runs in the fresh virtual environment of scripts/check_example_plugin.sh "
           "(XPUSIM_TUTORIAL_VENV=1)")


def blocks(page: Path) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(page.read_text())]


def _shell_env() -> dict[str, str]:
    """This interpreter's virtual environment, activated; entry points load as for a user."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("XPUSIM_DISABLE_PLUGIN_AUTOLOAD", "PYTHONPATH", "XPUSIM_TUTORIAL_VENV")}
    env["VIRTUAL_ENV"] = sys.prefix
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _shell(line: str, folder: Path) -> tuple[int, str]:
    proc = subprocess.run(["bash", "-c", line], cwd=folder, env=_shell_env(),
                          capture_output=True, text=True, timeout=900)
    return proc.returncode, proc.stdout + proc.stderr


def test_xpusim_comes_from_the_fresh_environment():
    import xpusim

    assert sys.prefix != sys.base_prefix, "not a virtual environment"
    assert Path(xpusim.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()), \
        xpusim.__file__
    assert not Path(xpusim.__file__).resolve().is_relative_to(ROOT)


def test_tutorial_pages_exist():
    names = {p.stem for p in PAGES}
    assert {"write-a-hardware-plugin", "compare-lifetime-costs"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_tutorial_runs_as_written(page, tmp_path, monkeypatch):
    folder = tmp_path / page.stem
    folder.mkdir()
    monkeypatch.chdir(folder)
    namespace: dict = {"__name__": f"tutorial_{page.stem.replace('-', '_')}"}
    ran = 0
    for lang, body in blocks(page):
        first = body.splitlines()[0] if body.strip() else ""
        target = re.fullmatch(r"# file: (\S+)", first.strip())
        if lang in ("python", "toml") and target:
            path = folder / target.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
        elif lang == "python":
            exec(compile(body, f"{page.name}:python block", "exec"), namespace)
            ran += 1
        elif lang == "bash":
            for line in body.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    code, out = _shell(line.strip(), folder)
                    assert code == 0, f"{page.name}: `{line}` exited {code}:\n{out[-3000:]}"
                    ran += 1
        elif lang == "console":
            lines = body.splitlines()
            for i, line in enumerate(lines):
                if not line.startswith("$ "):
                    continue
                expected = []
                for nxt in lines[i + 1:]:
                    if nxt.startswith("$ "):
                        break
                    expected.append(nxt.strip())
                code, out = _shell(line[2:], folder)
                wants_error = any(e.startswith("error:") for e in expected)
                assert (code != 0) == wants_error, f"{page.name}: `{line}` exited {code}:\n{out}"
                for e in filter(None, expected):
                    assert e in out, f"{page.name}: `{line}` did not print {e!r}:\n{out}"
                ran += 1
    assert ran, f"{page.name}: nothing ran"
