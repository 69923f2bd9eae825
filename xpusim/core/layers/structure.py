"""Layers that only reshape or merge: flatten and the residual add."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from .base import Layer, Ops, Shape


@attrs.frozen
class Flatten(Layer):
    """(C, H, W) -> (C·H·W,): a view, no work."""

    kind: ClassVar[str] = "flatten"

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        return (math.prod(shapes[0]),)

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        x = xs[0]
        return x.reshape(len(x), -1), x.shape

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        return [dy.reshape(cache) if need[0] else None]


@attrs.frozen
class Add(Layer):
    """Residual connection: the sum of two inputs of the same shape (one ``elementwise`` row:
    two arrays read, one written); the error reaches both inputs unchanged."""

    kind: ClassVar[str] = "add"
    arity: ClassVar[int] = 2

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        if shapes[0] != shapes[1]:
            from ..errors import XpusimError

            raise XpusimError(f"add: inputs of shapes {shapes[0]} and {shapes[1]} differ")
        return shapes[0]

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        y = xs[0] + xs[1]
        ops.record(y.size, 3, 1)
        return y, None

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        return [dy if need[0] else None, dy if need[1] else None]


@attrs.frozen
class Tokens(Layer):
    """(C, H, W) feature maps -> (H·W, C) tokens, one per position (a patch embedding's
    output as a sequence): a transpose, no work."""

    kind: ClassVar[str] = "tokens"

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        c, h, w = shapes[0]
        return (h * w, c)

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        x = xs[0]
        b, c = x.shape[:2]
        return np.ascontiguousarray(x.reshape(b, c, -1).transpose(0, 2, 1)), x.shape

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        if not need[0]:
            return [None]
        return [np.ascontiguousarray(dy.transpose(0, 2, 1)).reshape(cache)]
