"""Max and average pooling over non-overlapping or strided windows, and global average
pooling: weight-free work in the digital periphery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import attrs
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Layer, Ops, Shape
from .conv import out_size


@attrs.frozen
class Pool2d(Layer):
    """``mode`` pooling of (C, H, W) over ``size`` x ``size`` windows every ``stride``
    (default: ``size``). One ``elementwise`` row: each output reads its window and is
    written once; ``size²`` ops each."""

    kind: ClassVar[str] = "pool"
    mode: Literal["max", "avg"]
    size: int
    stride: int | None = None

    @property
    def step(self) -> int:
        return self.stride or self.size

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        c, h, w = shapes[0]
        return (c, out_size(h, self.size, self.step, 0), out_size(w, self.size, self.step, 0))

    def describe(self) -> str:
        return f"{self.mode}pool {self.size}" + (f" s{self.stride}" if self.stride else "")

    def _windows(self, x: np.ndarray) -> np.ndarray:
        return sliding_window_view(x, (self.size, self.size), axis=(2, 3))[
            :, :, ::self.step, ::self.step]

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        x = xs[0]
        win = self._windows(x)
        area = self.size * self.size
        if self.mode == "max":
            flat = win.reshape(*win.shape[:4], area)
            arg = flat.argmax(axis=-1)
            y = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
            cache = (arg, x.shape)
        else:
            y = win.mean(axis=(-2, -1), dtype=np.float32)
            cache = (None, x.shape)
        y = np.ascontiguousarray(y, dtype=np.float32)
        ops.record(y.size, area + 1, area)
        return y, cache

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        if not need[0]:
            return [None]
        arg, shape = cache
        b, c, h, w = shape
        ho, wo = dy.shape[2], dy.shape[3]
        dx = np.zeros(shape, dtype=np.float32)
        area = self.size * self.size
        for i in range(self.size):
            for j in range(self.size):
                if arg is None:
                    part = dy / np.float32(area)
                else:
                    part = np.where(arg == i * self.size + j, dy, np.float32(0.0))
                dx[:, :, i:i + self.step * ho:self.step, j:j + self.step * wo:self.step] += part
        ops.record(dy.size, area + 1, area)
        return [dx]


@attrs.frozen
class GlobalAvgPool(Layer):
    """Mean over all positions of (C, H, W) -> (C,), or of (T, D) tokens -> (D,)."""

    kind: ClassVar[str] = "global-avg-pool"

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        s = shapes[0]
        return (s[0],) if len(s) == 3 else (s[-1],)

    def _axes(self, ndim: int) -> tuple[int, ...]:
        return (2, 3) if ndim == 4 else (1,)

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        x = xs[0]
        y = x.mean(axis=self._axes(x.ndim), dtype=np.float32)
        ops.record(x.size, 1, 1, "reduce")
        return y, x.shape

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        if not need[0]:
            return [None]
        shape = cache
        count = np.float32(np.prod([shape[a] for a in self._axes(len(shape))]))
        if len(shape) == 4:
            dx = np.broadcast_to((dy / count)[:, :, None, None], shape)
        else:
            dx = np.broadcast_to((dy / count)[:, None, :], shape)
        ops.record(int(np.prod(shape)), 1, 1)
        return [np.ascontiguousarray(dx)]
