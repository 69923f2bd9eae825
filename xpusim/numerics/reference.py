"""NumPy reference twins of ``xpusim.numerics.formats`` kernels (written independently:
bit manipulation of float32 encodings rather than frexp arithmetic)."""

from __future__ import annotations

import numpy as np

from xpusim.numerics import gauss


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


# -- counter-based normals (twin of xpusim.numerics.gauss) ----------------------------------------

_M64 = (1 << 64) - 1
_GOLDEN, _MIX1, _MIX2, _SALT = (int(c) for c in (gauss.GOLDEN, gauss.MIX1, gauss.MIX2,
                                                 gauss.SALT))


def _mix_words(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer on a uint64 array (NumPy integer arithmetic wraps mod 2^64)."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(_MIX1)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(_MIX2)
    return z ^ (z >> np.uint64(31))


def _mix_int(z: int) -> int:
    """SplitMix64 finalizer on a Python int (explicit mod 2^64)."""
    z ^= z >> 30
    z = (z * _MIX1) & _M64
    z ^= z >> 27
    z = (z * _MIX2) & _M64
    return z ^ (z >> 31)


def _slow_normal(h: int, k, w, f) -> float:
    """One half-word that missed the ziggurat's fast path, in plain Python (its own loop)."""
    seed = _mix_int(h ^ _SALT)
    used = 0  # words of the slow-path stream used so far

    def next_word() -> int:
        nonlocal used
        used += 1
        return _mix_int((seed + used * _GOLDEN) & _M64)

    def uniform() -> float:
        return (next_word() >> 11) / 2.0 ** 53

    idx, sign, mag = h & 0xFF, (h >> 8) & 1, h >> 9
    while True:
        x = -mag * w[idx] if sign else mag * w[idx]
        if idx == 0:
            while True:
                xx = -np.log1p(-uniform()) / gauss.R
                yy = -np.log1p(-uniform())
                if yy + yy > xx * xx:
                    return -(gauss.R + xx) if sign else gauss.R + xx
        if (f[idx - 1] - f[idx]) * uniform() + f[idx] < np.exp(-0.5 * x * x):
            return x
        h = next_word() & 0xFFFFFFFF
        idx, sign, mag = h & 0xFF, (h >> 8) & 1, h >> 9
        if mag < int(k[idx]):
            return -mag * w[idx] if sign else mag * w[idx]


def fill_normal(key, out):
    """Twin of ``gauss.fill_normal``: the fast path vectorised over the 32-bit halves of the
    stream's words (low half first), the ~1 % slow draws one by one."""
    n = out.size
    words = _mix_words(np.uint64(key) + np.arange(1, (n + 1) // 2 + 1, dtype=np.uint64)
                       * np.uint64(_GOLDEN))
    h = np.stack([words & np.uint64(0xFFFFFFFF), words >> np.uint64(32)], axis=1).reshape(-1)[:n]
    idx = (h & np.uint64(0xFF)).astype(np.intp)
    sign = ((h >> np.uint64(8)) & np.uint64(1)).astype(bool)
    mag = h >> np.uint64(9)
    x = mag.astype(np.float64) * gauss.WI[idx]
    x = np.where(sign, -x, x)
    for s in np.flatnonzero(mag >= gauss.KI[idx]):
        x[s] = _slow_normal(int(h[s]), gauss.KI, gauss.WI, gauss.FI)
    out.reshape(-1)[...] = x


def quantize_uniform(x, out, bits, scale):
    """Twin of ``uniform.quantize``, vectorised."""
    levels = 2.0 ** (bits - 1) - 1.0
    if scale <= 0.0:
        out[...] = 0.0
        return
    v = x.astype(np.float64) / scale * levels
    a = np.minimum(np.floor(np.abs(v) + 0.5), levels)
    r = np.where(np.isnan(v), 0.0, np.where(v >= 0, a, -a))
    out[...] = (r / levels * scale).astype(np.float32)
