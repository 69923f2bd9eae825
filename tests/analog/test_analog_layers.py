"""Conv layers and attention on the analog chip: a conv layer's kernel matrix on tiles, read
once per output position (counters by hand), its numerics equal to the convolution when every
non-ideality is off, drift acting on a conv layer's matrix as on a dense layer's, and
attention's activation products in the digital periphery (fp32, no ADC)."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.core.graph import GraphBuilder
from xpusim.core.layers import Conv2d, MultiHeadAttention, im2col
from xpusim.core.ledger import price
from xpusim.core.network import Network
from xpusim.core.optim import SGD
from xpusim.core.trace import PRIMITIVE, Trace

from .test_analog import ALL_OFF

SMALL_TILES = ("tile.rows=16", "tile.cols=4", "tile.weight_slices=2", "adc.columns_per_adc=2")
"""16-row, 4-column tiles and two bit slices per weight: a 27 x 5 kernel matrix spans
ceil(27 / 16) = 2 row tiles and ceil(5 x 2 / 4) = 3 column tiles."""


def _net(pm, shape, layers, overrides=(), seed=0):
    spec = pm.load_spec("pcm-hermes", tuple(overrides))
    info = pm.backend("analog")
    device = info.device(spec, pm.compute_kernels(spec), np.random.default_rng(seed), Trace(),
                         SGD(0.0), primitives=info.primitives)
    b = GraphBuilder("layers", shape)
    for layer in layers:
        b.add(layer)
    net = Network(b.build(), device)
    net.initialize(np.random.default_rng(seed))
    return net


def _rows(trace: Trace, primitive: str) -> np.ndarray:
    return np.flatnonzero(trace.column("primitive") == PRIMITIVE[primitive])


def _priced(pm, device, idx):
    cols = device.trace.columns()
    trace = Trace.from_columns({c: v[idx] for c, v in cols.items()})
    ledger = price(trace, pm.cost_model(device.spec), device.spec.name)
    return ledger, ledger.extra_totals(), dict(zip(ledger.components, ledger.energy_j.sum(0)))


def test_conv_layer_counters_by_hand(pm):
    """Conv2d(5 filters, 3x3, stride 1, padding 1) over 2 images of 3 x 6 x 6: 36 output
    positions per image, so M = 72 input vectors of K = 27 patch values each, N = 5 filters.
    Each position reads every tile the matrix occupies once (2 x 3 = 6 tiles); every read
    line (N x 2 slices = 10 columns) is converted once per row tile it spans."""
    net = _net(pm, (3, 6, 6), [Conv2d(5, 3, 1, 1)], SMALL_TILES)
    dev = net.device
    dev.prepare_inference()
    x = np.random.default_rng(1).uniform(-1, 1, (2, 3, 6, 6)).astype(np.float32)
    net.forward(x, "inference")
    idx = _rows(dev.trace, "mvm")
    assert len(idx) == 1
    m, n, k = (int(dev.trace.column(c)[idx[0]]) for c in ("m", "n", "k"))
    assert (m, n, k) == (2 * 36, 5, 27)
    assert dev.layer_tiles(0) == 2 * 3
    ledger, got, energy = _priced(pm, dev, idx)
    positions, tiles, t_in, t_out, lines_out = 72, 6, 2, 3, 10
    assert got["tile_reads"] == positions * tiles == 432
    assert got["adc_conversions"] == positions * lines_out * t_in == 1440
    assert got["dac_conversions"] == positions * k * t_out == 5832
    assert got["tiles_used"] == tiles
    assert got["macs"] == positions * n * k
    assert got["tile_reprogrammings"] == 0
    p = dev.params
    # one read (100 ns) and two conversions on each shared ADC (2 x 33 ns) per position
    t_vec = p.tile.read_time_ns * 1e-9 + 2 * p.adc.conversion_time_ns * 1e-9
    assert ledger.total_time_s == pytest.approx(positions * t_vec, rel=1e-12)
    assert energy["dac"] == pytest.approx(5832 * p.dac.energy_pj * 1e-12, rel=1e-12)
    assert energy["array"] == pytest.approx(positions * k * n * 2 * p.tile.cell_read_energy_fj
                                            * 1e-15, rel=1e-12)
    assert energy["adc"] == pytest.approx(1440 * p.adc.walden_fom_fj * 1e-15 * 2 ** p.adc.bits,
                                          rel=1e-12)
    # partial sums of the row tiles and the slice shift-add (10 x 2), then one scaling per
    # output (5), per position
    assert energy["digital"] == pytest.approx(positions * (lines_out * t_in + n)
                                              * p.digital_op_energy_pj * 1e-12, rel=1e-12)


def test_conv_on_tiles_is_the_convolution_when_ideal(pm):
    """Every non-ideality off, two bit slices, 16 x 4 tiles: the tile reads of every output
    position sum to the convolution (im2col . W) to float32 precision, forward and through
    the transposed read."""
    net = _net(pm, (3, 6, 6), [Conv2d(5, 3, 2, 1)], ALL_OFF + SMALL_TILES)
    dev = net.device
    dev.prepare_inference()
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 6)).astype(np.float32)
    y, _ = net.forward(x, "inference")
    w = dev.weights(0).astype(np.float64)
    patches = im2col(x, 3, 3, 2, 1).astype(np.float64)
    ref = (patches @ w).reshape(2, 3, 3, 5).transpose(0, 3, 1, 2)
    assert np.abs(y - ref).max() <= 1e-5 * np.abs(ref).max()
    e = np.random.default_rng(3).standard_normal((18, 5)).astype(np.float32)
    back = dev.mvm_t(0, e, "inference")
    assert np.abs(back - e @ w.T).max() <= 1e-5 * np.abs(e @ w.T).max()


def _effective(dev, layer):
    """Weights as the chip reads them at ``inference_time_s``: each slice's conductance
    differences times its digital gain, summed over the slices."""
    wn, gain, slices = dev.read[layer]
    n = wn.shape[1] // slices
    return sum(wn[:, s * n:(s + 1) * n].astype(np.float64) * gain[s * n:(s + 1) * n]
               for s in range(slices))


def _trained_lenet5(pm, overrides, batches=6, seed=0):
    """lenet5 on digits trained hardware-aware on pcm-hermes for a few batches, programmed
    and read at the spec's ``inference_time_s``; the method, whose device holds the state."""
    from xpusim.core.scheduler import resolve_model

    spec = pm.load_spec("pcm-hermes", tuple(overrides))
    info = pm.backend("analog")
    method_info = pm.method("backprop")
    model, data = resolve_model(pm, "lenet5", "digits", info, spec.name, method_info)
    from xpusim.core.optim import make_optimizer

    device = info.device(spec, pm.compute_kernels(spec), np.random.default_rng(seed), Trace(),
                         make_optimizer("adam", 0.0), primitives=info.primitives)
    method = method_info.factory(model, device, np.random.default_rng(seed), {"lr": None})
    method.initialize()
    for i in range(batches):
        method.train_batch(data.x_train[32 * i:32 * (i + 1)], data.y_train[32 * i:32 * (i + 1)])
    device.finalize_training()
    device.prepare_inference()
    return method


