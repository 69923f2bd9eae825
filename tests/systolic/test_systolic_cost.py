"""Systolic cost model: SCALE-Sim-exact cycles, peak throughput, utilization, stalls, energy."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import attrs
import numpy as np
import pytest

from xpusim.core.plugins import get_plugin_manager
from xpusim.core.errors import CostError
from xpusim.core.kernels import CostModel
from xpusim.core.pricing import price_columns
from xpusim.core.trace import Trace
from xpusim.plugins.hardware.systolic import cost, cost_reference
from xpusim.plugins.hardware.systolic.cost import DATAFLOW, compute_cycles

TABLE = Path(__file__).with_name("scalesim_reference.csv")


def _table() -> list[dict]:
    with TABLE.open() as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    return [{k: (v if k == "dataflow" else int(v)) for k, v in r.items()} for r in rows]


ROWS = _table()
IDS = [f"{r['M']}x{r['N']}x{r['K']}-{r['rows']}x{r['cols']}-{r['dataflow']}" for r in ROWS]


@pytest.fixture(scope="module")
def pm():
    return get_plugin_manager()


@pytest.fixture(scope="module")
def v1(pm):
    return pm.load_spec("tpu-v1").params


@pytest.fixture(scope="module")
def v4(pm):
    return pm.load_spec("tpu-v4").params


@pytest.fixture(scope="module")
def edge(pm):
    return pm.load_spec("edge-int8").params


def _roomy(p, rows, cols, dataflow):
    """One array of rows x cols with buffers so large that nothing stalls."""
    mem = attrs.evolve(p.memory, input_buffer_kib=1e9, weight_buffer_kib=1e9,
                       output_buffer_kib=1e9, dram_bandwidth_gbs=1e9)
    return attrs.evolve(p, array_rows=rows, array_cols=cols, dataflow=dataflow, num_arrays=1,
                        memory=mem)


def test_reference_table_is_big_and_varied():
    assert len(ROWS) >= 40
    assert {r["dataflow"] for r in ROWS} == {"ws", "os", "is"}
    assert {(8, 8), (256, 256), (8, 32), (32, 8)} <= {(r["rows"], r["cols"]) for r in ROWS}
    assert any(r["M"] == r["N"] == r["K"] == 1 for r in ROWS)
    assert all(r["stall_cycles"] == 0 for r in ROWS)  # CALC bandwidth: compute cycles only


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_compute_cycles_equal_scalesim(row, v1):
    args = (row["M"], row["N"], row["K"], row["rows"], row["cols"], DATAFLOW[row["dataflow"]])
    assert compute_cycles(*args) == row["total_cycles"]
    assert cost_reference.compute_cycles(*args) == row["total_cycles"]
    # The cost kernel (which inlines the formula) reports the same compute cycles.
    p = _roomy(v1, row["rows"], row["cols"], row["dataflow"])
    got = cost.gemm_report(p, row["M"], row["N"], row["K"], bits=8, fmt="int8")
    assert got["compute_cycles"] == row["total_cycles"]
    assert got["cycles"] == row["total_cycles"]


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_sram_traffic_follows_scalesim_requests(row, v1):
    """int8 operands, 32-bit accumulators, everything resident: SRAM reads = SCALE-Sim's
    operand requests (1 B) + accumulator writes (4 B, a read-modify-write or the drain)."""
    p = _roomy(v1, row["rows"], row["cols"], row["dataflow"])
    got = cost.gemm_report(p, row["M"], row["N"], row["K"], bits=8, fmt="int8")
    acc = row["ofmap_sram_writes"]
    if row["dataflow"] == "os":  # SCALE-Sim 3.0 adds rows + cols per fold to this count
        folds = math.ceil(row["M"] / row["rows"]) * math.ceil(row["N"] / row["cols"])
        acc -= folds * (row["rows"] + row["cols"])
        assert acc == row["M"] * row["N"]
    weights = row["K"] * row["N"]
    assert got["sram_read_bytes"] == row["ifmap_sram_reads"] + row["filter_sram_reads"] + 4 * acc
    assert got["sram_write_bytes"] == 4 * acc + row["M"] * row["N"] + weights  # + DRAM fill
    assert got["dram_bytes"] == weights


def test_peak_throughput_matches_published(v1, v4):
    for p, published in ((v1, 92e12), (v4, 275e12)):
        derived = 2 * p.array_rows * p.array_cols * p.num_arrays * p.clock_mhz * 1e6
        assert p.peak_ops == pytest.approx(derived)
        assert derived == pytest.approx(published, rel=0.005)


def test_large_square_gemm_approaches_full_utilization_small_does_not(v1, v4):
    big = cost.gemm_report(v4, 16384, 16384, 16384, fmt="bf16")
    assert big["utilization"] > 0.95
    assert big["stall_cycles"] == 0
    # In the limit (M streaming through one weight fold) the array is fully used.
    lim = cost.gemm_report(_roomy(v1, 256, 256, "ws"), 10**7, 256, 256)
    assert lim["utilization"] > 0.9999
    tiny = cost.gemm_report(v1, 8, 8, 8)
    assert tiny["utilization"] < 0.001
    assert tiny["cycles"] == compute_cycles(8, 8, 8, 256, 256, 0) == 2 * 256 + 256 + 8 - 3


def test_dram_bound_gemm_reports_stalls(v1):
    """TPU v1 at batch 1: every weight byte is used once, 34 GB/s cannot keep up."""
    got = cost.gemm_report(v1, 1, 4096, 4096)
    assert got["dram_bytes"] == 4096 * 4096  # int8 weights, read once
    dram_cycles = got["dram_bytes"] / 34e9 * 700e6
    assert got["cycles"] == pytest.approx(dram_cycles)
    assert got["stall_cycles"] == pytest.approx(dram_cycles - got["compute_cycles"])
    assert got["stall_cycles"] > 0.4 * got["cycles"]
    assert got["time_s"] == pytest.approx(4096 * 4096 / 34e9)
    # A big batch reuses each weight enough to hide the DRAM time.
    assert cost.gemm_report(v1, 4096, 4096, 4096)["stall_cycles"] == 0


def test_weights_that_overflow_the_buffers_are_refetched(v1):
    """Inputs and outputs too big for the 24 MiB buffer and weights bigger than the 256 KiB
    weight buffer: something is fetched more than once, and more stalls than with room."""
    p = attrs.evolve(v1, memory=attrs.evolve(v1.memory, input_buffer_kib=64.0))
    tight = cost.gemm_report(p, 4096, 4096, 4096)
    once = 3 * 4096 * 4096
    assert tight["dram_bytes"] > once
    assert tight["dram_bytes"] > cost.gemm_report(v1, 4096, 4096, 4096)["dram_bytes"]


def test_energy_breakdown_sums_and_scales_with_precision(v4):
    per_mac = {}
    for fmt in ("int4", "int8", "bf16"):
        got = cost.gemm_report(v4, 512, 512, 512, fmt=fmt)
        parts = [got[f"energy_{c}_j"] for c in cost.COMPONENTS]
        assert got["energy_j"] == pytest.approx(sum(parts), rel=1e-12)
        assert all(e >= 0 for e in parts)
        per_mac[fmt] = (got["energy_mac_j"] + got["energy_accumulate_j"]) / got["macs"]
        per_mac[fmt + "-total"] = got["energy_j"]
    assert per_mac["int4"] < per_mac["int8"] < per_mac["bf16"]
    assert per_mac["int4-total"] < per_mac["int8-total"] < per_mac["bf16-total"]


def test_wide_operands_take_quadratic_passes(v1):
    """TPU v1: 16-bit operands on 8-bit MACs run at quarter speed."""
    i8 = cost.gemm_report(v1, 2048, 2048, 2048, fmt="int8")
    i16 = cost.gemm_report(v1, 2048, 2048, 2048, fmt="int16")
    assert i16["passes"] == 4 and i8["passes"] == 1
    assert i16["compute_cycles"] == 4 * i8["compute_cycles"]
    assert i16["energy_mac_j"] == pytest.approx(4 * i8["energy_mac_j"])


def test_float_gemm_on_an_integer_array_is_unpriceable(v1):
    with pytest.raises(CostError, match="cannot price it: primitive 'mvm' in format 'bf16'"):
        cost.gemm_report(v1, 64, 64, 64, fmt="bf16")
    # the vector unit still prices fp32 elementwise work
    assert cost.gemm_report(v1, 64, 64, 64, fmt="fp32", primitive="elementwise")["time_s"] > 0


def _hand_node_factor(nm_lo, nm_hi, nm):
    def f(a, b, c, v):
        return a * v * v + b * v + c
    f20 = f(0.373, -0.1582, 0.04104, 0.8)
    f32 = f(0.8367, -0.4341, 0.1701, 0.9)
    f45 = f(1.018, -0.3107, 0.1539, 0.9)
    assert (nm_lo, nm_hi) == (20, 32)
    return (f20 + (nm - 20) / 12 * (f32 - f20)) / f45


def test_hand_computed_price_of_a_small_gemm(edge):
    """edge-int8 (32 x 32, ws, 800 MHz, 22 nm): a 32 x 32 x 32 int8 GEMM is one fold."""
    got = cost.gemm_report(edge, 32, 32, 32)
    cycles = 2 * 32 + 32 + 32 - 2 - 1                     # one fold: fill, stream, drain
    assert got["cycles"] == got["compute_cycles"] == cycles == 125
    assert got["time_s"] == pytest.approx(125 / 800e6)
    s = _hand_node_factor(20, 32, 22)
    assert s == pytest.approx(0.2917, abs=1e-4)
    assert cost.node_factor(22.0) == pytest.approx(s, rel=1e-12)
    macs = 32**3
    assert got["macs"] == macs
    # activations (1 KiB in + 1 KiB out) stay in the 256 KiB buffer; 1 KiB of weights from DRAM
    assert got["dram_bytes"] == 1024
    # SRAM: 1024 input + 1024 weight reads (1 B) + 1024 accumulator drains (4 B);
    # writes: 1024 accumulations (4 B) + 1024 requantized outputs + 1024 B weight fill
    assert got["sram_read_bytes"] == 2048 + 4096
    assert got["sram_write_bytes"] == 4096 + 1024 + 1024
    assert got["energy_mac_j"] == pytest.approx(macs * 0.2e-12 * s)
    assert got["energy_accumulate_j"] == pytest.approx(macs * 0.1e-12 * s)
    assert got["energy_sram_j"] == pytest.approx(12288 * 2.5e-12 * s)
    assert got["energy_dram_j"] == pytest.approx(1024 * 243.75e-12)
    assert got["energy_vector_j"] == 0.0
    assert got["utilization"] == pytest.approx(macs / (125 * 1024))


def test_node_scaling(v1):
    assert cost.node_factor(45.0) == pytest.approx(1.0)
    assert cost.node_factor(28.0) == pytest.approx(0.509, abs=1e-3)
    nodes = [180, 130, 90, 65, 45, 32, 28, 22, 20, 16, 14, 10, 7]
    factors = [cost.node_factor(n) for n in nodes]
    assert all(a > b for a, b in zip(factors, factors[1:]))
    packed = cost.pack(v1)
    assert packed[cost.E_INT8_MULT] == pytest.approx(0.2e-12 * cost.node_factor(28.0))
    assert packed[cost.E_DRAM] == pytest.approx(243.75e-12)  # not node-scaled


def test_set_array_rows_and_dataflow_change_the_cycles(pm):
    base = pm.load_spec("tpu-v1").params
    new = pm.load_spec("tpu-v1", overrides=("array_rows=32", "dataflow=os")).params
    assert (new.array_rows, new.dataflow) == (32, "os")
    a = cost.gemm_report(base, 512, 512, 512)["compute_cycles"]
    b = cost.gemm_report(new, 512, 512, 512)["compute_cycles"]
    assert a == compute_cycles(512, 512, 512, 256, 256, 0)
    assert b == compute_cycles(512, 512, 512, 32, 256, 1)
    assert a != b


def test_arrays_split_the_output_columns(v4):
    """tpu-v4: 8 arrays; N = 1000 gives shares of 125, N = 1001 one share of 126."""
    p = _roomy(v4, 128, 128, "ws")
    p = attrs.evolve(p, num_arrays=8)
    for n_cols, share in ((1000, 125), (1001, 126), (5, 1)):
        got = cost.gemm_report(p, 300, n_cols, 200, fmt="bf16")
        assert got["compute_cycles"] == compute_cycles(300, share, 200, 128, 128, 0)


def test_update_rows_reduce_over_the_batch(v1):
    """update (m=batch, n, k): the weight gradient pre^T . post is M=k, N=n, K=m."""
    p = _roomy(v1, 256, 256, "ws")
    got = cost.gemm_report(p, 784, 128, 64, primitive="update")  # M=784 inputs, K=64 batch
    assert got["compute_cycles"] == compute_cycles(784, 128, 64, 256, 256, 0)
    assert got["macs"] == 784 * 128 * 64


def _one_row(params, primitive, m, n, k, bits, fmt, count=1):
    trace = Trace()
    trace.add("inference", 0, primitive, m, n, k, bits, fmt, count=count)
    model = CostModel(price=cost.price, params=cost.pack(params), components=cost.COMPONENTS,
                      extras=cost.EXTRAS)
    rows = price_columns(model, trace.columns())
    return rows.time_s[0], rows.dynamic_j[0], dict(zip(cost.EXTRAS, rows.extras[0]))


def test_vector_and_write_rows(v1):
    t, e, x = _one_row(v1, "elementwise", 1000, 3, 4, 32, "fp32")
    assert x["vector_ops"] == 4000
    assert t == pytest.approx(math.ceil(4000 / 256) / 700e6)
    assert x["sram_read_bytes"] == 2 * 4000 and x["sram_write_bytes"] == 4000
    assert e[cost.COMPONENTS.index("vector")] == pytest.approx(4000 * 0.9e-12
                                                               * cost.node_factor(28.0))
    t, e, x = _one_row(v1, "write", 1, 1000, 784, 8, "int8")
    assert x["dram_bytes"] == 784000 == x["sram_write_bytes"]
    assert t == pytest.approx(784000 / 34e9)
    assert x["stall_cycles"] == pytest.approx(x["cycles"])


def test_cost_is_linear_in_count_and_zero_for_empty(v1):
    t1, e1, x1 = _one_row(v1, "mvm", 64, 300, 500, 8, "int8")
    t5, e5, x5 = _one_row(v1, "mvm", 64, 300, 500, 8, "int8", count=5)
    assert t5 == pytest.approx(5 * t1)
    np.testing.assert_allclose(e5, 5 * e1)
    for name in cost.EXTRAS:
        assert x5[name] == pytest.approx(5 * x1[name])
    t0, e0, x0 = _one_row(v1, "mvm", 0, 300, 500, 8, "int8")
    assert t0 == 0 and not e0.any() and not any(x0.values())


def test_summarize_ratios():
    got = cost.summarize({"macs": 100.0, "mac_slots": 400.0, "cycles": 10.0,
                          "compute_cycles": 5.0, "stall_cycles": 5.0, "time_s": 1e-6,
                          "energy_j": 1e-6, "dram_bytes": 50.0, "sram_read_bytes": 30.0,
                          "sram_write_bytes": 20.0})
    assert got["utilization"] == 0.25
    assert got["compute_utilization"] == 0.5
    assert got["stall_fraction"] == 0.5
    assert got["tops"] == pytest.approx(200.0 / 1e-6 / 1e12)
    assert got["tops_per_w"] == pytest.approx(200.0 / 1e-6 / 1e12)
    assert got["dram_bytes_per_mac"] == 0.5 and got["sram_bytes_per_mac"] == 0.5
    assert cost.summarize({})["utilization"] == 0.0


def test_registered_cost_model_prices_a_trace(pm):
    """The package's CostModel (the lead's ``__init__``) wires in this kernel and summary."""
    from xpusim.core.scheduler import price
    from xpusim.core.trace import Trace

    spec = pm.load_spec("tpu-v1", overrides=("array_rows=32", "dataflow=os"))
    model = pm.cost_model(spec)
    assert model.components == cost.COMPONENTS and model.extras == cost.EXTRAS
    trace = Trace()
    trace.add("inference", 0, "mvm", 1024, 1024, 1024, 8, "int8")
    ledger = price(trace, model, spec.name)
    totals = ledger.extra_totals()
    assert totals["compute_cycles"] == compute_cycles(1024, 1024, 1024, 32, 256, 1)
    assert 0 < model.summarize({**totals, "time_s": ledger.total_time_s,
                                "energy_j": ledger.total_energy_j})["utilization"] < 1


def test_xpusim_price_end_to_end():
    """``xpusim price`` on a systolic spec, with --set overrides."""
    from xpusim.api import price

    out = price("tpu-v1", "mvm", (1024, 1024, 1024))
    assert out["backend"] == "systolic"
    assert out["counters"]["cycles"] == compute_cycles(1024, 1024, 1024, 256, 256, 0)
    assert 0 < out["derived"]["utilization"] < 1
    assert set(out["breakdown"]) >= set(cost.COMPONENTS)
    small = price("tpu-v1", "mvm", (1024, 1024, 1024), set=("array_rows=32", "dataflow=os"))
    assert small["counters"]["compute_cycles"] == compute_cycles(1024, 1024, 1024, 32, 256, 1)


def test_forward_activations_stay_in_the_buffer_at_their_stored_width(pm):
    """The activation pipeline reads and writes activations in the ``outputs`` format: a test
    set whose int8 activations fit edge-int8's 256 KiB buffer is served without stalls or
    DRAM traffic beyond the weights (at fp32 they would not fit and would stream from DRAM)."""
    import xpusim

    info = pm.backend("systolic")
    spec = pm.load_spec("edge-int8")
    dev = info.device(spec, pm.compute_kernels(spec), np.random.default_rng(0),
                      primitives=info.primitives)
    assert dev.operand_format("elementwise", "inference") == (8, "int8")
    assert dev.operand_format("elementwise", "train-forward") == (8, "int8")
    assert dev.operand_format("elementwise", "train-backward") == (32, "fp32")
    r = xpusim.run(hardware="h100-sxm", serve_on="edge-int8", epochs=1, seed=0, pm=pm)
    counters = r.inference_per_sample["counters"]
    assert counters["stall_cycles"] == 0
    weight_bytes = 64 * 256 + 256 * 10
    samples = r.config["test_samples"]
    assert counters["dram_bytes"] * samples == pytest.approx(weight_bytes, rel=1e-9)


def test_counts_beyond_int64_are_refused_not_wrapped(v1):
    """Cycle counts that would overflow int64 make the row unpriceable (time -1); they used to
    wrap to negative compute cycles."""
    assert compute_cycles(10**12, 10**12, 10**12, 256, 256, 0) == -1
    assert compute_cycles(1, 1, 1, 2**63 - 1, 1, 0) == -1
    assert compute_cycles(2**40, 1, 1, 1, 1, 0) == 2**40  # large but exact: 2R + C + M - 3
    from xpusim.core.errors import CostError

    with pytest.raises(CostError, match="cannot price it: primitive 'mvm'"):
        cost.gemm_report(v1, 10**7, 10**7, 10**7)
    ok = cost.gemm_report(v1, 10**6, 10**6, 10**6)
    assert ok["time_s"] > 0 and ok["compute_cycles"] == compute_cycles(10**6, 10**6, 10**6,
                                                                       256, 256, 0)
