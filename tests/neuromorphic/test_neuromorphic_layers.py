"""Conv layers and attention on the neuromorphic chip.

A conv layer's synaptic ops are the input events times the kernel fan-out: each input pixel's
spikes reach every filter at every output position whose window covers it (fewer at the
borders). The im2col lowering gets there as patch events x filters, since a pixel appears in
one patch per covering position with the same spike count. Attention needs products of two
activations, which this chip has no periphery for: one clear error.
"""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.core.errors import IncompatibleError
from xpusim.core.graph import GraphBuilder
from xpusim.core.layers import Conv2d, MultiHeadAttention
from xpusim.core.ledger import price
from xpusim.core.network import Network
from xpusim.core.optim import SGD
from xpusim.core.trace import PRIMITIVE, Trace


def _net(pm, shape, layer, name="loihi", overrides=()):
    spec = pm.load_spec(name, tuple(overrides))
    info = pm.backend(spec.backend)
    device = info.device(spec, pm.compute_kernels(spec), np.random.default_rng(0), Trace(),
                         SGD(0.0), primitives=info.primitives)
    b = GraphBuilder("one-layer", shape)
    b.add(layer)
    net = Network(b.build(), device)
    net.initialize(np.random.default_rng(0))
    return net


def _mvm_counters(pm, net, x):
    dev = net.device
    net.forward(x, "inference")
    idx = np.flatnonzero(dev.trace.column("primitive") == PRIMITIVE["mvm"])
    assert len(idx) == 1
    cols = dev.trace.columns()
    trace = Trace.from_columns({c: v[idx] for c, v in cols.items()})
    return price(trace, pm.cost_model(dev.spec), dev.spec.name).extra_totals()


def _coverage(h, w, kernel, stride, padding):
    """How many output windows cover each input pixel, counted window by window."""
    cover = np.zeros((h + 2 * padding, w + 2 * padding), np.int64)
    for i in range(0, h + 2 * padding - kernel + 1, stride):
        for j in range(0, w + 2 * padding - kernel + 1, stride):
            cover[i:i + kernel, j:j + kernel] += 1
    return cover[padding:padding + h, padding:padding + w]


# 4 x 4 image, one channel: a full-scale corner pixel, a half-scale edge pixel, a quarter-scale
# interior pixel and a -0.75 corner; with rate coding over T = 16 timesteps and the layer's
# threshold-balanced scale (its largest input, 1.0) they fire 16, 8, 4 and 12 spikes.
PIXELS = {(0, 0): 1.0, (0, 2): 0.5, (2, 1): 0.25, (3, 3): -0.75}


def _image():
    x = np.zeros((1, 1, 4, 4), np.float32)
    for (i, j), v in PIXELS.items():
        x[0, 0, i, j] = v
    return x


def test_conv_synaptic_ops_are_input_events_times_kernel_fan_out(pm):
    """3 filters of 3x3, stride 1, padding 1 on loihi (rate, 16 timesteps): a corner pixel is
    covered by 2 x 2 = 4 windows, an edge pixel by 2 x 3 = 6, an interior one by 3 x 3 = 9.
    Synaptic ops = 3 x (16 x 4 + 8 x 6 + 4 x 9 + 12 x 4) = 588; 16 outputs x 3 filters x 16
    timesteps = 768 neuron updates."""
    net = _net(pm, (1, 4, 4), Conv2d(3, 3, 1, 1))
    assert net.device.params.timesteps == 16
    got = _mvm_counters(pm, net, _image())
    assert got["synaptic_op_count"] == pytest.approx(3 * (16 * 4 + 8 * 6 + 4 * 9 + 12 * 4))
    assert got["synaptic_op_count"] == pytest.approx(588)
    # the patch events (each pixel's spikes once per window covering it)
    assert got["spikes"] == pytest.approx(196)
    assert got["neuron_update_count"] == 16 * 3 * 16
    assert _coverage(4, 4, 3, 1, 1)[0, 0] == 4 and _coverage(4, 4, 3, 1, 1)[2, 1] == 9


@pytest.mark.parametrize("kernel, stride, padding", [(3, 2, 1), (2, 1, 0), (3, 3, 1),
                                                     (1, 1, 0)])
def test_conv_fan_out_follows_window_coverage(pm, kernel, stride, padding):
    """Strided and unpadded layers leave some pixels in fewer windows (or none): the synaptic
    ops are sum over pixels of spikes x covering windows x filters, whatever the geometry."""
    spikes = {(0, 0): 16, (0, 2): 8, (2, 1): 4, (3, 3): 12}
    cover = _coverage(4, 4, kernel, stride, padding)
    expected = 5 * sum(c * int(cover[p]) for p, c in spikes.items())
    got = _mvm_counters(pm, _net(pm, (1, 4, 4), Conv2d(5, kernel, stride, padding)), _image())
    assert got["synaptic_op_count"] == pytest.approx(expected)


def test_graded_spikes_reach_the_same_fan_out(pm):
    """loihi2 sends one graded spike per active input: 4 active pixels, the same coverage,
    so 3 filters x (4 + 6 + 9 + 4) synaptic ops in one timestep."""
    net = _net(pm, (1, 4, 4), Conv2d(3, 3, 1, 1), name="loihi2")
    assert net.device.params.coding == "graded"
    got = _mvm_counters(pm, net, _image())
    assert got["synaptic_op_count"] == pytest.approx(3 * (4 + 6 + 9 + 4))
    assert got["neuron_update_count"] == 16 * 3


def test_conv_outputs_are_the_integer_convolution_of_the_spike_counts(pm):
    """The spike counts (16, 8, 4, -12) convolved with the integer synapses, times the unit a
    count stands for and the synapse scale: the chip's output is the convolution of its
    quantized input."""
    from xpusim.core.layers import im2col

    net = _net(pm, (1, 4, 4), Conv2d(3, 3, 1, 1, bias=False))
    dev = net.device
    y, _ = net.forward(_image(), "inference")
    counts = np.zeros((1, 1, 4, 4))
    for (i, j), v in PIXELS.items():
        counts[0, 0, i, j] = np.sign(v) * np.floor(abs(v) * 16)
    ref = im2col(counts, 3, 3, 1, 1) @ dev.w_int[0] * (1.0 / 16) * dev.w_scale[0]
    np.testing.assert_allclose(y, ref.reshape(1, 4, 4, 3).transpose(0, 3, 1, 2), rtol=1e-6)


def test_attention_is_refused_with_one_clear_error(pm, capsys):
    """Before any work: the model needs ``matmul``, which the chip has no periphery for; and a
    device asked for it directly refuses it too."""
    from xpusim.cli import entry

    code = entry(["run", "--hardware", "loihi", "--method", "dfa", "--model", "gpt-nano",
                  "--dataset", "seq-reverse", "--epochs", "1"])
    out, err = capsys.readouterr()
    assert code != 0 and out == ""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err
    assert "needs primitive(s) matmul" in lines[0] and "'neuromorphic'" in lines[0]
    net = _net(pm, (4, 8), MultiHeadAttention(2, causal=True))
    with pytest.raises(IncompatibleError, match="does not support primitive 'matmul'"):
        net.forward(np.ones((1, 4, 8), np.float32), "inference")