@pytest.mark.parametrize("compensation", ["none", "global"])
def test_drift_acts_on_a_conv_layer_as_on_a_dense_layer(pm, compensation):
    """lenet5 trained hardware-aware, then read 1 s and one day after programming (the same
    programmed conductances: same seed, same training). Drift shrinks the effective weights of
    the conv layers by the same factor as those of the dense layers (G(t) = G0 (t/t0)^-nu);
    global drift compensation brings every layer back
    to scale, and the day's drift spread and read noise leave every layer further from the
    trained weights than at 1 s. pcm-hermes drifts by the HERMES model's fitted exponents
    (smaller than the PCM model's nu ~ 0.05): a day is about 0.81 of 1 s there."""
    common = (f"drift_compensation={compensation}",)
    early = _trained_lenet5(pm, common + ("inference_time_s=1",))
    late = _trained_lenet5(pm, common + ("inference_time_s=86400",))
    d1, d2 = early.device, late.device
    graph = early.model
    kinds = {}
    for node, slot, _ in graph.matrices():
        kinds.setdefault(node.layer.kind, []).append(early.net.ids[(node.name, slot)])
    assert len(kinds["conv2d"]) == 2 and len(kinds["dense"]) == 3
    slope, err1, err2 = {}, {}, {}
    for layer in kinds["conv2d"] + kinds["dense"]:
        master = d1.master[layer].astype(np.float64)
        np.testing.assert_array_equal(master, d2.master[layer])  # same training
        for name in ("gp", "gm"):  # same programming
            np.testing.assert_array_equal(d1.prog[layer][name][0], d2.prog[layer][name][0])
        w1, w2 = _effective(d1, layer), _effective(d2, layer)
        slope[layer] = float((w2 * w1).sum() / (w1 * w1).sum())
        err1[layer] = float(np.linalg.norm(w1 - master) / np.linalg.norm(master))
        err2[layer] = float(np.linalg.norm(w2 - master) / np.linalg.norm(master))
    conv = np.mean([slope[i] for i in kinds["conv2d"]])
    dense = np.mean([slope[i] for i in kinds["dense"]])
    if compensation == "none":
        assert 0.7 < conv < 0.9 and 0.7 < dense < 0.9
        assert abs(conv - dense) < 0.02
    else:
        assert abs(conv - 1) < 0.05 and abs(dense - 1) < 0.05
        assert abs(conv - dense) < 0.02
        for layer in slope:
            assert err2[layer] > err1[layer], layer


def test_attention_products_run_in_the_digital_periphery(pm):
    """Q.K^T and P.V of 2 sequences x 2 heads (8 tokens, head dim 8) on pcm-hermes: fp32 rows
    priced at the periphery's rate and energy per op, no tile reads or conversions."""
    net = _net(pm, (8, 16), [MultiHeadAttention(2, causal=True)])
    dev = net.device
    dev.prepare_inference()
    x = np.random.default_rng(4).standard_normal((2, 8, 16)).astype(np.float32)
    net.forward(x, "inference")
    idx = _rows(dev.trace, "matmul")
    t = dev.trace
    assert len(idx) == 2
    assert set(t.column("bits")[idx]) == {32} and set(t.column("count")[idx]) == {4}
    from xpusim.core.formats import format_code

    assert set(t.column("fmt")[idx]) == {format_code("fp32")}
    ledger, got, energy = _priced(pm, dev, idx)
    macs = 2 * 4 * 8 * 8 * 8
    p = dev.params
    assert got["macs"] == macs
    assert got["adc_conversions"] == got["dac_conversions"] == got["tile_reads"] == 0
    assert energy["digital"] == pytest.approx(2 * macs * p.digital_op_energy_pj * 1e-12,
                                              rel=1e-12)
    assert energy["adc"] == energy["dac"] == energy["array"] == 0
    assert ledger.total_time_s == pytest.approx(2 * macs / p.digital_ops_per_s, rel=1e-12)
    # the projections around them are analog tile reads: one per token
    mvm = _rows(t, "mvm")
    assert set(t.column("m")[mvm]) == {16}
    _, got_mvm, _ = _priced(pm, dev, mvm)
    assert got_mvm["adc_conversions"] > 0
