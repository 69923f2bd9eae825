"""NumPy twins of the analog kernels, written independently (vectorised, no loops over cells)."""

from __future__ import annotations

import numpy as np



def dac(x, rows, bits, bound, dynamic, enabled, xq, scale, norm):
    m, k = x.shape
    t_count = scale.shape[0]
    levels = float(2 ** (bits - 1) - 1)
    pad = t_count * rows - k
    xb = np.pad(x.astype(np.float64), ((0, 0), (0, pad))).reshape(m, t_count, rows)
    if dynamic:
        a = np.abs(xb).max(axis=2)
        s = np.where(a > 0, a / bound, 1.0)
    else:
        s = np.ones((m, t_count))
    v = xb * (1.0 / s[:, :, None])
    if enabled:
        v = np.round(np.clip(v, -bound, bound) * (levels / bound)) * (bound / levels)
    xq[...] = v.reshape(m, -1)[:, :k]
    scale[...] = s.T
    norm[...] = np.sqrt((v.astype(xq.dtype).astype(np.float64) ** 2).sum(axis=2)).T


def periphery(partial, z, noise_std, scale, col_gain, adc_enabled, adc_bits, adc_bound, noisy,
              out, sat):
    v = partial.astype(np.float64)
    if noisy:
        v = v + noise_std[:, :, None].astype(np.float64) * z.transpose(1, 0, 2)
    sat[...] = (np.abs(v) >= adc_bound).any(axis=(0, 2))
    if adc_enabled:
        step = 2.0 * adc_bound / (2.0 ** adc_bits - 2.0)
        v = np.round(np.clip(v, -adc_bound, adc_bound) * (1.0 / step)) * step
    out[...] = (v * scale[:, :, None] * col_gain[None, None, :]).sum(axis=0)


