"""Analog numerics kernels (numba): DAC, tile periphery (noise + ADC + digital sum), pulses.

The crossbar product itself is a float32 BLAS product per row tile of the normalised
conductance difference (G+ - G-)/g_max; everything the hardware adds around it lives here:

* ``dac``: inputs per row tile scaled by max|x| (dynamic input scaling, aihwkit
  ``noise_management=ABS_MAX``), clipped to +-bound and rounded to ``bits`` (sign included,
  ``2^(bits-1)-1`` levels a side, aihwkit ``inp_res = 1/(2^bits-2)``, REFERENCES E12).
* ``periphery``: per tile partial sum + Gaussian read noise (additive output noise and per-read
  conductance noise folded into one draw: for independent weight noise sigma_w per cell the
  column current has std sigma_w*||x||_2, exactly Gaussian), ADC saturation at +-bound and
  rounding to ``bits`` (``2^bits-2`` steps over the range, E12), then digital rescaling by the
  input scale and per-column weight scale/drift-compensation gain, summed over row tiles.

The read noise's normals come from ``xpusim.numerics.gauss`` (a counter-based stream keyed by
one draw of the device's Generator: parallel, and the same whatever the thread count). In-situ
updates are in ``pulsed.py`` and ``transfer.py``, programmed-weight noise in
``noise_models.py``, weight modifiers in ``hwa.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


def _dac(x, rows, bits, bound, dynamic, enabled, xq, scale, norm):
    """x (m,k) -> xq (m,k) DAC codes in [-bound, bound]; scale (T,m) digital input scale;
    norm (T,m) L2 norm of each quantized tile input (for per-read conductance noise)."""
    m, k = x.shape
    t_count = scale.shape[0]
    levels = float(2 ** (bits - 1) - 1)
    to_code = levels / bound   # multiplications by reciprocals: the DAC was division-bound
    to_value = bound / levels
    for i in prange(m):
        for t in range(t_count):
            lo = t * rows
            hi = min(k, lo + rows)
            s = 1.0
            if dynamic:
                a = 0.0
                for j in range(lo, hi):
                    a = max(a, abs(x[i, j]))
                s = a / bound if a > 0.0 else 1.0
            inv = 1.0 / s
            acc = 0.0
            for j in range(lo, hi):
                v = x[i, j] * inv
                if enabled:
                    v = np.round(min(max(v, -bound), bound) * to_code) * to_value
                xq[i, j] = v
                acc += v * v
            scale[t, i] = s
            norm[t, i] = np.sqrt(acc)


def _periphery(partial, z, noise_std, scale, col_gain, adc_enabled, adc_bits, adc_bound, noisy,
               out, sat):
    """partial (T,m,n) tile currents, z (m,T,n) standard normals, noise_std (T,m), scale (T,m),
    col_gain (n) -> out (m,n) = sum_t ADC(partial + std*z) * scale * gain (z unused unless
    ``noisy``); sat (m,) = 1 where a vector drove an ADC to its bound."""
    t_count, m, n = partial.shape
    step = 2.0 * adc_bound / (2.0 ** adc_bits - 2.0)
    per_step = 1.0 / step
    for i in prange(m):
        acc = np.zeros(n)
        hit = 0
        for t in range(t_count):
            s = np.float64(scale[t, i])
            sd = np.float64(noise_std[t, i])
            for j in range(n):
                v = np.float64(partial[t, i, j])
                if noisy:
                    v += sd * np.float64(z[i, t, j])
                if abs(v) >= adc_bound:
                    hit = 1
                if adc_enabled:
                    v = np.round(min(max(v, -adc_bound), adc_bound) * per_step) * step
                acc[j] += v * s * col_gain[j]
        for j in range(n):
            out[i, j] = acc[j]
        sat[i] = hit


# Each body compiled twice: threads pay off only for large products; for the small matrices of
# a training step the serial build avoids thread start-up (the device picks by size).
dac = njit(cache=True, parallel=True)(_dac)
dac_serial = njit(cache=True)(_dac)
periphery = njit(cache=True, parallel=True)(_periphery)
periphery_serial = njit(cache=True)(_periphery)
PARALLEL_MIN_ELEMENTS = 1 << 16
