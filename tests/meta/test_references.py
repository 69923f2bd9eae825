"""Provenance: every reference id cited by a spec, a model file or a doc page is defined in the
bibliography (docs/references.md)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIBLIOGRAPHY = ROOT / "docs" / "references.md"
CITATION = re.compile(r"REFERENCES\s+([A-Z]\d+(?:\s*[-–/,]\s*(?:and\s+)?[A-Z]\d+)*)")
ROW = re.compile(r"^\| ([A-Z]\d+) \|", re.M)


def defined() -> dict[str, str]:
    return {m.group(1): line for line in BIBLIOGRAPHY.read_text().splitlines()
            for m in [ROW.match(line)] if m}


def cited_ids(text: str) -> set[str]:
    """``REFERENCES A6``, ``A10/A11``, ``E8-E10`` (both ends), ``E15, E16`` -> their ids."""
    ids: set[str] = set()
    for m in CITATION.finditer(text):
        letter = ""
        for token in re.findall(r"[A-Z]?\d+", m.group(1)):
            if token[0].isalpha():
                letter = token[0]
            else:
                token = letter + token
            ids.add(token)
    return ids


def cited_files() -> list[Path]:
    files = [*(ROOT / "xpusim" / "hardware_specs").glob("*.toml"),
             *(ROOT / "xpusim" / "llm" / "models").glob("*.toml"),
             *(ROOT / "examples").rglob("*.toml"),
             *(p for p in (ROOT / "docs").rglob("*.md") if p != BIBLIOGRAPHY)]
    return sorted(files)


def test_the_bibliography_has_rows_with_source_and_conditions():
    rows = defined()
    assert len(rows) > 50
    for rid, line in rows.items():
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == 7, (rid, cells)  # id, quantity, value, unit, conditions, source, check
        assert cells[5], f"{rid}: no source"


def test_the_citation_parser():
    assert cited_ids("REFERENCES A6/B7 and REFERENCES E8-E10, REFERENCES A10/A11") == \
        {"A6", "B7", "E8", "E10", "A10", "A11"}
    assert cited_ids("REFERENCES F2-F5 (pre-silicon)") == {"F2", "F5"}


def test_every_cited_id_resolves():
    rows = defined()
    missing = {}
    total = 0
    for path in cited_files():
        ids = cited_ids(path.read_text())
        total += len(ids)
        if bad := sorted(ids - rows.keys()):
            missing[str(path.relative_to(ROOT))] = bad
    assert total > 50, "no citations found: the parser or the files moved"
    assert not missing, missing


def test_the_bibliography_is_in_the_docs_navigation():
    assert "references.md" in (ROOT / "mkdocs.yml").read_text()