def read_small(x, w, gain, rows, dac_bits, input_bound, dynamic, dac_on, adc_on, adc_bits,
               adc_bound, out_noise, w_noise, key, out, sat):
    """Twin of ``compute.read_small``: the DAC, normals, tile products and periphery twins in
    sequence (as the device runs the large case)."""
    from xpusim.numerics.reference import fill_normal
    m, k = x.shape
    n = w.shape[1]
    t_count = max(1, -(-k // rows))
    xq = np.empty_like(x)
    scale = np.empty((t_count, m), np.float32)
    norm = np.empty((t_count, m), np.float32)
    dac(x, rows, dac_bits, input_bound, dynamic, dac_on, xq, scale, norm)
    std = np.sqrt(np.float32(out_noise) ** 2 + (np.float32(w_noise) * norm) ** 2)
    z = np.empty((m, t_count, n), np.float32)
    fill_normal(key, z)
    partial = np.stack([xq[:, t * rows:(t + 1) * rows] @ w[t * rows:(t + 1) * rows]
                        for t in range(t_count)]) if m else np.zeros((t_count, 0, n), np.float32)
    periphery(partial, z, std.astype(np.float32), scale, gain, adc_on, adc_bits, adc_bound,
              out_noise > 0 or w_noise > 0, out, sat)


def price(phase, primitive, m, n, k, bits, fmt, count, activity, params, time_s, energy_j,
          extras):
    """Vectorised twin of ``cost.price``."""
    from xpusim.core.formats import format_code
    from xpusim.core.trace import PRIMITIVE
    from . import cost as c
    mm, nn, kk, reps = (a.astype(np.float64) for a in (m, n, k, count))
    analog = fmt == format_code("analog")
    mvm, mvm_t = primitive == PRIMITIVE["mvm"], primitive == PRIMITIVE["mvm_t"]
    upd, wr = primitive == PRIMITIVE["update"], primitive == PRIMITIVE["write"]
    mat = primitive == PRIMITIVE["matmul"]
    P = params
    time_s[:] = 0.0
    energy_j[:] = 0.0
    extras[:] = 0.0
    # analog products: driven lines / read lines (bit slices add columns)
    S = P[c.SLICES]
    a = analog & (mvm | mvm_t)
    rin = np.where(mvm, P[c.ROWS], P[c.COLS])
    cout = np.where(mvm, P[c.COLS], P[c.ROWS])
    lin = np.where(mvm, kk, kk * S)
    lout = np.where(mvm, nn * S, nn)
    wrows = np.where(mvm, kk, nn)
    t_in, t_out = np.ceil(lin / rin), np.ceil(lout / cout)
    rounds = np.ceil(t_in * t_out / P[c.TILES])
    t_vec = (P[c.READ_T] + np.minimum(P[c.COLS_PER_ADC], cout) * P[c.ADC_T]) * rounds
    spill = a & (rounds > 1)
    reprog_t = rounds * np.minimum(wrows, P[c.ROWS]) * P[c.PV_ITER] * P[c.PV_T] * reps
    time_s[a] = (mm * t_vec * reps + np.where(spill, reprog_t, 0.0))[a]
    energy_j[a, 0] = (mm * lin * t_out * P[c.DAC_E] * reps)[a]
    energy_j[a, 1] = (mm * kk * nn * S * P[c.CELL_E] * reps)[a]
    energy_j[a, 2] = (mm * lout * t_in * P[c.ADC_E] * reps)[a]
    energy_j[a, 3] = (mm * (lout * t_in + nn) * P[c.OP_E] * reps)[a]
    energy_j[spill, 4] = (2 * kk * nn * S * P[c.PV_ITER] * P[c.PV_E] * reps)[spill]
    extras[a, 0] = (mm * lout * t_in * reps)[a]
    extras[a, 1] = (mm * lin * t_out * reps)[a]
    extras[a, 2] = (mm * t_in * t_out * reps)[a]
    extras[a, 3] = (mm * nn * kk * reps)[a]
    extras[spill, 4] = (2 * kk * nn * S * P[c.PV_ITER] * reps)[spill]
    extras[spill, 6] = (t_in * t_out * reps)[spill]
    extras[a, 7] = (t_in * t_out * reps)[a]
    # programming
    w = analog & wr
    tiles = np.ceil(kk / P[c.ROWS]) * np.ceil(nn * S / P[c.COLS])
    time_s[w] = (mm * np.minimum(kk, P[c.ROWS]) * P[c.PV_ITER] * P[c.PV_T]
                 * np.ceil(tiles / P[c.TILES]) * reps)[w]
    energy_j[w, 4] = (2 * kk * nn * S * mm * P[c.PV_ITER] * P[c.PV_E] * reps)[w]
    extras[w, 4] = (2 * kk * nn * S * mm * P[c.PV_ITER] * reps)[w]
    extras[w, 6] = (tiles * mm * reps)[w]
    # in-situ pulses
    u = analog & upd
    bl = bits.astype(np.float64)
    time_s[u] = (mm * bl * P[c.UP_T] * reps)[u]
    energy_j[u, 4] = (activity * mm * bl * kk * nn * P[c.UP_E] * reps)[u]
    energy_j[u, 3] = (mm * (kk + nn) * P[c.OP_E] * reps)[u]
    extras[u, 5] = (activity * mm * bl * kk * nn * reps)[u]
    # digital rows
    d = (~analog & (mvm | mvm_t | upd)) | mat
    time_s[d] = (2 * mm * nn * kk / P[c.OPS_S] * reps)[d]
    energy_j[d, 3] = (2 * mm * nn * kk * P[c.OP_E] * reps)[d]
    extras[d, 3] = (mm * nn * kk * reps)[d]
    dw = ~analog & wr
    nbytes = mm * nn * kk * bits / 8.0
    time_s[dw] = (nbytes / 64.0 / P[c.OPS_S] * reps)[dw]
    energy_j[dw, 4] = (nbytes * P[c.SRAM_E] * reps)[dw]
    e = ~(mvm | mvm_t | upd | wr | mat)
    time_s[e] = (mm * kk / P[c.OPS_S] * reps)[e]
    energy_j[e, 3] = ((mm * kk * P[c.OP_E] + mm * nn * bits / 8.0 * P[c.SRAM_E]) * reps)[e]
