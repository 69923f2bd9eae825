"""NumPy twins of the photonic kernels, written independently (vectorised, no numba)."""

from __future__ import annotations

import numpy as np

from xpusim.core.trace import PRIMITIVE

from . import cost


def quantize(x, out, bits, scale):
    """Twin of ``compute.quantize``."""
    levels = 2.0 ** (bits - 1) - 1.0
    if scale <= 0.0:
        out[...] = 0.0
        return
    v = x.astype(np.float64) / scale * levels
    a = np.minimum(np.floor(np.abs(v) + 0.5), levels)
    r = np.where(v >= 0, a, -a)
    r = np.where(np.isnan(v), 0.0, r)
    out[...] = (r / levels * scale).astype(np.float32)


def noisy_product(x, w, noise, noise_scale, out):
    """Twin of ``compute.noisy_product`` (BLAS in float64)."""
    out[...] = (x.astype(np.float64) @ w.astype(np.float64) + noise * noise_scale).astype(np.float32)


def price(phase, primitive, m, n, k, bits, fmt, count, activity, params, time_s, energy_j, extras):
    """Twin of ``cost.price``, vectorised over rows."""
    P = cost
    m, n, k = (a.astype(np.float64) for a in (m, n, k))
    reps = count.astype(np.float64)
    rows, cols, tiles = params[P.ROWS], params[P.COLS], params[P.TILES]
    row_tiles, col_tiles = np.ceil(k / rows), np.ceil(n / cols)
    blocks = row_tiles * col_tiles
    rounds = np.ceil(blocks / tiles)
    gemm = np.isin(primitive, [PRIMITIVE["mvm"], PRIMITIVE["mvm_t"]])
    upd = primitive == PRIMITIVE["update"]
    ew = np.isin(primitive, [PRIMITIVE["elementwise"], PRIMITIVE["reduce"]])
    wr = primitive == PRIMITIVE["write"]
    t = np.full(len(m), -1.0)
    e = np.zeros((len(m), len(P.COMPONENTS)))
    x = np.zeros((len(m), len(P.EXTRAS)))

    # mvm / mvm_t
    reload = np.maximum(blocks - tiles, 0.0)
    dac = m * k * col_tiles
    adc = m * n * row_tiles
    partial = m * n * (row_tiles - 1.0)
    sram = m * k * bits / 8.0 + m * n * 4.0
    t_opt = m * rounds / params[P.RATE]
    t_g = np.maximum(t_opt, sram / params[P.SRAM_BW]) + np.ceil(reload / tiles) * params[P.T_PROG]
    t = np.where(gemm, t_g, t)
    e[:, 0] += np.where(gemm, dac * params[P.E_DAC] + adc * params[P.E_ADC], 0)
    e[:, 1] += np.where(gemm, reload * rows * cols * params[P.E_PROG], 0)
    e[:, 2] += np.where(gemm, partial * params[P.E_OP], 0)
    e[:, 3] += np.where(gemm, sram * params[P.E_SRAM], 0)
    x[:, 0] += np.where(gemm, dac, 0)
    x[:, 1] += np.where(gemm, adc, 0)
    x[:, 2] += np.where(gemm, m * blocks, 0)
    x[:, 3] += np.where(gemm, reload * rows * cols, 0)
    x[:, 4] += np.where(gemm, partial, 0)
    x[:, 5] += np.where(gemm, sram, 0)

    # update: digital outer product, then every weight reprogrammed
    macs = m * k * n
    sram_u = (m * k + m * n) * 4.0 + k * n * 4.0
    t_u = np.maximum(macs / params[P.GOPS], sram_u / params[P.SRAM_BW]) + rounds * params[P.T_PROG]
    t = np.where(upd, t_u, t)
    e[:, 1] += np.where(upd, k * n * params[P.E_PROG], 0)
    e[:, 2] += np.where(upd, macs * params[P.E_MAC], 0)
    e[:, 3] += np.where(upd, sram_u * params[P.E_SRAM], 0)
    x[:, 3] += np.where(upd, k * n, 0)
    x[:, 4] += np.where(upd, macs, 0)
    x[:, 5] += np.where(upd, sram_u, 0)

    # elementwise / reduce
    ops = m * k
    sram_e = m * n * bits / 8.0
    t = np.where(ew, np.maximum(ops / params[P.GOPS], sram_e / params[P.SRAM_BW]), t)
    e[:, 2] += np.where(ew, ops * params[P.E_OP], 0)
    e[:, 3] += np.where(ew, sram_e * params[P.E_SRAM], 0)
    x[:, 4] += np.where(ew, ops, 0)
    x[:, 5] += np.where(ew, sram_e, 0)

    # write: program a k x n weight matrix
    t = np.where(wr, rounds * params[P.T_PROG], t)
    e[:, 1] += np.where(wr, m * k * n * params[P.E_PROG], 0)
    x[:, 3] += np.where(wr, m * k * n, 0)

    priced = t >= 0
    time_s[:] = np.where(priced, t * reps, -1.0)
    energy_j[:] = e * reps[:, None]
    extras[:] = x * reps[:, None]
