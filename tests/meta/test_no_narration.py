"""Docs and code describe the project, never how it was made: no pointers to issue texts or
sessions, no paths of one particular machine."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("xpusim", "docs", "tests", "benchmarks", "scripts", "examples")
NARRATION = re.compile(r"\b(the issue|issue \d+|this session|as asked)\b|/work/|/home/\w+/",
                       re.I)


def test_no_narration_or_machine_paths():
    hits = []
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in (".py", ".md", ".toml", ".sh") or path == Path(__file__):
                continue
            for i, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if NARRATION.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    for path in (ROOT / "README.md",):
        hits += [f"README.md: {line}" for line in path.read_text().splitlines()
                 if NARRATION.search(line)]
    assert not hits, "\n".join(hits)
