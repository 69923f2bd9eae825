"""Photonic numerics (numba): uniform quantizers for DACs, ADCs and weights; the noisy product.

A uniform symmetric quantizer with ``bits`` bits has levels ``q * i`` for
``i in [-(2**(bits-1) - 1), 2**(bits-1) - 1]``, ``q = scale / (2**(bits-1) - 1)``; values beyond
``scale`` saturate; rounding is half away from zero (``floor(|v| + 0.5)``), as a flash ADC's
comparators do. (``np.floor``, not ``math.floor``: numba's ``math.floor``
returns an int64, which overflows for huge or infinite inputs.) The optical product is exact up to additive Gaussian read noise (drawn by the
caller from the run's generator and passed in, so the twin sees the same draws).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def quantize(x, out, bits, scale):
    """out = x quantized to ``bits`` bits over [-scale, scale] (float32 in, float32 out)."""
    levels = 2.0 ** (bits - 1) - 1.0
    flat_x = x.ravel()
    flat_out = out.ravel()
    if scale <= 0.0:
        for i in range(flat_x.size):
            flat_out[i] = 0.0
        return
    for i in range(flat_x.size):
        v = flat_x[i] / scale * levels
        if v != v:
            flat_out[i] = np.float32(0.0)
            continue
        a = np.floor(abs(v) + 0.5)
        if a > levels:
            a = levels
        r = a if v >= 0 else -a
        flat_out[i] = np.float32(r / levels * scale)


@njit(cache=True)
def noisy_product(x, w, noise, noise_scale, out):
    """out = x @ w + noise * noise_scale, accumulated in float64, stored in float32."""
    m, k = x.shape
    n = w.shape[1]
    for i in range(m):
        for j in range(n):
            acc = 0.0
            for p in range(k):
                acc += np.float64(x[i, p]) * np.float64(w[p, j])
            out[i, j] = np.float32(acc + noise[i, j] * noise_scale)
