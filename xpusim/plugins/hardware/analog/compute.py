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
* ``pulse_update``: signed coincidence counts applied to pulsed devices with constant-step or
  soft-bounds response, up/down asymmetry, cycle-to-cycle spread and per-device bounds
  (aihwkit ConstantStep / SoftBounds devices, REFERENCES E13).

Randomness comes from the device's seeded Generator, drawn and passed in as arrays; the read
noise's normals come from ``xpusim.numerics.gauss`` (a counter-based stream keyed by one draw
of that Generator: parallel, and the same whatever the thread count).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from xpusim.numerics import gauss


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
# a training step the serial build avoids thread start-up. The two builds give identical
# results; the ``*_any_size`` functions, which the backend registers, pick one by size.
dac = njit(cache=True, parallel=True)(_dac)
dac_serial = njit(cache=True)(_dac)
periphery = njit(cache=True, parallel=True)(_periphery)
periphery_serial = njit(cache=True)(_periphery)
PARALLEL_MIN_ELEMENTS = 1 << 16


def dac_any_size(x, rows, bits, bound, dynamic, enabled, xq, scale, norm):
    """``dac`` (threaded) for large inputs, ``dac_serial`` for small ones."""
    kernel = dac if x.size >= PARALLEL_MIN_ELEMENTS else dac_serial
    kernel(x, rows, bits, bound, dynamic, enabled, xq, scale, norm)


def periphery_any_size(partial, z, noise_std, scale, col_gain, adc_enabled, adc_bits, adc_bound,
                       noisy, out, sat):
    """``periphery`` (threaded) for large products, ``periphery_serial`` for small ones."""
    kernel = periphery if partial.size >= PARALLEL_MIN_ELEMENTS else periphery_serial
    kernel(partial, z, noise_std, scale, col_gain, adc_enabled, adc_bits, adc_bound, noisy, out,
           sat)


def normals_any_size(key, out):
    """``gauss.fill_normal`` (threaded) for many draws, its serial build for few (the draws
    depend on (key, index) only, so both give the same numbers)."""
    kernel = gauss.fill_normal if out.size >= PARALLEL_MIN_ELEMENTS else gauss.fill_normal_serial
    kernel(key, out)


@njit(cache=True)
def pulse_update(w, n_up, n_down, dw_up, dw_down, w_lo, w_hi, c2c_up, c2c_down, c2c_std, soft):
    """Apply n_up potentiating then n_down depressing pulses to each device of w (in place).

    constant-step: w += n*dw (*(1 + c2c_std*sqrt(n)*z) for the summed cycle-to-cycle spread),
    clipped to [w_lo, w_hi]. soft-bounds: each pulse moves dw*(1 - w/w_hi) up or
    dw*(1 - w/w_lo) down; n pulses in closed form w_hi - (w_hi - w)(1 - dw/w_hi)^n.
    """
    k, n = w.shape
    for i in range(k):
        for j in range(n):
            v = w[i, j]
            nu = n_up[i, j]
            nd = n_down[i, j]
            hi = w_hi[i, j]
            lo = w_lo[i, j]
            if nu > 0.0:
                du = dw_up[i, j] * (1.0 + c2c_std * c2c_up[i, j] / np.sqrt(nu))
                if du < 0.0:
                    du = 0.0
                if soft:
                    v = hi - (hi - v) * (1.0 - du / hi) ** nu
                else:
                    v = v + nu * du
            if nd > 0.0:
                dd = dw_down[i, j] * (1.0 + c2c_std * c2c_down[i, j] / np.sqrt(nd))
                if dd < 0.0:
                    dd = 0.0
                if soft:
                    v = lo - (lo - v) * (1.0 + dd / lo) ** nd
                else:
                    v = v - nd * dd
            if v > hi:
                v = hi
            elif v < lo:
                v = lo
            w[i, j] = v


PROB_BITS = 16  # resolution of a pulse probability: 2^-16


