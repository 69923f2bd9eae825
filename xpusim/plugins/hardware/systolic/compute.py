"""Systolic-array numerics kernels: integer quantization and saturating integer accumulation.

Integer GEMMs are exact: operands are integers held in float32 and the array's reduction is
split into chunks of at most ``array_rows`` terms (one fold of a weight-stationary array) whose
sums stay below 2^24, so float32 BLAS adds them without rounding. Each chunk's partial sum then
enters the accumulator (int64 here) and saturates to the spec's ``accumulator_bits``, as the
accumulator memory does once per fold.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

EXACT_FLOAT32 = 1 << 24  # every integer of magnitude <= 2^24 is exact in float32
EXACT_FLOAT64 = 1 << 53  # ... and <= 2^53 in float64 (int16 x int16 products need it)


PARALLEL_MIN_ELEMENTS = 1 << 16  # below this, thread start-up costs more than it saves


@njit(cache=True, inline="always")
def _quantize_row(x, u, scale, zero, qmin, qmax, out, i):
    """Row ``i``: round half to even (``u`` empty) or stochastically (floor(v + u))."""
    for j in range(x.shape[1]):
        v = x[i, j] / scale[j]
        v = np.rint(v) if u.size == 0 else np.floor(v + u[i, j])
        out[i, j] = min(max(v + zero, qmin), qmax)


@njit(cache=True)
def quantize_int(x, u, scale, zero, qmin, qmax, out):
    """out[i, j] = clip(round(x[i, j] / scale[j]) + zero, qmin, qmax).

    ``x`` float32 (rows x cols); ``scale`` float32 per column (a per-tensor scale is a
    constant vector); ``zero``/``qmin``/``qmax`` float32; ``out`` float32, integer-valued.
    ``u`` empty: round half to even; else stochastic rounding floor(x / scale + u) with the
    uniform draws ``u`` in [0, 1) supplied by the caller (so the twin sees the same numbers)."""
    for i in range(x.shape[0]):
        _quantize_row(x, u, scale, zero, qmin, qmax, out, i)


@njit(cache=True, parallel=True)
def quantize_int_parallel(x, u, scale, zero, qmin, qmax, out):
    """``quantize_int`` with rows spread over threads, for large tensors."""
    for i in prange(x.shape[0]):
        _quantize_row(x, u, scale, zero, qmin, qmax, out, i)


@njit(cache=True, inline="always")
def _accumulate_row(acc, partial, lo, hi, i):
    for j in range(acc.shape[1]):
        acc[i, j] = min(max(acc[i, j] + np.int64(partial[i, j]), lo), hi)


@njit(cache=True)
def accumulate_saturate(acc, partial, lo, hi):
    """acc = clip(acc + partial, lo, hi): one fold's exact partial sums (float32 holding
    integers) added into int64 accumulators that saturate at the accumulator's range."""
    for i in range(acc.shape[0]):
        _accumulate_row(acc, partial, lo, hi, i)


@njit(cache=True, parallel=True)
def accumulate_saturate_parallel(acc, partial, lo, hi):
    """``accumulate_saturate`` with rows spread over threads, for large outputs."""
    for i in prange(acc.shape[0]):
        _accumulate_row(acc, partial, lo, hi, i)


def exact_chunk(max_product: float, fold: int) -> int:
    """Largest reduction chunk (<= ``fold``) whose sums of products stay exact in the float
    type ``exact_dtype(max_product)`` picks."""
    limit = EXACT_FLOAT32 if max_product <= EXACT_FLOAT32 else EXACT_FLOAT64
    return int(max(1, min(fold, limit // max(1, int(max_product)))))


def exact_dtype(max_product: float) -> type:
    """float32 when one product fits its 24-bit significand, else float64 (exact to 2^53)."""
    return np.float32 if max_product <= EXACT_FLOAT32 else np.float64


def _exact_sum(a: np.ndarray, b: np.ndarray, step: int) -> np.ndarray:
    """a @ b exactly: float passes of at most ``step`` reduction terms, added in float64."""
    k = a.shape[1]
    if step >= k:
        return a @ b
    total = np.zeros((a.shape[0], b.shape[1]), dtype=np.float64)
    for k0 in range(0, k, step):
        total += np.ascontiguousarray(a[:, k0:k0 + step]) @ b[k0:k0 + step]
    return total


def int_gemm(a: np.ndarray, b: np.ndarray, chunk: int, acc_bits: int) -> np.ndarray:
    """a (M x K) @ b (K x N) of integer-valued float32 operands in an ``acc_bits``-wide
    saturating accumulator, one fold of ``chunk`` reduction terms at a time; int64 result.

    Each fold's sum is exact: float32 passes of at most 2^24 / (max|a| x max|b|) terms,
    float64 when one product is wider than 2^24 (int16 x int16). When K x max|a| x max|b|
    fits the accumulator no fold can saturate, so the folds are not visited one by one:
    same integers, faster; the twin checks it against the fold-by-fold definition."""
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    k = a.shape[1]
    max_product = float(np.abs(a).max(initial=0.0)) * float(np.abs(b).max(initial=0.0))
    if exact_dtype(max_product) is np.float64:
        a, b = a.astype(np.float64), b.astype(np.float64)
    step = exact_chunk(max_product, k)
    if k * max_product <= hi:
        return _exact_sum(a, b, step).astype(np.int64)
    acc = np.zeros((a.shape[0], b.shape[1]), dtype=np.int64)
    add = accumulate_saturate_parallel if acc.size >= PARALLEL_MIN_ELEMENTS else \
        accumulate_saturate
    for k0 in range(0, k, chunk):
        partial = _exact_sum(np.ascontiguousarray(a[:, k0:k0 + chunk]), b[k0:k0 + chunk], step)
        add(acc, partial, lo, hi)
    return acc


def quantize_codes(x: np.ndarray, scale: np.ndarray, zero: float, qmin: float, qmax: float,
                   u: np.ndarray | None = None) -> np.ndarray:
    """Integer codes of ``x`` (float32), by the serial or parallel kernel depending on size."""
    out = np.empty_like(x)
    kernel = quantize_int_parallel if x.size >= PARALLEL_MIN_ELEMENTS else quantize_int
    kernel(x, NO_DRAWS if u is None else u, scale, np.float32(zero), np.float32(qmin),
           np.float32(qmax), out)
    return out


NO_DRAWS = np.zeros((0, 0), dtype=np.float32)
