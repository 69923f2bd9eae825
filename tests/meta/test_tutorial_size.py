"""The tutorial's hardware plugin stays small: the helpers of ``xpusim.core.backend`` and
``xpusim.testing`` carry what every backend would otherwise write again.

Counted: every line (code, docstrings, comments, blank lines and the ``# file:`` line the page
starts each block with) of the Python files the tutorial writes into ``xpusim_int8array/``,
exactly as ``tests/meta/test_tutorials.py`` writes them to disk.
"""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "write-a-hardware-plugin.md"
LIMIT = 120
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.M | re.S)  # as test_tutorials.py


def blocks(page: Path) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(page.read_text())]


def plugin_files() -> dict[str, str]:
    files = {}
    for lang, body in blocks(PAGE):
        first = body.splitlines()[0].strip() if body.strip() else ""
        target = re.fullmatch(r"# file: (xpusim_int8array/\S+\.py)", first)
        if lang == "python" and target:
            files[target.group(1)] = body
    return files


def test_tutorial_plugin_fits_in_120_lines():
    files = plugin_files()
    assert {"xpusim_int8array/__init__.py", "xpusim_int8array/kernels.py",
            "xpusim_int8array/twins.py", "xpusim_int8array/device.py",
            "xpusim_int8array/params.py"} <= set(files)
    lines = {name: len(body.splitlines()) for name, body in files.items()}
    assert sum(lines.values()) <= LIMIT, lines


def test_the_page_states_the_count_it_has():
    stated = re.search(r"(\d+) lines of Python", PAGE.read_text())
    assert stated, "the page says how many lines the plugin has"
    assert int(stated.group(1)) == sum(len(b.splitlines()) for b in plugin_files().values())
