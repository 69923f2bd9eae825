"""One model description, two simulations: a functional training step of gpt-nano records
the same work, primitive by primitive and phase by phase, as its analytic trace (the rows
``xpusim estimate`` prices)."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.core.optim import make_optimizer
from xpusim.core.registry import DataShape
from xpusim.core.trace import PHASES, PRIMITIVES, Trace
from xpusim.llm import load_model, resolve_hardware, traces
from xpusim.llm.parallel import Layouts, parse_layout, params_per_device

BATCH = 32


def functional_step(pm, spec_name: str = "h100-sxm") -> Trace:
    """The trace of one backprop step of gpt-nano on a batch of seq-reverse."""
    data = pm.dataset("seq-reverse")
    spec = pm.load_spec(spec_name)
    backend = pm.backend(spec.backend)
    graph = pm.model("gpt-nano", DataShape(data.sample_shape, data.n_classes, data.task))
    rng = np.random.default_rng(0)
    trace = Trace()
    device = backend.device(spec, pm.compute_kernels(spec), rng, trace, make_optimizer("adam"),
                            primitives=backend.primitives)
    method = pm.method("backprop").factory(graph, device, rng, {"lr": None})
    method.initialize()
    start = len(trace)  # placing the weights is not part of the step
    method.train_batch(data.x_train[:BATCH], data.y_train[:BATCH])
    return trace.select(np.arange(len(trace)) >= start)


def analytic_step(spec_name: str = "h100-sxm") -> Trace:
    model = load_model("gpt-nano")
    hw = resolve_hardware(spec_name, precision="spec")
    layout = parse_layout(f"dp=1,tp=1,pp=1,mb={BATCH},recompute=false,zero=false", 1)
    rows = traces.training_rows(model, hw.fmt, [1], [BATCH], recompute=False)
    opt = traces.optimizer_rows(params_per_device(model, Layouts.of([layout])), hw.fmt)
    count = np.where(rows["scope"][:, 0] == traces.LAYER, model.layers, 1)
    return traces.to_trace(traces.concat([rows, opt]), np.concatenate([count, [1]]))


def totals(trace: Trace) -> dict[tuple[str, str], tuple[float, float]]:
    """(phase, primitive) -> (MACs, bytes of the operands read and written)."""
    c = {k: v.astype(np.float64) for k, v in trace.columns().items()}
    products = np.isin(trace.column("primitive"),
                       [PRIMITIVES.index(p) for p in ("mvm", "mvm_t", "update", "matmul")])
    m, n, k, count, b = c["m"], c["n"], c["k"], c["count"], c["bits"] / 8.0
    macs = np.where(products, m * n * k, 0.0) * count
    nbytes = np.where(products, m * k + k * n + m * n, m * n) * b * count
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for ph, pr in set(zip(trace.column("phase"), trace.column("primitive"))):
        sel = (trace.column("phase") == ph) & (trace.column("primitive") == pr)
        out[(PHASES[ph], PRIMITIVES[pr])] = (float(macs[sel].sum()), float(nbytes[sel].sum()))
    return out


def test_functional_and_analytic_traces_agree(pm):
    functional, analytic = totals(functional_step(pm)), totals(analytic_step())
    assert set(functional) == set(analytic)
    for key, (f_macs, f_bytes) in functional.items():
        a_macs, a_bytes = analytic[key]
        assert f_macs == pytest.approx(a_macs, rel=0.01), key
        assert f_bytes == pytest.approx(a_bytes, rel=0.01), key
    # and the work is there: attention products, both directions
    assert functional[("train-backward", "matmul")][0] == 2 * functional[
        ("train-forward", "matmul")][0]
