"""Conv and attention layers on h100-sxm in bf16, priced by hand from the spec's numbers.

A conv layer runs as one GEMM of M = batch x output positions, K = C kh kw, N = filters (the
shape an implicit-GEMM kernel computes); attention's products of two activations are one
batched kernel per ``matmul`` row.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from xpusim.core.graph import GraphBuilder
from xpusim.core.layers import Conv2d, MultiHeadAttention, im2col
from xpusim.core.ledger import price
from xpusim.core.network import Network
from xpusim.core.optim import SGD
from xpusim.core.trace import PRIMITIVE, Trace

# h100-sxm.toml
PEAK_BF16 = 989.4e12
SUSTAINED_BF16 = 0.87
SMS = 132
L2 = 11450e9
HBM = 3350e9 * 0.9         # achievable bandwidth
LAUNCH = 4e-6
E_MAC_BF16 = 1.274e-12
E_HBM = 31.2e-12
E_SRAM = 0.5e-12
GEMM_TILE = 128            # memory.gemm_tile (on-chip traffic)


def _net(pm, shape, layer):
    spec = pm.load_spec("h100-sxm", ("compute_format=bf16",))
    info = pm.backend("gpu")
    device = info.device(spec, pm.compute_kernels(spec), np.random.default_rng(0), Trace(),
                         SGD(0.0), primitives=info.primitives)
    b = GraphBuilder("one-layer", shape)
    b.add(layer)
    net = Network(b.build(), device)
    net.initialize(np.random.default_rng(0))
    return net


def _priced(pm, device, primitive):
    idx = np.flatnonzero(device.trace.column("primitive") == PRIMITIVE[primitive])
    cols = device.trace.columns()
    trace = Trace.from_columns({c: v[idx] for c, v in cols.items()})
    return trace, price(trace, pm.cost_model(device.spec), device.spec.name)


def _bf16(x):
    """Round to bf16 (nearest, ties to even) through float32's bit pattern."""
    b = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return b.astype(np.uint32).view(np.float32)


def test_conv_layer_by_hand(pm):
    """resnet20's 16 -> 16 3x3 conv (padding 1) on 32 images of 32 x 32: one GEMM of
    M = 32 x 1024, K = 144, N = 16 in bf16.

    Tiles: N = 16 fits one 64-wide column; 256-row tiles give 128 tiles, one wave on 132 SMs.
    K = 144 rounds up to three 64-element (128 B) slabs, 192. Per K step a 256 x 64 tile
    needs 2 x 256 x 64 FLOP at the SM's sustained share of peak and (256 + 64) x 2 B from L2:
    the operand feed is slower, so the tile takes 192 x 640 B / (L2 / 132). As an implicit
    GEMM the layer reads its 32 x 16 x 32 x 32 image from HBM (not the 9x larger patch matrix)
    and the K x N weights, faster than that body; the output write and the launch add."""
    net = _net(pm, (16, 32, 32), Conv2d(16, 3, 1, 1, bias=False))
    x = np.random.default_rng(1).standard_normal((32, 16, 32, 32)).astype(np.float32)
    y, _ = net.forward(x, "inference")
    trace, ledger = _priced(pm, net.device, "mvm")
    m, n, k = 32 * 1024, 16, 144
    assert (trace.column("m")[0], trace.column("n")[0], trace.column("k")[0]) == (m, n, k)
    assert trace.column("bits")[0] == 16
    image = 32 * 16 * 32 * 32
    assert (trace.column("samples")[0], trace.column("inputs")[0]) == (32, image)

    flop_s = PEAK_BF16 * SUSTAINED_BF16 / SMS             # one SM, sustained
    byte_s = L2 / SMS                                      # operands into one SM
    compute_per_k = 2 * 256 * 64 / flop_s
    feed_per_k = (256 + 64) * 2 / byte_s
    assert feed_per_k > compute_per_k
    k_slabs = math.ceil(k / 64) * 64
    body = math.ceil(math.ceil(m / 256) / SMS) * k_slabs * feed_per_k   # one wave
    t_in = (image + k * n) * 2 / HBM
    assert body > t_in > (image + k * n) * 2 / HBM / 2    # the tiles' operand feed binds
    assert (m * k + k * n) * 2 / HBM > body                # (the patch matrix would not)
    t = LAUNCH + m * n * 2 / HBM + max(body, t_in)
    assert ledger.total_time_s == pytest.approx(t, rel=1e-12)
    macs = m * n * k
    e = ledger.by_component()
    assert e["compute"] == pytest.approx(macs * E_MAC_BF16, rel=1e-12)
    assert e["offchip_memory"] == pytest.approx((image + k * n + m * n) * 2 * E_HBM, rel=1e-12)
    assert e["onchip_memory"] == pytest.approx(2 * macs * 2 / GEMM_TILE * E_SRAM, rel=1e-12)
    assert ledger.extra_totals()["kernel_launches"] == 1

    # numerics: bf16 operands, fp32 accumulation, the result rounded to bf16
    w = _bf16(net.device.working[0]).astype(np.float64)
    ref = (_bf16(im2col(x, 3, 3, 1, 1)).astype(np.float64) @ w)
    ref = ref.reshape(32, 32, 32, 16).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(y, _bf16(y))             # every output is a bf16 value
    assert np.abs(y - ref).max() <= 2.0 ** -8 * np.abs(ref).max()


def test_attention_layer_by_hand(pm):
    """4 sequences of 64 tokens, d_model 128, 4 heads of 32, bf16. Forward: Q.K^T, 16
    products of (64 x 32) . (32 x 64), and P.V, 16 of (64 x 64) . (64 x 32); each row is one
    batched kernel: 16 x max(FLOPs / sustained peak, HBM bytes / bandwidth) plus one launch.
    Each product moves 2 (64 x 32) + 64 x 64 bf16 values = 16 KiB: HBM-bound."""
    net = _net(pm, (64, 128), MultiHeadAttention(4, causal=True))
    x = np.random.default_rng(2).standard_normal((4, 64, 128)).astype(np.float32)
    net.forward(x, "inference")
    trace, ledger = _priced(pm, net.device, "matmul")
    shapes = [tuple(int(trace.column(c)[i]) for c in ("m", "n", "k")) for i in range(2)]
    assert shapes == [(64, 64, 32), (64, 32, 64)]
    assert list(trace.column("count")) == [16, 16]
    macs = 64 * 64 * 32
    hbm = (64 * 32 + 32 * 64 + 64 * 64) * 2
    assert hbm == 16384
    per_product = max(2 * macs / (PEAK_BF16 * SUSTAINED_BF16), hbm / HBM)
    assert per_product == hbm / HBM
    np.testing.assert_allclose(ledger.time_s, [16 * per_product + LAUNCH] * 2, rtol=1e-12)
    e = ledger.energy_j
    comps = list(ledger.components)
    np.testing.assert_allclose(e[:, comps.index("compute")], [16 * macs * E_MAC_BF16] * 2,
                               rtol=1e-12)
    np.testing.assert_allclose(e[:, comps.index("offchip_memory")], [16 * hbm * E_HBM] * 2,
                               rtol=1e-12)
    np.testing.assert_allclose(e[:, comps.index("onchip_memory")],
                               [16 * 2 * macs * 2 / GEMM_TILE * E_SRAM] * 2, rtol=1e-12)
    totals = ledger.extra_totals()
    assert totals["kernel_launches"] == 2                 # one per row, not per product
    assert totals["flops"] == 2 * 2 * 16 * macs
