"""Weight-free operators of the digital periphery: pooling, norms, activations, softmax."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from xpusim.core.layers import (Activation, BatchNorm, GlobalAvgPool, LayerNorm, Pool2d,
                                Softmax)
from xpusim.core.layers.norm import EPS

from .convert import Converter, Value
from .weighted import equal_padding, equal_stride, per_output

if TYPE_CHECKING:
    from onnx import NodeProto

Handler = Callable[[Converter, "NodeProto"], None]


def pool(mode: str) -> Handler:
    """MaxPool or AveragePool: square windows, equal strides, no padding, whole windows."""
    def handler(c: Converter, node: NodeProto) -> None:
        a = c.attrs(node)
        if len(node.output) > 1 and c.used(node.output[1]):
            raise c.fail(node, "uses the Indices output; xpusim's pooling returns values only")
        v = c.act(node, 0)
        if len(v.shape) != 3:
            raise c.fail(node, f"pools samples of shape {v.shape}; expected (C, H, W) images")
        k = a.get("kernel_shape", [])
        if len(k) != 2 or k[0] != k[1]:
            raise c.fail(node, f"kernel {k}; xpusim pools square windows")
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            raise c.fail(node, f"dilations {a['dilations']}; xpusim's windows are not dilated")
        size, stride = int(k[0]), equal_stride(c, node, a)
        equal_padding(c, node, a, size, stride, v.shape[1:], allow=False)
        if a.get("ceil_mode", 0) and any((s - size) % stride for s in v.shape[1:]):
            raise c.fail(node, "ceil_mode = 1 adds a partial window here; xpusim pools whole "
                               "windows (floor)")
        layer = Pool2d(mode, size, None if stride == size else stride)
        name = c.add(node, layer, [c.need(node, v)])
        c.set(node, Value(name, c.xshape[name]))
    return handler


def global_avg(c: Converter, node: NodeProto) -> None:
    """GlobalAveragePool: (C, H, W) -> (C,) in xpusim, a view of ONNX's (C, 1, 1)."""
    v = c.act(node, 0)
    if len(v.shape) != 3:
        raise c.fail(node, f"pools samples of shape {v.shape}; expected (C, H, W) images")
    name = c.add(node, GlobalAvgPool(), [c.need(node, v)])
    c.set(node, Value(name, (v.shape[0], 1, 1)))


def reduce_mean(c: Converter, node: NodeProto) -> None:
    """The mean over every position of an image (axes 2, 3) or over tokens (axis 1): global
    average pooling (what PyTorch's AdaptiveAvgPool2d(1) or x.mean((2, 3)) export)."""
    v = c.act(node, 0)
    rank = len(v.shape) + 1
    axes = c.axes(node)
    axes = sorted(a % rank for a in axes) if axes else list(range(rank))
    keep = bool(c.attrs(node).get("keepdims", 1))
    if axes == [2, 3] and rank == 4:
        out = (v.shape[0], 1, 1) if keep else (v.shape[0],)
    elif axes == [1] and rank == 3:
        out = (1, v.shape[1]) if keep else (v.shape[1],)
    else:
        raise c.fail(node, f"averages over axes {axes} of (batch, *{v.shape}); xpusim averages "
                           "over every position of an image (axes 2, 3) or over tokens (axis 1)")
    name = c.add(node, GlobalAvgPool(), [c.need(node, v)])
    c.set(node, Value(name, out))


def _eps(value: float) -> float:
    """An epsilon as stored (float32), the default written exactly."""
    return EPS if np.float32(value) == np.float32(EPS) else float(np.float32(value))


def _no_extra_outputs(c: Converter, node: NodeProto, what: str) -> None:
    if any(c.used(o) for o in node.output[1:]):
        raise c.fail(node, f"uses its {what} outputs; xpusim imports the normalised output")


def batchnorm(c: Converter, node: NodeProto) -> None:
    """BatchNormalization with its inference statistics, epsilon and momentum."""
    a = c.attrs(node)
    if a.get("training_mode", 0):
        raise c.fail(node, "training_mode = 1; export the model in eval mode (model.eval())")
    _no_extra_outputs(c, node, "running-statistics")
    v = c.act(node, 0)
    ch = v.shape[0]
    names = ("gain", "shift", "running_mean", "running_var")
    what = ("scale", "bias B", "mean", "variance")
    values = [per_output(c, node, c.const(node, i + 1, w), ch, w) for i, w in enumerate(what)]
    layer = BatchNorm(momentum=round(1.0 - float(a.get("momentum", 0.9)), 6),
                      eps=_eps(a.get("epsilon", EPS)))
    name = c.add(node, layer, [c.need(node, v)])
    c.params.update({(name, p): value for p, value in zip(names, values)})
    c.set(node, Value(name, v.shape))


def layernorm(c: Converter, node: NodeProto) -> None:
    """LayerNormalization over the last axis, with its epsilon."""
    a = c.attrs(node)
    _no_extra_outputs(c, node, "mean and inverse-deviation")
    v = c.act(node, 0)
    rank = len(v.shape) + 1
    axis = a.get("axis", -1) % rank
    if axis != rank - 1:
        raise c.fail(node, f"normalises over axes {axis}..{rank - 1}; xpusim's layer norm "
                           "normalises the last axis")
    d = v.shape[-1]
    gain = per_output(c, node, c.const(node, 1, "scale"), d, "scale")
    shift = c.const(node, 2, "bias B", optional=True)
    shift = np.zeros(d, np.float32) if shift is None else per_output(c, node, shift, d, "bias B")
    name = c.add(node, LayerNorm(eps=_eps(a.get("epsilon", EPS))), [c.need(node, v)])
    c.params.update({(name, "gain"): gain, (name, "shift"): shift})
    c.set(node, Value(name, v.shape))


def activation(fn: str) -> Handler:
    """Relu, Tanh or Sigmoid: an elementwise activation (keeps the view)."""
    def handler(c: Converter, node: NodeProto) -> None:
        v = c.act(node, 0)
        name = c.add(node, Activation(fn), [v.node])
        c.set(node, Value(name, v.shape))
    return handler


def gelu(c: Converter, node: NodeProto) -> None:
    """Gelu in its tanh form (the erf form is refused)."""
    approximate = c.attrs(node).get("approximate", "none")
    if approximate != "tanh":
        raise c.fail(node, f"approximate = {approximate!r} (GELU with erf); xpusim's GELU is "
                           "the tanh approximation: use nn.GELU(approximate='tanh')")
    activation("gelu")(c, node)


def softmax(c: Converter, node: NodeProto) -> None:
    """Softmax over the last axis (opset < 13: over the flattened sample)."""
    v = c.act(node, 0)
    rank = len(v.shape) + 1
    axis = c.attrs(node).get("axis", -1 if c.opset >= 13 else 1) % rank
    if c.opset < 13 and axis == 1:  # the sample flattened to one row (opset < 13 semantics)
        x = c.need(node, v, (math.prod(v.shape),))
    elif axis == rank - 1:
        x = c.need(node, v)
    else:
        raise c.fail(node, f"softmax over axis {axis}; xpusim's softmax runs over the last "
                           "axis")
    name = c.add(node, Softmax(), [x])
    c.set(node, Value(name, v.shape))
