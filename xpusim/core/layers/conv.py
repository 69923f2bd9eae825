"""2-D convolution lowered by im2col to one product: patches (B·Ho·Wo x C·kh·kw) . W.

This is the mapping crossbar simulators use (aihwkit's AnalogConv2d unfolds its input;
NeuroSim prices a conv layer as output positions x tile reads) and what GPUs and systolic
arrays run as an implicit GEMM: ``mvm`` with M = batch x output positions. The error at the
input is the transposed product of the output errors, folded back onto the image (col2im);
the weight change takes the patches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import attrs
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Layer, Matrix, Ops, Shape, initial_weights


def out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output positions along one axis (floor((size + 2 padding - kernel) / stride) + 1)."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(x: np.ndarray, kh: int, kw: int, stride: int, padding: int) -> np.ndarray:
    """(B, C, H, W) -> patches (B·Ho·Wo, C·kh·kw), rows in (b, ho, wo) order, columns in
    (c, i, j) order (PyTorch's weight layout (C_out, C, kh, kw) flattened)."""
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    b, c, ho, wo = win.shape[:4]
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(b * ho * wo,
                                                                         c * kh * kw)


def col2im(cols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, stride: int,
           padding: int) -> np.ndarray:
    """Adjoint of ``im2col``: sum each patch row back onto the (B, C, H, W) image."""
    b, c, h, w = shape
    ho, wo = out_size(h, kh, stride, padding), out_size(w, kw, stride, padding)
    patches = cols.reshape(b, ho, wo, c, kh, kw)
    out = np.zeros((b, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride] += \
                patches[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    if padding:
        out = out[:, :, padding:padding + h, padding:padding + w]
    return np.ascontiguousarray(out)


@attrs.frozen
class Conv2d(Layer):
    """``filters`` kernels of ``kernel`` x ``kernel`` over (C, H, W) inputs; the device holds
    one (C·k·k) x filters matrix."""

    kind: ClassVar[str] = "conv2d"
    filters: int
    kernel: int
    stride: int = 1
    padding: int = 0
    bias: bool = True
    init_kind: Literal["he", "glorot", "uniform"] = "he"

    def init(self, slot: int, matrix: Matrix, rng: np.random.Generator) -> np.ndarray:
        return initial_weights(self.init_kind, matrix, rng)

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        c, h, w = shapes[0]
        return (self.filters, out_size(h, self.kernel, self.stride, self.padding),
                out_size(w, self.kernel, self.stride, self.padding))

    def matrices(self, shapes: Sequence[Shape]) -> tuple[Matrix, ...]:
        c = shapes[0][0]
        return (Matrix(c * self.kernel * self.kernel, self.filters, self.bias),)

    def macs(self, shapes: Sequence[Shape]) -> int:
        f, ho, wo = self.out_shape(shapes)
        return ho * wo * f * shapes[0][0] * self.kernel * self.kernel

    def describe(self) -> str:
        return (f"conv2d {self.filters}x{self.kernel}x{self.kernel} s{self.stride} "
                f"p{self.padding}")

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        x = xs[0]
        b = x.shape[0]
        _, ho, wo = self.out_shape([x.shape[1:]])
        p = im2col(x, self.kernel, self.kernel, self.stride, self.padding)
        z = ops.mvm(0, p)
        y = np.ascontiguousarray(z.reshape(b, ho, wo, self.filters).transpose(0, 3, 1, 2))
        return y, (p, x.shape)

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        p, shape = cache
        dz = np.ascontiguousarray(dy.transpose(0, 2, 3, 1)).reshape(-1, self.filters)
        dx = None
        if need[0]:
            dp = ops.propagate(0, dz)
            dx = col2im(dp, shape, self.kernel, self.kernel, self.stride, self.padding)
        ops.update(0, p, -dz)
        return [dx]

    def rows(self, cache: Any, slot: int = 0) -> np.ndarray:
        return cache[0]

    @staticmethod
    def positions(shape: Shape, kernel: int, stride: int, padding: int) -> int:
        return math.prod(out_size(s, kernel, stride, padding) for s in shape[1:])
