"""The tutorials' code runs: each page's blocks, in order, in an empty folder.

Conventions the pages follow (so that what a reader sees is what CI runs):

- a ```python or ```toml block whose first line is ``# file: PATH`` is written to PATH;
- any other ```python block is executed (one namespace per page);
- each line of a ```bash block is run: ``xpusim ...`` in-process through the CLI entry point
  (must exit 0), ``pytest ...`` in a subprocess (must pass);
- in a ```console block, ``$ xpusim ...`` lines are run and the lines after them must appear in
  the output (a non-zero exit is expected when they show ``error:``);
- ```text blocks are not run (installation steps, layouts).

Instead of ``pip install -e .`` the folder is put on the import path.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs" / "tutorials").glob("*.md"))
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.M | re.S)
PHOTONIC_SRC = ROOT / "examples" / "xpusim-photonic" / "src"


def blocks(page: Path) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(page.read_text())]


def _cli(argv: list[str], capsys) -> tuple[int, str]:
    from xpusim.cli import entry

    code = entry(argv)
    out = capsys.readouterr()
    return code, out.out + out.err


def _run_line(line: str, folder: Path, capsys) -> tuple[int, str]:
    argv = shlex.split(line)
    if argv[0] == "xpusim":
        return _cli(argv[1:], capsys)
    if argv[0] == "pytest":
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(PHOTONIC_SRC),
                                                             os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                               *argv[1:]], cwd=folder, env=env, capture_output=True, text=True,
                              timeout=300)
        return proc.returncode, proc.stdout + proc.stderr
    pytest.fail(f"tutorial command the test cannot run: {line!r}")


#: Pages whose commands take over 10 s (the plugin tutorial runs the conformance suite).
SLOW_PAGES = {"write-a-hardware-plugin"}


@pytest.mark.parametrize("page", [pytest.param(p, marks=pytest.mark.slow)
                                  if p.stem in SLOW_PAGES else p for p in PAGES],
                         ids=lambda p: p.stem)
def test_tutorial_runs(page, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(PHOTONIC_SRC))  # the example plugin, as if installed
    monkeypatch.setenv("XPUSIM_DISABLE_PLUGIN_AUTOLOAD", "1")
    namespace: dict = {"__name__": f"tutorial_{page.stem}"}
    ran = 0
    for lang, body in blocks(page):
        first = body.splitlines()[0] if body.strip() else ""
        target = re.fullmatch(r"# file: (\S+)", first.strip())
        if lang in ("python", "toml") and target:
            path = tmp_path / target.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
        elif lang == "python":
            exec(compile(body, f"{page.name}:python block", "exec"), namespace)
            ran += 1
        elif lang == "bash":
            for line in body.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    code, out = _run_line(line.strip(), tmp_path, capsys)
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
                code, out = _run_line(line[2:], tmp_path, capsys)
                wants_error = any(e.startswith("error:") for e in expected)
                assert (code != 0) == wants_error, f"{page.name}: `{line}` exited {code}:\n{out}"
                for e in filter(None, expected):
                    assert e in out, f"{page.name}: `{line}` did not print {e!r}:\n{out}"
                ran += 1
    assert ran, f"{page.name}: nothing ran"
    for name in [m for m in sys.modules if m.startswith(("xpusim_int8array", "better_"))]:
        del sys.modules[name]
