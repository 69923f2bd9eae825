"""Elementwise nonlinearities (relu, gelu, tanh, sigmoid) and softmax over the last axis,
run in the digital periphery (``elementwise`` rows)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from .base import Layer, Ops, Shape

ACTIVATIONS = ("relu", "gelu", "tanh", "sigmoid")
#: Digital ops per element, forward (relu, tanh and sigmoid as one table-lookup op each;
#: GELU's tanh approximation about 8).
FORWARD_OPS = {"relu": 1, "gelu": 8, "tanh": 1, "sigmoid": 1}
BACKWARD_ARRAYS, BACKWARD_OPS = 3, 2
_GELU_C = np.float32(math.sqrt(2.0 / math.pi))


def activate(kind: str, z: np.ndarray) -> np.ndarray:
    """f(z) for ``kind`` in ``ACTIVATIONS``."""
    if kind == "relu":
        return np.maximum(z, 0.0)
    if kind == "tanh":
        return np.tanh(z)
    if kind == "gelu":
        return 0.5 * z * (1.0 + np.tanh(_GELU_C * (z + np.float32(0.044715) * z * z * z)))
    return 1.0 / (1.0 + np.exp(-z))


def derivative(kind: str, z: np.ndarray | None, h: np.ndarray) -> np.ndarray:
    """f'(z); relu, tanh and sigmoid from the output h alone, gelu from z."""
    if kind == "relu":
        return (h > 0).astype(h.dtype)
    if kind == "tanh":
        return 1.0 - h * h
    if kind == "sigmoid":
        return h * (1.0 - h)
    t = np.tanh(_GELU_C * (z + np.float32(0.044715) * z * z * z))
    dt = (1.0 - t * t) * _GELU_C * (1.0 + np.float32(3 * 0.044715) * z * z)
    return 0.5 * (1.0 + t) + 0.5 * z * dt


@attrs.frozen
class Activation(Layer):
    """An elementwise nonlinearity. Keeps its output for the backward pass (its input only
    for gelu, whose derivative needs it)."""

    kind: ClassVar[str] = "activation"
    fn: str = attrs.field(validator=attrs.validators.in_(ACTIVATIONS))

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        return shapes[0]

    def describe(self) -> str:
        return self.fn

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        z = xs[0]
        custom = ops.activation(self.fn, z)
        if custom is not None:  # a learning rule's own hidden response (Hebbian readouts)
            h, n_ops = custom
        else:
            h, n_ops = activate(self.fn, z), FORWARD_OPS[self.fn]
        ops.record(z.size, 2, n_ops)
        return h, (z if self.fn == "gelu" else h)

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        if not need[0]:
            return [None]
        if self.fn == "gelu":
            grad = dy * derivative("gelu", cache, cache)
        else:
            grad = dy * derivative(self.fn, None, cache)
        ops.record(dy.size, BACKWARD_ARRAYS, BACKWARD_OPS)
        return [grad]


@attrs.frozen
class Softmax(Layer):
    """Softmax over the last axis (a layer of its own where a model needs probabilities
    inside the network; the loss applies its own)."""

    kind: ClassVar[str] = "softmax"

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        return shapes[0]

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        p = softmax(xs[0])
        ops.record(p.size, 2, SOFTMAX_OPS)
        return p, p

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        if not need[0]:
            return [None]
        ops.record(dy.size, 3, SOFTMAX_OPS - 1)
        return [softmax_backward(cache, dy)]


SOFTMAX_OPS = 5  # max, subtract, exp, sum, divide


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (max-subtracted; the reductions as ufunc calls, the numbers
    of ``z.max`` and ``e.sum``)."""
    z = z - np.maximum.reduce(z, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / np.add.reduce(e, axis=-1, keepdims=True)


def softmax_backward(p: np.ndarray, dp: np.ndarray) -> np.ndarray:
    """d loss / d z for p = softmax(z) and d loss / d p = dp."""
    return p * (dp - (dp * p).sum(axis=-1, keepdims=True))


@attrs.frozen
class SwiGLU(Layer):
    """Gated linear unit with SiLU (Shazeer 2020): the last axis holds the gate and the
    value halves, output silu(gate) x value (the fused gate/up projection of Llama MLPs)."""

    kind: ClassVar[str] = "swiglu"

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        *rest, two_f = shapes[0]
        return (*rest, two_f // 2)

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        x = xs[0]
        f = x.shape[-1] // 2
        gate, value = x[..., :f], x[..., f:]
        sig = 1.0 / (1.0 + np.exp(-gate))
        out = (gate * sig * value).astype(np.float32)
        ops.record(out.size, 3, FORWARD_OPS["gelu"])
        return out, (gate, value, sig)

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        if not need[0]:
            return [None]
        gate, value, sig = cache
        silu = gate * sig
        dgate = dy * value * (sig * (1.0 + gate * (1.0 - sig)))
        ops.record(dy.size, 4, FORWARD_OPS["gelu"])
        return [np.concatenate([dgate, dy * silu], axis=-1).astype(np.float32)]
