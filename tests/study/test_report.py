"""Reports: plots rendered and non-empty, Pareto front and break-even points exact."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.study import run_study, write_report
from xpusim.study.report import PLOTS, break_evens, pairwise_break_even, pareto_mask
from xpusim.study.spec import expand


def test_pareto_mask():
    cost = np.array([1.0, 2.0, 3.0, 0.5, 2.0, np.nan])
    acc = np.array([0.5, 0.9, 0.8, 0.1, 0.9, 1.0])
    # 3.0/0.8 is beaten by 2.0/0.9; the two 2.0/0.9 ties both stay; NaN never counts.
    assert list(pareto_mask(cost, acc)) == [True, True, False, True, True, False]


def test_break_evens_follow_the_cheapest_line():
    fixed = np.array([100.0, 10.0, 1.0, 50.0])
    per_unit = np.array([0.001, 0.01, 0.1, 0.05])
    ev = break_evens(fixed, per_unit, 1.0, 1e9)
    # cheapest: 2 (small N) -> 1 at N=100 -> 0 at N=10000; 3 is never the cheapest.
    assert [(a, b) for _, a, b in ev] == [(2, 1), (1, 0)]
    assert [n for n, _, _ in ev] == pytest.approx([100.0, 10000.0])
    assert pairwise_break_even(100.0, 0.001, 10.0, 0.01) == pytest.approx(10000.0)
    assert np.isnan(pairwise_break_even(1.0, 0.1, 2.0, 0.2))  # never crosses for N > 0
    assert break_evens(np.array([1.0]), np.array([1.0])) == []


@pytest.fixture(scope="module")
def study_db(tmp_path_factory, pm):
    db = tmp_path_factory.mktemp("report") / "r.sqlite"
    s = expand({"name": "rep", "fixed": {"model": "mlp:64-16-10", "epochs": 1,
                                         "optimizer": "sgd"},
                "axes": {"hardware": ["h100-sxm", "v100-sxm2"], "lr": [0.05, 1e12],
                         "seed": [0, 1]}}, pm=pm)
    run_study(s, db=db, executor="serial", progress=False)
    return db


def test_report_writes_non_empty_plots_and_markdown(study_db, tmp_path):
    out = tmp_path / "report"
    md = write_report(study_db, out)
    for name in PLOTS:
        png, svg = out / f"{name}.png", out / f"{name}.svg"
        assert png.stat().st_size > 10_000, name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert svg.stat().st_size > 10_000 and b"<svg" in svg.read_bytes()[:2000]
        assert f"({name}.png)" in md.read_text()
    text = md.read_text()
    assert "## Ranked configurations" in text and "## Failed runs" in text
    assert text.count("training diverged at step") == 4  # 2 hardware x 2 seeds at lr=1e12
    assert "Break-even points (energy)" in text and "Break-even points (money)" in text
    summary = (out / "summary.csv").read_text().splitlines()
    assert len(summary) == 1 + 4  # header + 4 configurations (hardware x lr)
    # the ranked table puts successful configurations first
    rows = [line for line in text.splitlines() if line.startswith("| 1 |")]
    assert rows and "0.05" in rows[0]


def test_report_of_empty_database_is_a_clear_error(tmp_path):
    from xpusim.core.errors import XpusimError
    from xpusim.study.store import Store

    Store(tmp_path / "empty.sqlite").close()
    with pytest.raises(XpusimError, match="no runs stored"):
        write_report(tmp_path / "empty.sqlite", tmp_path / "out")
    with pytest.raises(XpusimError, match="no such study database"):
        write_report(tmp_path / "missing.sqlite", tmp_path / "out")
