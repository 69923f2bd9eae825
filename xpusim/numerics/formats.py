"""Floating-point formats and bit-exact rounding into them (numba kernels).

A format is (mantissa bits p, minimum normal exponent emin, largest finite value, saturate).
Rounding is round-to-nearest-even at p fraction bits with gradual underflow (subnormals) below
2**emin; values beyond the largest finite either saturate (``satfinite``: FP8 E4M3, which has
no infinity, as in NVIDIA Transformer Engine / OCP FP8 spec) or overflow to ±inf (IEEE-style:
fp16, bf16, tf32, E5M2). NaN stays NaN, ±0 keeps its sign.
Sources: IEEE 754-2019 (binary16/32); Google bfloat16; NVIDIA TF32 (A100 whitepaper 2020);
OCP 8-bit Floating Point Specification (OFP8) rev 1.0, 2023 (E4M3 max 448, E5M2 max 57344).
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from numba import njit, prange


@attrs.frozen
class FloatFormat:
    """An IEEE-like binary floating-point format."""

    name: str
    mantissa_bits: int  # fraction bits (excluding the implicit 1)
    exponent_bits: int
    max_finite: float
    saturate: bool  # overflow -> ±max_finite (True) or ±inf (False)

    @property
    def bias(self) -> int:
        return 2 ** (self.exponent_bits - 1) - 1

    @property
    def emin(self) -> int:
        return 1 - self.bias

    @property
    def bits(self) -> int:
        return 1 + self.exponent_bits + self.mantissa_bits

    def kernel_args(self) -> tuple[int, int, float, bool]:
        return self.mantissa_bits, self.emin, self.max_finite, self.saturate


FLOAT_FORMATS: dict[str, FloatFormat] = {
    f.name: f for f in (
        FloatFormat("fp32", 23, 8, float(np.finfo(np.float32).max), False),
        FloatFormat("tf32", 10, 8, float(2.0 ** 127 * (2 - 2.0 ** -10)), False),
        FloatFormat("bf16", 7, 8, float(2.0 ** 127 * (2 - 2.0 ** -7)), False),
        FloatFormat("fp16", 10, 5, 65504.0, False),
        FloatFormat("fp8-e4m3", 3, 4, 448.0, True),
        FloatFormat("fp8-e5m2", 2, 5, 57344.0, False),
    )
}


@njit(cache=True, inline="always")
def _round_one(v, p, emin, max_finite, saturate):
    """One float64 value rounded to the format (see ``round_float``)."""
    if v != v or v == 0.0:  # NaN or ±0 unchanged
        return v
    a = abs(v)
    if a == math.inf:
        r = max_finite if saturate else math.inf
    else:
        frac, e2 = math.frexp(a)  # a = frac * 2**e2, frac in [0.5, 1)
        e = max(e2 - 1, emin)
        q = math.ldexp(1.0, e - p)
        r = np.rint(a / q) * q
        if r > max_finite:
            r = max_finite if saturate else math.inf
    return r if v > 0 else -r


@njit(cache=True)
def round_float(x, out, p, emin, max_finite, saturate):
    """Round each element of ``x`` (float32, any shape flattened) to the format, into ``out``.

    Round-to-nearest-even at ``p`` fraction bits; quantum 2**(max(e, emin) - p) where e is the
    element's binary exponent; overflow saturates or gives ±inf. Serial: small arrays (the
    common case in training loops) pay no thread start-up.
    """
    xf = x.ravel()
    of = out.ravel()
    for i in range(xf.size):
        of[i] = np.float32(_round_one(np.float64(xf[i]), p, emin, max_finite, saturate))


@njit(cache=True, parallel=True)
def round_float_parallel(x, out, p, emin, max_finite, saturate):
    """``round_float`` with one ``prange`` iteration per element, for large arrays."""
    xf = x.ravel()
    of = out.ravel()
    for i in prange(xf.size):
        of[i] = np.float32(_round_one(np.float64(xf[i]), p, emin, max_finite, saturate))


PARALLEL_MIN_ELEMENTS = 1 << 18


@njit(cache=True)
def round_float_stochastic(x, u, out, p, emin, max_finite, saturate):
    """Stochastic rounding: round down or up to the format's grid with probability given by
    the remainder, using the uniform draws ``u`` in [0, 1) (one per element, drawn by the
    caller so the NumPy twin sees the same numbers). Same overflow rule as ``round_float``."""
    xf = x.ravel()
    uf = u.ravel()
    of = out.ravel()
    for i in range(xf.size):
        v = np.float64(xf[i])
        if v != v or v == 0.0:
            of[i] = xf[i]
            continue
        a = abs(v)
        if a == math.inf:
            r = max_finite if saturate else math.inf
        else:
            frac, e2 = math.frexp(a)
            e = max(e2 - 1, emin)
            q = math.ldexp(1.0, e - p)
            r = math.floor(a / q + uf[i]) * q
            if r > max_finite:
                r = max_finite if saturate else math.inf
        of[i] = np.float32(r if v > 0 else -r)


def to_format(x: np.ndarray, fmt: str | FloatFormat) -> np.ndarray:
    """``x`` rounded to ``fmt`` (a new float32 array; fp32 input to fp32 is a copy)."""
    f = FLOAT_FORMATS[fmt] if isinstance(fmt, str) else fmt
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty_like(x)
    if f.name == "fp32":
        out[...] = x
        return out
    kernel = round_float_parallel if x.size >= PARALLEL_MIN_ELEMENTS else round_float
    kernel(x, out, *f.kernel_args())
    return out


def to_format_stochastic(x: np.ndarray, fmt: str | FloatFormat,
                         rng: np.random.Generator) -> np.ndarray:
    """``x`` stochastically rounded to ``fmt`` with draws from ``rng``."""
    f = FLOAT_FORMATS[fmt] if isinstance(fmt, str) else fmt
    x = np.ascontiguousarray(x, dtype=np.float32)
    u = rng.random(x.shape)
    out = np.empty_like(x)
    round_float_stochastic(x, u, out, *f.kernel_args())
    return out
