"""NumPy reference twins of ``xpusim.numerics.formats`` kernels (written independently:
bit manipulation of float32 encodings rather than frexp arithmetic)."""

from __future__ import annotations

import numpy as np


def round_float(x, out, p, emin, max_finite, saturate):
    """Twin of ``formats.round_float``: round-to-nearest-even by integer ops on the encoding
    for normal targets, and by scaling for subnormal targets."""
    x = np.asarray(x, dtype=np.float32)
    bits = x.view(np.uint32).astype(np.uint64)
    sign = bits & np.uint64(0x80000000)
    mag = bits & np.uint64(0x7FFFFFFF)
    shift = 23 - p
    # Round-to-nearest-even on the magnitude's bit pattern (works across binade boundaries).
    if shift > 0:
        half = np.uint64(1 << (shift - 1))
        lsb = (mag >> np.uint64(shift)) & np.uint64(1)
        rounded = ((mag + half - np.uint64(1) + lsb) >> np.uint64(shift)) << np.uint64(shift)
    else:
        rounded = mag
    res = (rounded | sign).astype(np.uint32).view(np.float32).astype(np.float64)
    xa = np.abs(x.astype(np.float64))
    # Targets below the format's smallest normal: fixed quantum 2**(emin - p), ties to even.
    q = 2.0 ** (emin - p)
    sub = xa < 2.0 ** emin
    res = np.where(sub, np.copysign(np.round(xa / q) * q, x), res)
    too_big = np.abs(res) > max_finite
    res = np.where(too_big, np.copysign(max_finite if saturate else np.inf, x), res)
    res = np.where(np.isnan(x), x, res)
    res = np.where(x == 0, x, res)
    out[...] = res.astype(np.float32)


def round_float_stochastic(x, u, out, p, emin, max_finite, saturate):
    """Twin of ``formats.round_float_stochastic``: floor(|x|/q + u)·q with q the grid spacing."""
    x = np.asarray(x, dtype=np.float32)
    xa = np.abs(x.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.floor(np.log2(np.where(xa > 0, xa, 1.0)))
    # log2 can be off by one near powers of two; correct it exactly.
    e = np.where(np.exp2(e) > xa, e - 1, e)
    e = np.where(np.exp2(e + 1) <= xa, e + 1, e)
    q = np.exp2(np.maximum(e, emin) - p)
    with np.errstate(invalid="ignore", over="ignore"):  # inf / q: replaced just below
        r = np.floor(xa / q + u) * q
    r = np.where(np.isinf(xa), np.inf, r)
    r = np.where(r > max_finite, max_finite if saturate else np.inf, r)
    res = np.copysign(r, x)
    res = np.where(np.isnan(x) | (x == 0), x, res)
    out[...] = res.astype(np.float32)
