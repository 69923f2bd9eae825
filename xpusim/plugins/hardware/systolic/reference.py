"""NumPy reference twins of the systolic numerics kernels (plain integer arithmetic)."""

from __future__ import annotations

import numpy as np


def quantize_int(x, u, scale, zero, qmin, qmax, out):
    """Twin of ``compute.quantize_int`` (and ``quantize_int_parallel``)."""
    v = x / scale[None, :]
    v = np.rint(v) if u.size == 0 else np.floor(v + u)
    out[...] = np.clip(v + zero, qmin, qmax)


def accumulate_saturate(acc, partial, lo, hi):
    """Twin of ``compute.accumulate_saturate``."""
    acc[...] = np.clip(acc + partial.astype(np.int64), lo, hi)


def int_gemm(a, b, chunk, acc_bits):
    """Twin of ``compute.int_gemm``: int64 matmul per fold, saturating after each."""
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    ai, bi = a.astype(np.int64), b.astype(np.int64)
    acc = np.zeros((a.shape[0], b.shape[1]), dtype=np.int64)
    for k0 in range(0, a.shape[1], chunk):
        acc = np.clip(acc + ai[:, k0:k0 + chunk] @ bi[k0:k0 + chunk], lo, hi)
    return acc
