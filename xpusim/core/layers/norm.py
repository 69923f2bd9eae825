"""Normalisation layers: statistics and affine parameters kept in the digital periphery (fp32),
trained with the run's optimizer like biases; the work is ``elementwise``/``reduce`` rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from .base import Layer, Ops, Shape

EPS = np.float32(1e-5)
#: Ops per element: mean, variance (2), normalise (2), scale and shift (2).
FORWARD_ARRAYS, FORWARD_OPS = 2, 7
#: Backward: read the error and the normalised input, write the input error; the gain and
#: shift gradients are reductions folded into the same pass.
BACKWARD_ARRAYS, BACKWARD_OPS = 3, 9


def _normalize_backward(dxhat: np.ndarray, xhat: np.ndarray, inv: np.ndarray,
                        axes: tuple[int, ...]) -> np.ndarray:
    """Input error of x̂ = (x - mean) / std over ``axes``, given the error at x̂."""
    n = np.float32(np.prod([xhat.shape[a] for a in axes]))
    mean_d = dxhat.mean(axis=axes, keepdims=True)
    mean_dx = (dxhat * xhat).mean(axis=axes, keepdims=True)
    return ((dxhat - mean_d - xhat * mean_dx) * inv).astype(np.float32) if n else dxhat


@attrs.frozen
class LayerNorm(Layer):
    """Normalise each sample (or token) over its last axis, then scale and shift."""

    kind: ClassVar[str] = "layernorm"

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        return shapes[0]

    def params(self, shapes: Sequence[Shape], rng: np.random.Generator
               ) -> dict[str, np.ndarray]:
        d = shapes[0][-1]
        return {"gain": np.ones(d, np.float32), "shift": np.zeros(d, np.float32)}

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        x = xs[0]
        mean = x.mean(axis=-1, keepdims=True)
        inv = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + EPS)
        xhat = ((x - mean) * inv).astype(np.float32)
        ops.record(x.size, FORWARD_ARRAYS, FORWARD_OPS)
        return xhat * ops.param("gain") + ops.param("shift"), (xhat, inv)

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        xhat, inv = cache
        axes = tuple(range(dy.ndim - 1))
        ops.record(dy.size, BACKWARD_ARRAYS, BACKWARD_OPS)
        dx = _normalize_backward(dy * ops.param("gain"), xhat, inv, (dy.ndim - 1,)) \
            if need[0] else None
        ops.param_grad("gain", (dy * xhat).sum(axis=axes))
        ops.param_grad("shift", dy.sum(axis=axes))
        return [dx]


@attrs.frozen
class BatchNorm(Layer):
    """Normalise each channel (axis 0 of the sample) over the batch and positions; running
    statistics (momentum ``momentum``) replace batch statistics outside training."""

    kind: ClassVar[str] = "batchnorm"
    momentum: float = 0.1

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        return shapes[0]

    def params(self, shapes: Sequence[Shape], rng: np.random.Generator
               ) -> dict[str, np.ndarray]:
        c = shapes[0][0]
        return {"gain": np.ones(c, np.float32), "shift": np.zeros(c, np.float32),
                "running_mean": np.zeros(c, np.float32), "running_var": np.ones(c, np.float32)}

    @staticmethod
    def _axes(ndim: int) -> tuple[int, ...]:
        return (0, *range(2, ndim))

    @staticmethod
    def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
        return v.reshape(1, -1, *([1] * (ndim - 2)))

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        x = xs[0]
        axes = self._axes(x.ndim)
        pc = lambda v: self._per_channel(v, x.ndim)  # noqa: E731
        if ops.train:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            m = np.float32(self.momentum)
            rm, rv = ops.param("running_mean"), ops.param("running_var")
            n = x.size / x.shape[1]
            rm[...] = (1 - m) * rm + m * mean
            rv[...] = (1 - m) * rv + m * var * np.float32(n / max(n - 1, 1))
        else:
            mean, var = ops.param("running_mean"), ops.param("running_var")
        inv = (1.0 / np.sqrt(var + EPS)).astype(np.float32)
        xhat = ((x - pc(mean)) * pc(inv)).astype(np.float32)
        ops.record(x.size, FORWARD_ARRAYS, FORWARD_OPS)
        y = xhat * pc(ops.param("gain")) + pc(ops.param("shift"))
        return y.astype(np.float32), (xhat, pc(inv))

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        xhat, inv = cache
        axes = self._axes(dy.ndim)
        ops.record(dy.size, BACKWARD_ARRAYS, BACKWARD_OPS)
        gain = self._per_channel(ops.param("gain"), dy.ndim)
        dx = _normalize_backward(dy * gain, xhat, inv, axes) if need[0] else None
        ops.param_grad("gain", (dy * xhat).sum(axis=axes))
        ops.param_grad("shift", dy.sum(axis=axes))
        return [dx]

    #: running statistics are state, not trained parameters
    state = ("running_mean", "running_var")
