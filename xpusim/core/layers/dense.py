"""Fully connected layer: y = x . W + b over the last axis (per sample, or per token)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import attrs
import numpy as np

from .base import Layer, Matrix, Ops, Shape, initial_weights


@attrs.frozen
class Dense(Layer):
    """``units`` outputs; the weight matrix is (last input axis) x ``units``; ``init_kind``
    one of ``base.INITS``."""

    kind: ClassVar[str] = "dense"
    units: int
    bias: bool = True
    init_kind: Literal["he", "glorot", "uniform"] = "he"

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        return (*shapes[0][:-1], self.units)

    def matrices(self, shapes: Sequence[Shape]) -> tuple[Matrix, ...]:
        return (Matrix(shapes[0][-1], self.units, self.bias),)

    def init(self, slot: int, matrix: Matrix, rng: np.random.Generator) -> np.ndarray:
        return initial_weights(self.init_kind, matrix, rng)

    def macs(self, shapes: Sequence[Shape]) -> int:
        return math.prod(shapes[0]) * self.units

    def describe(self) -> str:
        return f"dense {self.units}"

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        x = xs[0]
        p = x.reshape(-1, x.shape[-1])
        z = ops.mvm(0, p)
        return z.reshape(*x.shape[:-1], self.units), (p, x.shape)

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        p, shape = cache
        dz = dy.reshape(-1, self.units)
        dx = ops.propagate(0, dz).reshape(shape) if need[0] else None
        ops.update(0, p, -dz)
        return [dx]

    def rows(self, cache: Any, slot: int = 0) -> np.ndarray:
        return cache[0]
