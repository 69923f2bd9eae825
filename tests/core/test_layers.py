"""Every layer type's backward pass is the gradient of its forward pass (finite differences on
an exact fp32 device), im2col and col2im are adjoint, and shapes and errors are checked."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.core.errors import XpusimError
from xpusim.core.graph import INPUT, GraphBuilder
from xpusim.core.layers import (Activation, Add, AddPositions, BatchNorm, Conv2d, Dense,
                                Embedding, Flatten, GlobalAvgPool, LayerNorm, MultiHeadAttention,
                                Pool2d, Softmax, SwiGLU, Tokens, col2im, im2col)
from xpusim.core.network import Network, Rule
from xpusim.core.optim import SGD
from xpusim.core.trace import Trace


class Recorder(Rule):
    """Exact gradients, weights left alone: updates and parameter gradients are recorded."""

    lr = 0.0

    def __init__(self):
        self.grads: dict[int, np.ndarray] = {}
        self.params: dict[tuple[str, str], np.ndarray] = {}

    def update(self, net, layer_id, pre, post):
        self.grads[layer_id] = self.grads.get(layer_id, 0) - pre.T.astype(np.float64) @ post

    def param_grad(self, net, key, grad):
        self.params[key] = grad


def _net(pm, graph, seed=0):
    spec = pm.load_spec("h100-sxm")
    info = pm.backend("gpu")
    device = info.device(spec, pm.compute_kernels(spec), np.random.default_rng(seed), Trace(),
                         SGD(0.0), primitives=info.primitives)
    net = Network(graph, device)
    net.initialize(np.random.default_rng(seed))
    return net


def _loss(net, x, r, phase="train-forward"):
    out, _ = net.forward(x, phase)
    return float((out.astype(np.float64) * r).sum())


CASES = {
    "conv": ((2, 5, 5), [Conv2d(3, 3, 1, 1), Activation("tanh")]),
    "strided-conv": ((2, 6, 7), [Conv2d(4, 3, 2, 0)]),
    "maxpool": ((2, 4, 4), [Conv2d(3, 3, 1, 1), Pool2d("max", 2)]),
    "avgpool": ((2, 6, 6), [Conv2d(3, 1, 1, 0), Pool2d("avg", 3, 2)]),
    "global-avg-pool": ((3, 4, 4), [Conv2d(4, 3, 1, 1), GlobalAvgPool()]),
    "batchnorm": ((3, 4, 4), [Conv2d(4, 3, 1, 1), BatchNorm(), Activation("gelu")]),
    "layernorm": ((6,), [Dense(8), LayerNorm(), Activation("sigmoid")]),
    "attention": ((5, 8), [MultiHeadAttention(2, causal=False)]),
    "causal-gqa": ((6, 8), [MultiHeadAttention(4, kv_heads=2, causal=True)]),
    "tokens+positions": ((4, 3, 3), [Conv2d(6, 1, 1, 0), Tokens(), AddPositions(9),
                                     LayerNorm()]),
    "swiglu": ((7,), [Dense(10), SwiGLU()]),
    "softmax": ((5,), [Dense(6), Softmax()]),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_backward_is_the_gradient_of_forward(pm, case):
    shape, layers = CASES[case]
    b = GraphBuilder(case, shape)
    for layer in layers:
        b.add(layer)
    if len(shape) > 1 and not isinstance(layers[-1], GlobalAvgPool):
        b.add(Flatten())
    b.add(Dense(3), name="head")
    net = _net(pm, b.build())
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, *shape)).astype(np.float32)
    r = rng.standard_normal((3, 3))
    rule = Recorder()
    out, tape = net.forward(x, "train-forward", rule=rule, keep=True)
    # the input error: a first layer whose input needs none is given one by hand
    first = net.graph.nodes[0]
    grads: dict = {}
    net.needs[first.name] = (True,)
    orig = first.layer.backward

    def capture(ops, dy, cache, need):
        out = orig(ops, dy, cache, need)
        grads["x"] = out[0]
        return out

    object.__setattr__(first.layer, "backward", capture)
    try:
        net.backward(tape, r.astype(np.float32), rule)
    finally:
        object.__delattr__(first.layer, "backward")
    eps = 1e-2
    idx = [tuple(rng.integers(0, s) for s in x.shape) for _ in range(6)]
    for i in idx:
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        num = (_loss(net, xp, r) - _loss(net, xm, r)) / (2 * eps)
        assert grads["x"][i] == pytest.approx(num, rel=3e-2, abs=3e-3), (case, i)
    # the weight gradient of the first matrix
    w0 = net.device.weights(0)
    k, n = w0.shape
    for _ in range(4):
        j = (int(rng.integers(0, k)), int(rng.integers(0, n)))
        wp, wm = w0.copy(), w0.copy()
        wp[j] += eps
        wm[j] -= eps
        bias = net.device.bias.get(0)
        net.device.place(0, wp, bias)
        lp = _loss(net, x, r)
        net.device.place(0, wm, bias)
        lm = _loss(net, x, r)
        net.device.place(0, w0, bias)
        assert rule.grads[0][j] == pytest.approx((lp - lm) / (2 * eps), rel=3e-2, abs=3e-3)


def test_embedding_scatters_errors_into_the_rows_read(pm):
    b = GraphBuilder("emb", (4,), tokens=True)
    b.add(Embedding(5, 3, positions=4))
    b.add(Dense(2), name="head")
    net = _net(pm, b.build())
    ids = np.array([[0, 1, 1, 4], [4, 4, 2, 0]])
    rule = Recorder()
    out, tape = net.forward(ids, "train-forward", rule=rule, keep=True)
    dy = np.ones_like(out)
    net.backward(tape, dy, rule)
    table = rule.params[("embedding0", "table")]
    w = net.device.weights(0)
    per_token = dy[0, 0] @ w.T  # the error each read row receives
    np.testing.assert_allclose(table[1], 2 * per_token, rtol=1e-5)   # token 1 read twice
    np.testing.assert_allclose(table[4], 3 * per_token, rtol=1e-5)   # token 4 thrice
    np.testing.assert_array_equal(table[3], 0)                         # token 3 never read
    np.testing.assert_allclose(rule.params[("embedding0", "positions")][0], 2 * per_token,
                               rtol=1e-5)


def test_causal_attention_does_not_look_ahead(pm):
    b = GraphBuilder("causal", (5, 8))
    b.add(MultiHeadAttention(2, causal=True))
    net = _net(pm, b.build())
    x = np.random.default_rng(0).standard_normal((1, 5, 8)).astype(np.float32)
    y1, _ = net.forward(x, "inference")
    x2 = x.copy()
    x2[0, 3:] += 5.0  # change the future of positions 0..2
    y2, _ = net.forward(x2, "inference")
    np.testing.assert_array_equal(y1[0, :3], y2[0, :3])
    assert not np.allclose(y1[0, 3:], y2[0, 3:])


@pytest.mark.parametrize("b,c,h,w,k,s,p", [(2, 3, 8, 8, 3, 1, 1), (1, 2, 7, 5, 3, 2, 0),
                                           (2, 1, 8, 8, 5, 1, 2), (3, 4, 6, 6, 2, 2, 0)])
def test_im2col_and_col2im_are_adjoint(b, c, h, w, k, s, p):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((b, c, h, w))
    cols = im2col(x, k, k, s, p)
    y = rng.standard_normal(cols.shape)
    assert (cols * y).sum() == pytest.approx((x * col2im(y, x.shape, k, k, s, p)).sum())
    # a patch row holds the input window in PyTorch's (c, i, j) order
    i0 = s * 1 - p
    j0 = s * 1 - p
    ho = (h + 2 * p - k) // s + 1
    wo = (w + 2 * p - k) // s + 1
    if 0 <= i0 and i0 + k <= h and 0 <= j0 and j0 + k <= w and ho > 1 and wo > 1:
        row = cols[1 * wo + 1].reshape(c, k, k)
        np.testing.assert_array_equal(row, x[0, :, i0:i0 + k, j0:j0 + k])


def test_graph_errors_name_the_layer():
    b = GraphBuilder("bad", (1, 4, 4))
    b.add(Conv2d(2, 5, 1, 0), name="too-big")
    with pytest.raises(XpusimError, match=r"layer 'too-big' \(conv2d 2x5x5 s1 p0\) leaves "
                                          r"nothing"):
        b.build()
    b = GraphBuilder("bad", (3,))
    b.add(Dense(4))
    b.add(Add(), inputs=["dense0", INPUT])
    with pytest.raises(XpusimError, match="layer 'add0': add: inputs of shapes"):
        b.build()
    b = GraphBuilder("bad", (4, 6))
    b.add(MultiHeadAttention(4))
    with pytest.raises(XpusimError, match="not a multiple of 4 heads"):
        b.build()