@njit(cache=True)
def _popcount(x):
    """Bits set in a uint64 (SWAR; LLVM lowers it to the popcnt instruction)."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True, parallel=True)
def _trains(p, sign, key, bl, pos, neg):
    """Stochastic pulse trains, packed: value (s, c) fires in each of ``bl`` slots with
    probability p[s, c] (rounded to PROB_BITS bits; bits built from random words by the binary
    expansion of p, LSB first: OR with a random word for a 1 bit, AND for a 0 bit; a bl <= 32
    train takes 32-bit halves, low half first). Value (s, c) takes words
    (s*C + c)*W .. + W - 1 (W = 8 for bl <= 32, else 16) of the counter-based stream ``key``
    (``xpusim.numerics.gauss.word``). Sample s lands in word s // per at bit offset
    (s % per) * bl, per = 64 // bl samples a word; the train goes to ``pos`` or ``neg``
    (c, words) by the sign of the value."""
    m, c = p.shape
    per = 64 // bl
    half = bl <= 32
    n_words = 8 if half else 16
    mask = (np.uint64(1) << np.uint64(bl)) - np.uint64(1) if bl < 64 else ~np.uint64(0)
    pos[:] = 0
    neg[:] = 0
    for j in prange(c):  # one train row per value column: independent, written by one thread
        for s in range(m):
            w = s // per
            off = np.uint64((s % per) * bl)
            q = int(np.round(p[s, j] * (1 << PROB_BITS)))
            if q <= 0:
                continue
            if q >= (1 << PROB_BITS):
                bits = mask
            else:
                base = np.uint64((s * c + j) * n_words)
                bits = np.uint64(0)
                r = np.uint64(0)
                for t in range(PROB_BITS):  # LSB of q first
                    if half:
                        if t & 1 == 0:
                            r = gauss.word(key, base + np.uint64(t >> 1))
                            rt = r & np.uint64(0xFFFFFFFF)
                        else:
                            rt = r >> np.uint64(32)
                    else:
                        rt = gauss.word(key, base + np.uint64(t))
                    if (q >> t) & 1:
                        bits = bits | rt
                    else:
                        bits = bits & rt
                bits = bits & mask
            if sign[s, j] > 0:
                pos[j, w] |= bits << off
            elif sign[s, j] < 0:
                neg[j, w] |= bits << off


@njit(cache=True, parallel=True)
def coincidences(px, pd, sx, sd, key_x, key_d, bl, n_up, n_down):
    """Coincidence counts of stochastic pulse trains (aihwkit's pulsed update, REFERENCES E12
    BL): input i fires in each of ``bl`` slots of sample s with probability px[s, i], output j
    with pd[s, j]; a slot where both fire moves device (i, j) one step, up when x and d have
    the same sign. n_up, n_down (k, n): counts summed over the m samples of the batch. The
    random words come from the counter-based streams ``key_x`` and ``key_d`` (see ``_trains``),
    keyed by the caller's Generator. Trains are packed 64 slots to a word and counted with
    popcount."""
    m, k = px.shape
    n = pd.shape[1]
    per = 64 // bl
    words = (m + per - 1) // per
    xp = np.empty((k, words), np.uint64)
    xn = np.empty((k, words), np.uint64)
    dp = np.empty((n, words), np.uint64)
    dn = np.empty((n, words), np.uint64)
    _trains(px, sx, key_x, bl, xp, xn)
    _trains(pd, sd, key_d, bl, dp, dn)
    for i in prange(k):
        for j in range(n):
            up = np.uint64(0)
            down = np.uint64(0)
            for w in range(words):
                up += _popcount((xp[i, w] & dp[j, w]) | (xn[i, w] & dn[j, w]))
                down += _popcount((xp[i, w] & dn[j, w]) | (xn[i, w] & dp[j, w]))
            n_up[i, j] = float(up)
            n_down[i, j] = float(down)
