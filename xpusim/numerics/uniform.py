"""Uniform symmetric quantization (numba): the rounding of a DAC, an ADC or a fixed-point
weight, shared by backends that quantize values onto evenly spaced levels.

With ``bits`` bits a quantizer has ``L = 2**(bits-1) - 1`` levels each side of zero over
``[-scale, scale]``, spaced ``scale / L`` apart (a symmetric two's-complement grid without its
most negative code, as in symmetric int8 quantization: Jacob et al. 2018, CVPR). Values round
half away from zero (``floor(|v| + 0.5)``, as a flash converter's comparators decide),
saturate beyond ``±scale``, and NaN reads as 0. ``np.floor``, not ``math.floor``: in numba the
latter returns an int64, which overflows for huge or infinite inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def quantize(x, out, bits, scale):
    """out = x quantized to ``bits`` bits over [-scale, scale] (float32 in and out); all zeros
    when ``scale <= 0``."""
    levels = 2.0 ** (bits - 1) - 1.0
    flat_x = x.ravel()
    flat_out = out.ravel()
    for i in range(flat_x.size):
        if scale <= 0.0:
            flat_out[i] = np.float32(0.0)
            continue
        v = flat_x[i] / scale * levels
        if v != v:
            flat_out[i] = np.float32(0.0)
            continue
        a = min(np.floor(abs(v) + 0.5), levels)
        flat_out[i] = np.float32((a if v >= 0 else -a) / levels * scale)
