"""Values a graph brings (``Graph.trained``) are what the network places, and a value that does
not fit the graph is one error naming the node; norm layers take their epsilon."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.core.errors import XpusimError
from xpusim.core.graph import GraphBuilder
from xpusim.core.layers import BatchNorm, Dense, LayerNorm
from xpusim.core.network import Network
from xpusim.core.optim import SGD
from xpusim.core.trace import Trace
from xpusim.core.trained import TrainedValues


def _graph(trained=None):
    b = GraphBuilder("t", (4,))
    b.add(Dense(3), name="d0")
    b.add(BatchNorm(), name="bn")
    b.add(Dense(2, bias=False), name="d1")
    return b.build(trained)


def _values():
    rng = np.random.default_rng(1)
    w0, w1 = (rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (3, 2)))
    return TrainedValues(
        {("d0", 0): (w0, np.arange(3, dtype=np.float32)), ("d1", 0): (w1, None)},
        {("bn", "running_var"): np.full(3, 4.0, np.float32)}, source="unit")


def _device(pm):
    spec = pm.load_spec("h100-sxm")
    info = pm.backend("gpu")
    return info.device(spec, pm.compute_kernels(spec), np.random.default_rng(0), Trace(),
                       SGD(0.0), primitives=info.primitives)


def test_given_values_are_placed_and_the_rest_initialised(pm):
    values = _values()
    net = Network(_graph(values), _device(pm))
    net.initialize(np.random.default_rng(0))
    d = net.device
    np.testing.assert_array_equal(d.weights(net.ids[("d0", 0)]), values.matrices[("d0", 0)][0])
    np.testing.assert_array_equal(d.bias[net.ids[("d0", 0)]], [0, 1, 2])
    np.testing.assert_array_equal(d.weights(net.ids[("d1", 0)]), values.matrices[("d1", 0)][0])
    assert net.ids[("d1", 0)] not in d.bias
    np.testing.assert_array_equal(d.periphery[("bn", "running_var")], [4, 4, 4])
    np.testing.assert_array_equal(d.periphery[("bn", "gain")], [1, 1, 1])  # not given
    d.periphery[("bn", "running_var")][0] = 9.0  # the device holds a copy
    assert values.params[("bn", "running_var")][0] == 4.0


@pytest.mark.parametrize("change,match", [
    (lambda m, p: m.update({("d0", 0): (np.zeros((3, 3), np.float32), np.zeros(3, np.float32))}),
     r"node 'd0': weights of shape \(3, 3\), the layer holds 4 x 3"),
    (lambda m, p: m.update({("d1", 0): (np.zeros((3, 2), np.float32), np.zeros(2, np.float32))}),
     r"node 'd1' takes no bias, got shape \(2,\)"),
    (lambda m, p: m.update({("bn", 0): (np.zeros((3, 3), np.float32), None)}),
     r"node 'bn' holds no weight matrix 0"),
    (lambda m, p: p.update({("bn", "gain"): np.ones(4, np.float32)}),
     r"node 'bn': parameter 'gain' of shape \(4,\), the layer holds \(3,\)"),
    (lambda m, p: p.update({("d0", "gain"): np.ones(3, np.float32)}),
     r"node 'd0' has no parameter 'gain'"),
])
def test_values_that_do_not_fit_name_the_node(change, match):
    v = _values()
    matrices, params = dict(v.matrices), dict(v.params)
    change(matrices, params)
    with pytest.raises(XpusimError, match=match):
        _graph(TrainedValues(matrices, params, source="unit"))


@pytest.mark.parametrize("layer", [LayerNorm(eps=1e-3), BatchNorm(eps=1e-3)])
def test_norms_add_their_epsilon(pm, layer):
    b = GraphBuilder("n", (5,))
    b.add(layer)
    net = Network(b.build(), _device(pm))
    net.initialize(np.random.default_rng(0))
    x = np.random.default_rng(2).standard_normal((7, 5)).astype(np.float32)
    if isinstance(layer, BatchNorm):
        net.device.periphery[(b.nodes[0].name, "running_var")][:] = 0.0
        want = x / np.sqrt(np.float32(1e-3))  # running mean 0, variance 0: only eps remains
    else:
        want = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    y, _ = net.forward(x, "inference")
    np.testing.assert_allclose(y, want, rtol=1e-5)
    assert layer.describe().endswith("eps 0.001")
