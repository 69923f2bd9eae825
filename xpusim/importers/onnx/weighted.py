"""Operators that hold weights (Gemm and MatMul as dense layers, Conv as conv2d) and Add: the
residual add of two activations, or a constant folded into the bias of the layer before it.

A dense layer holds fan_in x units (Gemm's B, or Bᵀ when ``transB``, which PyTorch's
``nn.Linear`` writes); a conv layer holds (C·kh·kw) x filters: the ONNX kernel (F, C, kh, kw)
flattened per filter, in the (c, i, j) column order of ``im2col``. Images are (C, H, W) per
sample, as in ONNX (NCHW).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import attrs
import numpy as np

from xpusim.core.layers import Add, Conv2d, Dense

from .convert import Converter, Value

if TYPE_CHECKING:
    from onnx import NodeProto


def gemm(c: Converter, node: NodeProto) -> None:
    """Gemm: alpha A·B (Bᵀ with ``transB``) + beta C as a dense layer with its bias."""
    a = c.attrs(node)
    if a.get("transA", 0):
        raise c.fail(node, "transA = 1 (a transposed activation); xpusim's dense layers "
                           "compute x·W for a batch of rows x")
    v = c.act(node, 0)
    b = c.const(node, 1, "weights B")
    if b.ndim != 2:
        raise c.fail(node, f"weights B of shape {b.shape}; expected a matrix")
    w = (b.T if a.get("transB", 0) else b) * np.float32(a.get("alpha", 1.0))
    bias = c.const(node, 2, "bias C", optional=True)
    if bias is not None:
        bias = per_output(c, node, bias * np.float32(a.get("beta", 1.0)), w.shape[1], "bias C")
    if len(v.shape) != 1:
        raise c.fail(node, f"takes a batch of rows, got samples of shape {v.shape}")
    _dense(c, node, v, w, bias)


def matmul(c: Converter, node: NodeProto) -> None:
    """MatMul of an activation by constant weights: a dense layer over the last axis."""
    consts = [c.is_const(t) for t in node.input[:2]]
    if consts == [True, False]:
        raise c.fail(node, "multiplies a constant by an activation (W·x); xpusim's dense "
                           "layers compute x·W")
    if consts == [False, False]:
        raise c.fail(node, "multiplies two activations (attention scores); xpusim imports "
                           "MatMul only with constant weights")
    v = c.act(node, 0)
    w = c.const(node, 1, "weights")
    if w.ndim != 2:
        raise c.fail(node, f"weights of shape {w.shape}; expected a matrix")
    _dense(c, node, v, w, None)


def _dense(c: Converter, node: NodeProto, v: Value, w: np.ndarray,
           bias: np.ndarray | None) -> None:
    """A dense layer holding ``w`` (fan_in x units) and ``bias``."""
    if v.shape[-1] != w.shape[0]:
        raise c.fail(node, f"weights of {w.shape[0]} rows for inputs of {v.shape[-1]} "
                           f"features (shape {v.shape})")
    x = c.need(node, v)
    name = c.add(node, Dense(int(w.shape[1]), bias=bias is not None), [x])
    c.matrices[(name, 0)] = [np.ascontiguousarray(w, np.float32), bias]
    c.origin[node.output[0]] = name
    c.set(node, Value(name, (*v.shape[:-1], int(w.shape[1]))))


def conv(c: Converter, node: NodeProto) -> None:
    """Conv: a 2-D convolution of square kernels, equal strides and padding."""
    a = c.attrs(node)
    v = c.act(node, 0)
    w = c.const(node, 1, "kernel W")
    if w.ndim != 4 or len(v.shape) != 3:
        raise c.fail(node, f"a {w.ndim - 2}-D convolution; xpusim imports 2-D convolutions "
                           "of (C, H, W) images")
    f, cin, kh, kw = w.shape
    if a.get("group", 1) != 1:
        raise c.fail(node, f"grouped convolution (group = {a['group']}); xpusim's conv2d "
                           "connects every input channel (group 1)")
    if any(d != 1 for d in a.get("dilations", [1, 1])):
        raise c.fail(node, f"dilations {a['dilations']}; xpusim's conv2d is not dilated")
    if kh != kw:
        raise c.fail(node, f"kernel {kh}x{kw}; xpusim's conv2d has square kernels")
    stride = equal_stride(c, node, a)
    pad = equal_padding(c, node, a, kh, stride, v.shape[1:], allow=True)
    if cin != v.shape[0]:
        raise c.fail(node, f"kernel for {cin} input channels, input has {v.shape[0]}")
    bias = c.const(node, 2, "bias B", optional=True)
    if bias is not None:
        bias = per_output(c, node, bias, f, "bias B")
    x = c.need(node, v)
    name = c.add(node, Conv2d(int(f), int(kh), stride, pad, bias=bias is not None), [x])
    c.matrices[(name, 0)] = [np.ascontiguousarray(w.reshape(f, -1).T), bias]
    c.origin[node.output[0]] = name
    c.set(node, Value(name, c.xshape[name]))


def equal_stride(c: Converter, node: NodeProto, a: dict) -> int:
    """The stride, the same along H and W (ONNX's default is 1)."""
    strides = a.get("strides", [1, 1])
    if len(set(strides)) != 1:
        raise c.fail(node, f"strides {strides}; xpusim strides equally along H and W")
    return int(strides[0])


def equal_padding(c: Converter, node: NodeProto, a: dict, k: int, stride: int,
                  hw: tuple[int, ...], allow: bool) -> int:
    """Equal padding on every side (``auto_pad`` SAME resolved for this input size)."""
    auto = a.get("auto_pad", "NOTSET")
    if auto == "VALID":
        pads = [0, 0, 0, 0]
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for size in hw:
            total = max((math.ceil(size / stride) - 1) * stride + k - size, 0)
            if total % 2:
                raise c.fail(node, f"auto_pad {auto} pads {total} pixels along an axis of "
                                   f"{size}; xpusim pads equally on both sides")
            pads.append(total // 2)
        pads = pads * 2
    else:
        pads = list(a.get("pads", [0, 0, 0, 0]))
    if len(set(pads)) != 1:
        raise c.fail(node, f"pads {pads}; xpusim pads equally on every side")
    if pads[0] and not allow:
        raise c.fail(node, f"pads {pads}; xpusim pools without padding")
    return int(pads[0])


def per_output(c: Converter, node: NodeProto, value: np.ndarray, n: int, what: str
               ) -> np.ndarray:
    """``value`` as n values, one per output (a single value is repeated)."""
    if value.size == 1:
        return np.full(n, value.reshape(-1)[0], np.float32)
    if value.size != n or value.shape[-1] != n:
        raise c.fail(node, f"{what} of shape {value.shape}; expected {n} values, one per output")
    return np.ascontiguousarray(value.reshape(n), np.float32)


def add(c: Converter, node: NodeProto) -> None:
    """Add: a residual add of two activations of one shape, or a bias (``_bias``)."""
    left, right = node.input[0], node.input[1]
    if c.is_const(left) or c.is_const(right):
        _bias(c, node, right if c.is_const(left) else left, left if c.is_const(left) else right)
        return
    va, vb = c.values[left], c.values[right]
    if va.shape != vb.shape:
        raise c.fail(node, f"adds shapes {va.shape} and {vb.shape}; xpusim adds activations "
                           "of one shape (no broadcasting)")
    if c.xshape[va.node] == c.xshape[vb.node]:
        a_node, b_node = va.node, vb.node
    else:
        a_node, b_node = c.need(node, va), c.need(node, vb)
    name = c.add(node, Add(), [a_node, b_node])
    c.set(node, Value(name, va.shape))


def _bias(c: Converter, node: NodeProto, act: str, const: str) -> None:
    """x + constant, folded into the bias of the dense or conv layer that computed x."""
    v = c.values[act]
    owner = c.origin.get(act)
    layer = c.layer(owner) if owner is not None else None
    value = c.const(node, list(node.input).index(const), "constant")
    if layer is None or c.uses.get(act, 0) != 1:
        raise c.fail(node, f"adds a constant of shape {value.shape} to an activation; xpusim "
                           "adds constants only as the bias of the Gemm, MatMul or Conv whose "
                           "output this is (and nothing else reads)")
    if isinstance(layer, Conv2d):
        full = value.reshape((1,) * (4 - value.ndim) + value.shape) if value.ndim <= 4 else value
        if full.ndim != 4 or full.shape[0] != 1 or full.shape[2:] != (1, 1):
            raise c.fail(node, f"adds a constant of shape {value.shape} to a convolution's "
                               f"output; a bias has one value per channel ({layer.filters}, 1, 1)")
        extra = per_output(c, node, full.reshape(-1), layer.filters, "constant")
    else:
        extra = per_output(c, node, value, layer.units, "constant")
    w, b = c.matrices[(owner, 0)]
    c.matrices[(owner, 0)] = [w, extra if b is None else b + extra]
    if not layer.bias:
        c.replace(owner, attrs.evolve(layer, bias=True))
    c.origin[node.output[0]] = owner
    c.set(node, v)
