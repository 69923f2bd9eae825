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

from xpusim.numerics import gauss
from xpusim.numerics.builds import threaded_and_serial


@njit(cache=True, inline="always")
def _abs_max(bits, i, lo, hi, cell):
    """max |x[i, lo:hi]| of a float32 matrix x from its bits (``bits`` = x.view(uint32)):
    an integer max, which vectorises where a float max does not; exact, as the float max.
    ``cell`` is a scratch uint32[1]."""
    b = np.uint32(0)
    for j in range(lo, hi):
        b = max(b, bits[i, j] & np.uint32(0x7FFFFFFF))
    cell[0] = b
    return np.float64(cell.view(np.float32)[0])


def _dac(x, rows, bits, bound, dynamic, enabled, xq, scale, norm):
    """x (m,k) -> xq (m,k) DAC codes in [-bound, bound]; scale (T,m) digital input scale;
    norm (T,m) L2 norm of each quantized tile input (for per-read conductance noise)."""
    m, k = x.shape
    t_count = scale.shape[0]
    levels = float(2 ** (bits - 1) - 1)
    to_code = levels / bound   # multiplications by reciprocals: the DAC was division-bound
    to_value = bound / levels
    bits_x = x.view(np.uint32)
    for i in prange(m):
        cell = np.empty(1, np.uint32)
        for t in range(t_count):
            lo = t * rows
            hi = min(k, lo + rows)
            s = 1.0
            if dynamic:
                a = _abs_max(bits_x, i, lo, hi, cell)
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
                hit |= abs(v) >= adc_bound
                if adc_enabled:
                    v = np.round(min(max(v, -adc_bound), adc_bound) * per_step) * step
                acc[j] += v * s * col_gain[j]
        for j in range(n):
            out[i, j] = acc[j]
        sat[i] = hit


# Each body compiled twice: threads pay off only for large products; for the small matrices of
# a training step the serial build avoids thread start-up. The two builds give identical
# results; ``read_any_size`` picks by size.
dac, dac_serial = threaded_and_serial(_dac)
periphery, periphery_serial = threaded_and_serial(_periphery)
PARALLEL_MIN_ELEMENTS = 1 << 16


@njit(cache=True)
def read_small(x, w, gain, rows, dac_bits, input_bound, dynamic, dac_on, adc_on, adc_bits,
               adc_bound, out_noise, w_noise, key, out, sat):
    """One read of x (m,k) through w (k,n) in a single call, for the small products of a
    training step (no Python between the stages): per row tile the DAC of ``dac``, the tile
    product (float32 BLAS), the read noise (normal (i T + t) n + j of stream ``key``, as
    ``gauss.fill_normal`` draws the (m, T, n) array of ``_read_noise``) and the ADC and digital
    sum of ``periphery``. Same numbers as those kernels in sequence."""
    m, k = x.shape
    n = w.shape[1]
    t_count = max(1, (k + rows - 1) // rows)
    levels = float(2 ** (dac_bits - 1) - 1)
    to_code = levels / input_bound
    to_value = input_bound / levels
    step = 2.0 * adc_bound / (2.0 ** adc_bits - 2.0)
    per_step = 1.0 / step
    noisy = out_noise > 0.0 or w_noise > 0.0
    on32 = np.float32(out_noise)
    wn32 = np.float32(w_noise)
    scale = np.empty(m, np.float32)
    std = np.empty(m, np.float32)
    acc = np.zeros((m, n))
    zrow = np.empty(n)
    zbuf = np.empty(n + 2, np.uint64)
    bits_x = x.view(np.uint32)
    cell = np.empty(1, np.uint32)
    w_noisy = w_noise > 0.0
    for i in range(m):
        sat[i] = 0
    for t in range(t_count):
        lo = t * rows
        hi = min(k, lo + rows)
        xq = np.empty((m, hi - lo), np.float32)
        for i in range(m):
            s = 1.0
            if dynamic:
                a = _abs_max(bits_x, i, lo, hi, cell)
                s = a / input_bound if a > 0.0 else 1.0
            inv = 1.0 / s
            for j in range(lo, hi):
                v = x[i, j] * inv
                if dac_on:
                    v = np.round(min(max(v, -input_bound), input_bound) * to_code) * to_value
                xq[i, j - lo] = v
            sq = 0.0
            if w_noisy:  # the norm only scales the conductance noise (a serial sum: own loop)
                for j in range(lo, hi):
                    v = x[i, j] * inv
                    if dac_on:
                        v = np.round(min(max(v, -input_bound), input_bound) * to_code) \
                            * to_value
                    sq += v * v
            scale[i] = s
            norm = np.float32(np.sqrt(sq))
            std[i] = np.sqrt(on32 * on32 + (wn32 * norm) * (wn32 * norm))
        part = np.dot(xq, w[lo:hi])
        for i in range(m):
            sc = np.float64(scale[i])
            sd = np.float64(std[i])
            if noisy:
                gauss.normals_block(key, np.uint64((i * t_count + t) * n), zrow, zbuf)
            hit = 0
            for j in range(n):  # branch-free in j: it vectorises
                v = np.float64(part[i, j])
                if noisy:
                    v += sd * np.float64(np.float32(zrow[j]))
                hit |= abs(v) >= adc_bound
                if adc_on:
                    v = np.round(min(max(v, -adc_bound), adc_bound) * per_step) * step
                acc[i, j] += v * sc * gain[j]
            sat[i] |= hit
    for i in range(m):
        for j in range(n):
            out[i, j] = acc[i, j]


def read_any_size(x, w, gain, rows, dac_bits, input_bound, dynamic, dac_on, adc_on, adc_bits,
                  adc_bound, out_noise, w_noise, key, out, sat):
    """One read of x through w: ``read_small`` (one serial call) for the small products of a
    training step; for large ones the same stages as threaded kernels (``dac``, the normals of
    ``gauss.fill_normal``, one BLAS product per row tile, ``periphery``), the normals drawn
    before BLAS runs so that no thread competes with them. Same numbers either way (up to the
    BLAS product's rounding)."""
    m, k = x.shape
    n = w.shape[1]
    t_count = max(1, -(-k // rows))
    if t_count * m * n < PARALLEL_MIN_ELEMENTS:
        read_small(x, w, gain, rows, dac_bits, input_bound, dynamic, dac_on, adc_on, adc_bits,
                   adc_bound, out_noise, w_noise, key, out, sat)
        return
    xq = np.empty_like(x)
    scale = np.empty((t_count, m), np.float32)
    norm = np.empty((t_count, m), np.float32)
    dac(x, rows, dac_bits, input_bound, dynamic, dac_on, xq, scale, norm)
    std = np.sqrt(np.float32(out_noise) ** 2 + (np.float32(w_noise) * norm) ** 2)
    noisy = out_noise > 0 or w_noise > 0
    z = np.empty((m, t_count, n) if noisy else (0, 0, 0), np.float32)
    if noisy:
        gauss.fill_normal(key, z)
    partial = np.empty((t_count, m, n), np.float32)
    for t in range(t_count):
        np.matmul(xq[:, t * rows:(t + 1) * rows], w[t * rows:(t + 1) * rows], out=partial[t])
    periphery(partial, z, std.astype(np.float32), scale, gain, adc_on, adc_bits, adc_bound,
              noisy, out, sat)
