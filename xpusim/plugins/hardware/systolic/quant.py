"""Tensors as the array holds them: integer codes with scales, or values rounded to a float
format, and the GEMM of two such operands.

Integer formats (int16/int8/int4/int2) are symmetric (levels -qmax..qmax, qmax = 2^(b-1)-1)
or, for activations, asymmetric (an unsigned grid with a zero point). Scales are max-abs
(dynamic, per tensor or per output channel). Ternary weights follow TWN (threshold 0.7 mean|w|,
scale = mean of the kept |w|; Li & Liu 2016); binary weights follow XNOR-Net (sign(w), scale =
mean|w|; Rastegari et al. 2016). Float formats reuse the shared bit-exact rounding kernels of
``xpusim.numerics.formats``; fp8 operands are scaled per tensor into the format's range first
(as fp8 training recipes do), the other float formats are not scaled.
"""

from __future__ import annotations

import attrs
import numpy as np

from xpusim.core import KernelSet

from .params import FLOAT_BITS, INT_BITS

TWN_THRESHOLD = 0.7  # Li & Liu 2016, "Ternary Weight Networks": delta = 0.7 E|w|
SCALED_FLOATS = ("fp8-e4m3", "fp8-e5m2")


@attrs.frozen
class QTensor:
    """``codes`` (float32; integers for integer formats, zero point already subtracted) times
    ``scale`` (one per column, float32) is the value the array computes with."""

    codes: np.ndarray
    scale: np.ndarray
    fmt: str
    max_code: float  # largest |code| the format allows (bounds products for exact GEMMs)

    def value(self) -> np.ndarray:
        return np.multiply(self.codes, self.scale[None, :], dtype=np.float32)


def int_range(fmt: str, signed: bool = True) -> tuple[float, float]:
    """(qmin, qmax) of a symmetric signed grid, or of the unsigned grid for asymmetric use."""
    bits = INT_BITS[fmt]
    if fmt == "binary":
        return -1.0, 1.0
    if not signed:
        return 0.0, float((1 << bits) - 1)
    qmax = float((1 << (bits - 1)) - 1)
    return -qmax, qmax


def _scales(x: np.ndarray, top: float, per_column: bool) -> np.ndarray:
    amax = np.abs(x).max(axis=0) if per_column else np.full(x.shape[1], np.abs(x).max())
    amax = np.where(amax > 0, amax, 1.0).astype(np.float32)
    return (amax / np.float32(top)).astype(np.float32)


def quantize(x: np.ndarray, fmt: str, kernels: KernelSet, *, per_column: bool = False,
             symmetric: bool = True, stochastic: bool = False,
             rng: np.random.Generator | None = None,
             scale: np.ndarray | None = None) -> QTensor:
    """``x`` (2-D) in ``fmt``: codes and scales as the array would receive them. ``scale``
    pins the grid (weights kept on a fixed grid between low-precision updates)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    ones = np.ones(x.shape[1], np.float32)
    if fmt in FLOAT_BITS:
        from xpusim.numerics.formats import FLOAT_FORMATS  # numba: loaded by the first run

        f = FLOAT_FORMATS[fmt]
        s = _scales(x, f.max_finite, False) if fmt in SCALED_FLOATS else ones
        y = x / s[None, :] if fmt in SCALED_FLOATS else x
        codes = (kernels.round_float_stochastic_array(y, fmt, rng) if stochastic
                 else kernels.round_float_array(y, fmt))
        return QTensor(codes, s, fmt, float(f.max_finite))
    if fmt == "ternary":
        return _ternary(x, per_column)
    if fmt == "binary":
        mean_abs = np.abs(x).mean(axis=0) if per_column else np.full(x.shape[1], np.abs(x).mean())
        codes = np.where(x >= 0, np.float32(1), np.float32(-1)).astype(np.float32)
        return QTensor(codes, np.maximum(mean_abs, 1e-12).astype(np.float32), fmt, 1.0)
    if symmetric:
        qmin, qmax = int_range(fmt)
        s = scale if scale is not None else _scales(x, qmax, per_column)
        zero = np.float32(0)
    else:  # asymmetric: unsigned grid over [min, max] (min clamped to <= 0), per tensor
        qmin, qmax = int_range(fmt, signed=False)
        lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
        s = np.full(x.shape[1], max(hi - lo, 1e-30) / qmax, np.float32)
        zero = np.float32(np.rint(-lo / s[0]))
    u = rng.random(x.shape, dtype=np.float32) if stochastic else None
    codes = kernels.quantize_codes(x, s, zero, qmin, qmax, u)
    if zero:
        codes -= zero
    return QTensor(codes, s, fmt, float(max(qmax - zero, zero - qmin)))


def _ternary(x: np.ndarray, per_column: bool) -> QTensor:
    axis = 0 if per_column else None
    delta = TWN_THRESHOLD * np.abs(x).mean(axis=axis, keepdims=per_column)
    keep = np.abs(x) > delta
    kept = np.where(keep, np.abs(x), 0.0).sum(axis=axis) / np.maximum(keep.sum(axis=axis), 1)
    scale = np.broadcast_to(np.asarray(kept, np.float32), (x.shape[1],)).astype(np.float32)
    codes = (np.sign(x) * keep).astype(np.float32)
    return QTensor(codes, np.maximum(scale, 1e-12).astype(np.float32), "ternary", 1.0)


def gemm(a: QTensor, b: QTensor, kernels: KernelSet, fold: int, acc_bits: int) -> np.ndarray:
    """a @ b as the array computes it, dequantized to float32. ``a`` must have one scale (per
    tensor); ``b`` may scale each output column. Integer operands accumulate exactly in a
    saturating ``acc_bits`` accumulator, fold by fold; float operands in fp32."""
    sa = a.scale[0]
    if a.fmt in INT_BITS and b.fmt in INT_BITS:
        from .compute import exact_chunk  # numba: loaded by the first run

        chunk = exact_chunk(a.max_code * b.max_code, fold)
        acc = kernels.int_gemm(a.codes, b.codes, chunk, acc_bits)
        return (acc.astype(np.float64) * (float(sa) * b.scale[None, :].astype(np.float64))
                ).astype(np.float32)
    return ((a.codes @ b.codes) * (sa * b.scale[None, :])).astype(np.float32)
