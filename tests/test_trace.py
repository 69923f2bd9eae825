"""The trace container: growth, selection, summaries, round trip through columns."""

from __future__ import annotations

import numpy as np

from xpusim.core.trace import PHASES, Trace


def test_trace_grows_selects_and_summarises():
    t = Trace(capacity=2)
    for i in range(100):
        t.add(PHASES[i % 3], i % 4, "mvm", 2, 3, 4, 32, "fp32", count=2)
    assert len(t) == 100
    assert t.macs().sum() == 100 * 2 * 3 * 4 * 2
    fwd = t.select(t.phase_mask("train-forward"))
    assert len(fwd) == 34
    assert t.summary()["macs_by_phase"]["train-forward"] == 34 * 48
    again = Trace.from_columns(t.columns())
    for name in Trace.COLUMNS:
        np.testing.assert_array_equal(again.column(name), t.column(name))
    t.enabled = False
    t.add("inference", 0, "mvm", 1, 1, 1, 32, "fp32")
    assert len(t) == 100
