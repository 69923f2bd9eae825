"""Conv layers and attention's activation products on the systolic array.

A conv layer runs as one im2col GEMM (M = batch x output positions, K = C kh kw, N = filters).
Its cycles, taken from the trace of a functional forward pass, equal SCALE-Sim 3.0's conv mode
(``scalesim_conv_reference.csv``, made by ``make_scalesim_reference.py conv``) wherever the two
agree on the output size; where SCALE-Sim's ceil((H - R + s) / s) output side is one larger
than a standard convolution's, the difference is that convention and nothing else.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from xpusim.core.graph import GraphBuilder
from xpusim.core.layers import Conv2d, MultiHeadAttention
from xpusim.core.ledger import price
from xpusim.core.network import Network
from xpusim.core.optim import SGD
from xpusim.core.trace import PRIMITIVE, Trace
from xpusim.plugins.hardware.systolic.cost import DATAFLOW, compute_cycles

TABLE = Path(__file__).with_name("scalesim_conv_reference.csv")
TEXT = ("layer", "input", "dataflow")


def _table() -> list[dict]:
    with TABLE.open() as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    return [{k: (v if k in TEXT else int(v)) for k, v in r.items()} for r in rows]


ROWS = _table()


def _id(r: dict) -> str:
    return f"{r['layer']}-{r['input']}-{r['rows']}x{r['cols']}-{r['dataflow']}"


IDS = [_id(r) for r in ROWS]
ROOMY = ("num_arrays=1", "memory.input_buffer_kib=1e9", "memory.weight_buffer_kib=1e9",
         "memory.output_buffer_kib=1e9", "memory.dram_bandwidth_gbs=1e9")
"""Buffers so large and DRAM so fast that nothing stalls (SCALE-Sim's CALC bandwidth)."""


def _device(pm, name="tpu-v1", overrides=(), seed=0):
    spec = pm.load_spec(name, overrides=overrides)
    info = pm.backend(spec.backend)
    return info.device(spec, pm.compute_kernels(spec), np.random.default_rng(seed), Trace(),
                       SGD(0.0), primitives=info.primitives)


def _forward(pm, shape, layer, batch=1, name="tpu-v1", overrides=(), phase="inference"):
    """The device after one functional forward pass of a one-layer graph on ``batch`` random
    samples (its trace holds the rows that pass recorded)."""
    b = GraphBuilder("one-layer", shape)
    b.add(layer)
    device = _device(pm, name, overrides)
    net = Network(b.build(), device)
    net.initialize(np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((batch, *shape)).astype(np.float32)
    net.forward(x, phase)
    return device


def _rows(trace: Trace, primitive: str) -> np.ndarray:
    return np.flatnonzero(trace.column("primitive") == PRIMITIVE[primitive])


def _only(trace: Trace, idx: np.ndarray) -> Trace:
    cols = trace.columns()
    return Trace.from_columns({c: v[idx] for c, v in cols.items()})


@pytest.fixture(scope="module")
def conv_traces(pm):
    """Per conv layer of the table: the ``mvm`` row a batch-1 forward pass on tpu-v1 records."""
    out = {}
    for r in ROWS:
        if r["layer"] in out:
            continue
        layer = Conv2d(r["filters"], r["kernel"], r["stride"], r["padding"])
        trace = _forward(pm, (r["C"], r["H"], r["W"]), layer).trace
        out[r["layer"]] = _only(trace, _rows(trace, "mvm"))
    return out


def _standard(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def test_conv_table_covers_the_named_models_and_odd_layers():
    names = {r["layer"] for r in ROWS}
    assert {"lenet5-mnist-c1", "lenet5-digits-c2", "resnet20-stem", "resnet20-s3-proj",
            "1x1", "5x5-nopad", "nonsquare", "stride3"} <= names
    assert {r["dataflow"] for r in ROWS} == {"ws", "os", "is"}
    assert len({(r["rows"], r["cols"]) for r in ROWS}) >= 4
    assert all(r["stall_cycles"] == 0 for r in ROWS)
    # both conventions occur: layers where the output sizes agree and where they differ
    differ = {r["layer"] for r in ROWS if r["input"] == "cropped"}
    assert {"resnet20-s2-down", "resnet20-s2-proj", "stride3"} <= differ
    assert "stride2-even" not in differ and "resnet20-s1" not in differ


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_conv_cycles_equal_scalesim_conv_mode(pm, conv_traces, row):
    """The functional trace's GEMM is M = output positions, K = R S C, N = filters; priced on
    the same array and dataflow it takes SCALE-Sim's Total Cycles where the output sizes agree.
    Where they do not, SCALE-Sim's own GEMM (one more output row or column) gives its cycles
    and the input cropped to what a standard convolution reads gives xpusim's."""
    h, w, k, s, p = row["H"], row["W"], row["kernel"], row["stride"], row["padding"]
    ho, wo = _standard(h, k, s, p), _standard(w, k, s, p)
    trace = conv_traces[row["layer"]]
    m, n, kk = (int(trace.column(c)[0]) for c in ("m", "n", "k"))
    assert (m, n, kk) == (ho * wo, row["filters"], row["C"] * k * k)

    spec = pm.load_spec("tpu-v1", overrides=(f"array_rows={row['rows']}",
                                             f"array_cols={row['cols']}",
                                             f"dataflow={row['dataflow']}", *ROOMY))
    ledger = price(trace, pm.cost_model(spec), spec.name)
    got = ledger.extra_totals()
    assert got["cycles"] == got["compute_cycles"]
    args = (row["rows"], row["cols"], DATAFLOW[row["dataflow"]])

    # SCALE-Sim's output side, and the standard one beside it
    ih, iw = row["ifmap_h"], row["ifmap_w"]
    assert (row["ofmap_h"], row["ofmap_w"]) == (math.ceil((ih - k + s) / s),
                                                math.ceil((iw - k + s) / s))
    assert row["total_cycles"] == compute_cycles(row["ofmap_h"] * row["ofmap_w"], n, kk, *args)
    agree = (row["ofmap_h"], row["ofmap_w"]) == (ho, wo)
    if row["input"] == "cropped":  # the rows and columns a standard convolution reads
        assert agree and (ih, iw) == ((ho - 1) * s + k, (wo - 1) * s + k)
    else:
        assert (ih, iw) == (h + 2 * p, w + 2 * p)
        # one more output per axis exactly where (H + 2p - R) is not a multiple of the stride
        assert row["ofmap_h"] - ho == int((ih - k) % s != 0)
        assert row["ofmap_w"] - wo == int((iw - k) % s != 0)
    if agree:
        assert got["compute_cycles"] == row["total_cycles"]
    else:
        assert got["compute_cycles"] == compute_cycles(ho * wo, n, kk, *args)


@pytest.mark.parametrize("row", [r for r in ROWS if (r["ofmap_h"], r["ofmap_w"]) ==
                                 (_standard(r["H"], r["kernel"], r["stride"], r["padding"]),
                                  _standard(r["W"], r["kernel"], r["stride"], r["padding"]))],
                         ids=_id)
def test_conv_sram_traffic_follows_scalesim_conv_requests(pm, conv_traces, row):
    """int8 operands, everything resident: SRAM reads are SCALE-Sim's conv-mode operand
    requests (1 B each) plus the accumulator traffic (4 B), as for GEMMs."""
    trace = conv_traces[row["layer"]]
    spec = pm.load_spec("tpu-v1", overrides=(f"array_rows={row['rows']}",
                                             f"array_cols={row['cols']}",
                                             f"dataflow={row['dataflow']}", *ROOMY))
    got = price(trace, pm.cost_model(spec), spec.name).extra_totals()
    m = row["ofmap_h"] * row["ofmap_w"]
    acc = row["ofmap_sram_writes"]
    if row["dataflow"] == "os":  # SCALE-Sim 3.0 adds rows + cols per fold to this count
        acc -= math.ceil(m / row["rows"]) * math.ceil(row["filters"] / row["cols"]) * (
            row["rows"] + row["cols"])
    weights = row["C"] * row["kernel"] ** 2 * row["filters"]
    assert got["sram_read_bytes"] == row["ifmap_sram_reads"] + row["filter_sram_reads"] + 4 * acc
    assert got["sram_write_bytes"] == 4 * acc + m * row["filters"] + weights
    assert got["dram_bytes"] == weights


def test_conv_batch_multiplies_the_streamed_rows(pm):
    """A batch of B images is one GEMM of M = B x positions (not B GEMMs): on a
    weight-stationary array the weights are loaded once and B x 28 x 28 rows stream."""
    dev = _forward(pm, (1, 28, 28), Conv2d(6, 5, 1, 2), batch=4,
                   overrides=("array_rows=8", "array_cols=8", *ROOMY))
    trace = _only(dev.trace, _rows(dev.trace, "mvm"))
    assert int(trace.column("m")[0]) == 4 * 784
    got = price(trace, pm.cost_model(dev.spec), dev.spec.name).extra_totals()
    # ws: ceil(25/8) x ceil(6/8) = 4 folds of 2R + C + M - 2 cycles, minus 1
    assert got["compute_cycles"] == 4 * (2 * 8 + 8 + 4 * 784 - 2) - 1 == 12631


# -- attention: products of two activations --------------------------------------------------

def test_attention_products_by_hand_on_edge_int8(pm):
    """edge-int8 (one 32 x 32 ws array, 256 KiB unified buffer, int8): 2 sequences of 8 tokens,
    d_model 16, 2 heads of 8. The forward pass records two matmul rows of count 2 x 2 = 4
    products: Q.K^T (8 x 8 . 8 x 8) and P.V (8 x 8 . 8 x 8). Each product is one fold:
    2R + C + T - 2 - 1 = 64 + 32 + 8 - 3 = 101 cycles; both operands (64 B each) and the
    result (64 B) stay in the buffer, so no DRAM traffic."""
    dev = _forward(pm, (8, 16), MultiHeadAttention(2, causal=True), batch=2, name="edge-int8")
    idx = _rows(dev.trace, "matmul")
    assert len(idx) == 2
    t = dev.trace
    for i in idx:
        assert (t.column("m")[i], t.column("n")[i], t.column("k")[i]) == (8, 8, 8)
        assert t.column("count")[i] == 4 and t.column("bits")[i] == 8
    ledger = price(_only(t, idx), pm.cost_model(dev.spec), dev.spec.name)
    per_product = 2 * 32 + 32 + 8 - 2 - 1
    x = dict(zip(ledger.extra_names, ledger.extras.T))
    np.testing.assert_array_equal(x["compute_cycles"], [4 * per_product] * 2)
    np.testing.assert_array_equal(x["cycles"], x["compute_cycles"])
    np.testing.assert_array_equal(x["dram_bytes"], [0.0, 0.0])
    np.testing.assert_array_equal(x["macs"], [4 * 8 * 8 * 8] * 2)
    # SRAM per product (ws): operand reads M K ceil(N/C) + K N = 128 B, accumulator writes
    # M N ceil(K/R) = 64 (4 B each), the drain (64 x 4 B) and the requantized result (64 B)
    np.testing.assert_array_equal(x["sram_read_bytes"], [4 * (128 + 64 * 4)] * 2)
    np.testing.assert_array_equal(x["sram_write_bytes"], [4 * (64 * 4 + 64)] * 2)
    np.testing.assert_allclose(ledger.time_s, 4 * per_product / 800e6, rtol=1e-12)


def test_attention_products_that_overflow_the_buffer_stream_from_dram(pm):
    """The same products with a 0.1 KiB unified buffer (102.4 B < 3 x 64 B): each product reads
    both operands from DRAM and writes its result there (one pass each, every operand fits
    its buffer's re-fetch rule: x = A + B), so 192 B of DRAM traffic per product."""
    dev = _forward(pm, (8, 16), MultiHeadAttention(2, causal=True), batch=2, name="edge-int8",
                   overrides=("memory.input_buffer_kib=0.1",))
    idx = _rows(dev.trace, "matmul")
    ledger = price(_only(dev.trace, idx), pm.cost_model(dev.spec), dev.spec.name)
    x = dict(zip(ledger.extra_names, ledger.extras.T))
    np.testing.assert_array_equal(x["dram_bytes"], [4 * 192.0] * 2)
    # 192 B at 12.8 GB/s is 15 ns = 12 cycles at 800 MHz: compute (101) still dominates
    np.testing.assert_array_equal(x["stall_cycles"], [0.0, 0.0])


def test_attention_backward_products_take_the_error_format(pm):
    """Going backward, the products pair an error with an activation: tpu-v1's int8 errors
    and int8 activations, one pass each; four backward products per forward one pair."""
    from xpusim.core.network import Rule

    shape = (6, 8)
    b = GraphBuilder("attn", shape)
    b.add(MultiHeadAttention(2, causal=False))
    dev = _device(pm, "tpu-v1")
    net = Network(b.build(), dev)
    net.initialize(np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((3, *shape)).astype(np.float32)
    out, tape = net.forward(x, "train-forward", keep=True)
    net.backward(tape, np.ones_like(out), Rule())
    t = dev.trace
    idx = _rows(t, "matmul")
    phases = t.column("phase")[idx]
    from xpusim.core.trace import PHASE

    assert (phases == PHASE["train-forward"]).sum() == 2
    assert (phases == PHASE["train-backward"]).sum() == 4
    assert set(t.column("bits")[idx]) == {8}
    assert set(t.column("count")[idx]) == {3 * 2}
    ledger = price(_only(t, idx), pm.cost_model(dev.spec), dev.spec.name)
    x = dict(zip(ledger.extra_names, ledger.extras.T))
    np.testing.assert_array_equal(x["passes"], [6.0] * 6)
    for j, i in enumerate(idx):
        mm, nn, kk = (int(t.column(c)[i]) for c in ("m", "n", "k"))
        assert x["compute_cycles"][j] == 6 * compute_cycles(mm, nn, kk, 256, 256, 0)
