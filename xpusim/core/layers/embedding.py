"""Token embedding (+ learned positions): a lookup table in the digital periphery.

The table is read by row (a gather: ``elementwise`` rows of memory traffic, no products) and
trained by scattering the errors into the rows that were read, with the run's optimizer, as
biases are; crossbars and systolic arrays hold only the model's weight matrices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from .base import Layer, Ops, Shape

INIT_STD = 0.02  # GPT-2's embedding initialisation (Radford et al. 2019)


@attrs.frozen
class Embedding(Layer):
    """``vocab`` x ``dim`` table for (T,) token ids -> (T, dim); with ``positions`` > 0 a
    learned position table of ``positions`` x ``dim`` is added."""

    kind: ClassVar[str] = "embedding"
    vocab: int
    dim: int
    positions: int = 0

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        return (*shapes[0], self.dim)

    def describe(self) -> str:
        return f"embedding {self.vocab}x{self.dim}" + (
            f" + positions {self.positions}" if self.positions else "")

    def params(self, shapes: Sequence[Shape], rng: np.random.Generator
               ) -> dict[str, np.ndarray]:
        out = {"table": (rng.standard_normal((self.vocab, self.dim)) * INIT_STD
                         ).astype(np.float32)}
        if self.positions:
            out["positions"] = (rng.standard_normal((self.positions, self.dim)) * INIT_STD
                                ).astype(np.float32)
        return out

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        ids = xs[0]
        y = ops.param("table")[ids]
        ops.record(y.size, 2, 0)  # gather: read the rows, write the activations
        if self.positions:
            y = y + ops.param("positions")[: ids.shape[-1]]
            ops.record(y.size, 3, 1)
        return y, ids

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        ids = cache
        grad = np.zeros((self.vocab, self.dim), np.float32)
        np.add.at(grad, ids.reshape(-1), dy.reshape(-1, self.dim))
        ops.record(dy.size, 2, 1)  # scatter-add into the rows read
        ops.param_grad("table", grad)
        if self.positions:
            pos = np.zeros((self.positions, self.dim), np.float32)
            pos[: ids.shape[-1]] = dy.sum(axis=0)
            ops.record(dy.size, 1, 1, "reduce")
            ops.param_grad("positions", pos)
        return [None]  # token ids carry no error


@attrs.frozen
class AddPositions(Layer):
    """A learned position table of ``positions`` x D added to (T, D) tokens (a vision
    transformer's patch tokens)."""

    kind: ClassVar[str] = "positions"
    positions: int

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        t, d = shapes[0]
        if t > self.positions:
            from ..errors import XpusimError

            raise XpusimError(f"{t} tokens exceed the {self.positions} learned positions")
        return shapes[0]

    def params(self, shapes: Sequence[Shape], rng: np.random.Generator
               ) -> dict[str, np.ndarray]:
        d = shapes[0][-1]
        return {"positions": (rng.standard_normal((self.positions, d)) * INIT_STD
                              ).astype(np.float32)}

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        x = xs[0]
        y = x + ops.param("positions")[: x.shape[1]]
        ops.record(y.size, 3, 1)
        return y, x.shape

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        pos = np.zeros_like(ops.param("positions"))
        pos[: dy.shape[1]] = dy.sum(axis=0)
        ops.record(dy.size, 1, 1, "reduce")
        ops.param_grad("positions", pos)
        return [dy if need[0] else None]
