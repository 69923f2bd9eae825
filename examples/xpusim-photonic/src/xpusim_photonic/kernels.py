"""Photonic kernels (numba): the noisy optical product and the cost of each trace row.

``noisy_product``: exact up to additive Gaussian read noise, whose draws the caller takes from
the run's generator and passes in (so the twin sees the same draws).

``price``: ``mvm``/``mvm_t`` of (m x k).(k x n): the weight matrix is cut into
ceil(k/rows) x ceil(n/cols) blocks held by ``tiles`` mesh tiles; blocks beyond the tiles are
reprogrammed once per call. Each input vector takes one symbol per block round:
    time = max(m x ceil(blocks/tiles) / symbol rate, SRAM bytes / bandwidth)
           + ceil(reloaded blocks / tiles) x program time
    energy: conversion = DAC x m.k.ceil(n/cols) + ADC x m.n.ceil(k/rows);
            programming = reloaded weights x program energy;
            digital = partial-sum additions m.n.(ceil(k/rows) - 1) x op energy;
            onchip_memory = SRAM bytes (inputs at ``bits``, outputs fp32) x pJ/B.
``update``: the k x n outer product is digital (m.k.n MACs), then every weight is reprogrammed.
``elementwise``/``reduce``: digital ops. ``write``: program k x n weights.
Static power (lasers + phase holding) is added by the core as static power x time.
"""

import math

import numpy as np
from numba import njit, prange

from xpusim.core.trace import P_ELEMENTWISE, P_MVM, P_MVM_T, P_REDUCE, P_UPDATE, P_WRITE

from .params import COST_PARAMS

(ROWS, COLS, TILES, RATE, T_PROG, E_PROG, E_DAC, E_ADC, E_MAC, E_OP, GOPS, E_SRAM,
 SRAM_BW) = COST_PARAMS.indices


@njit(cache=True)
def noisy_product(x, w, noise, noise_scale, out):
    """out = x @ w + noise * noise_scale, accumulated in float64, stored in float32."""
    m, k = x.shape
    for i in range(m):
        for j in range(w.shape[1]):
            acc = 0.0
            for p in range(k):
                acc += np.float64(x[i, p]) * np.float64(w[p, j])
            out[i, j] = np.float32(acc + noise[i, j] * noise_scale)


@njit(cache=True, parallel=True)
def price(phase, primitive, m, n, k, bits, fmt, count, activity, params, time_s, energy_j,
          extras):
    """Price every row (see module docstring); time -1 marks an unpriceable row."""
    rows, cols, tiles = params[ROWS], params[COLS], params[TILES]
    for i in prange(phase.size):
        prim, reps = primitive[i], float(count[i])
        mm, nn, kk = float(m[i]), float(n[i]), float(k[i])
        row_tiles, col_tiles = math.ceil(kk / rows), math.ceil(nn / cols)
        blocks = row_tiles * col_tiles
        rounds = math.ceil(blocks / tiles)
        if prim == P_MVM or prim == P_MVM_T:
            reload = max(blocks - tiles, 0.0)
            dac, adc = mm * kk * col_tiles, mm * nn * row_tiles
            partial = mm * nn * (row_tiles - 1.0)
            sram = mm * kk * bits[i] / 8.0 + mm * nn * 4.0
            t = max(mm * rounds / params[RATE], sram / params[SRAM_BW]) \
                + math.ceil(reload / tiles) * params[T_PROG]
            energy_j[i, 0] = (dac * params[E_DAC] + adc * params[E_ADC]) * reps
            energy_j[i, 1] = reload * rows * cols * params[E_PROG] * reps
            energy_j[i, 2] = partial * params[E_OP] * reps
            energy_j[i, 3] = sram * params[E_SRAM] * reps
            extras[i, 0], extras[i, 1], extras[i, 2] = dac * reps, adc * reps, mm * blocks * reps
            extras[i, 3], extras[i, 4] = reload * rows * cols * reps, partial * reps
            extras[i, 5] = sram * reps
        elif prim == P_UPDATE:
            macs = mm * kk * nn
            sram = (mm * kk + mm * nn) * 4.0 + kk * nn * 4.0
            t = max(macs / params[GOPS], sram / params[SRAM_BW]) + rounds * params[T_PROG]
            energy_j[i, 1] = kk * nn * params[E_PROG] * reps
            energy_j[i, 2] = macs * params[E_MAC] * reps
            energy_j[i, 3] = sram * params[E_SRAM] * reps
            extras[i, 3], extras[i, 4], extras[i, 5] = kk * nn * reps, macs * reps, sram * reps
        elif prim == P_ELEMENTWISE or prim == P_REDUCE:
            ops, sram = mm * kk, mm * nn * bits[i] / 8.0
            t = max(ops / params[GOPS], sram / params[SRAM_BW])
            energy_j[i, 2] = ops * params[E_OP] * reps
            energy_j[i, 3] = sram * params[E_SRAM] * reps
            extras[i, 4], extras[i, 5] = ops * reps, sram * reps
        elif prim == P_WRITE:
            t = rounds * params[T_PROG]
            energy_j[i, 1] = mm * kk * nn * params[E_PROG] * reps
            extras[i, 3] = mm * kk * nn * reps
        else:
            time_s[i] = -1.0
            continue
        time_s[i] = t * reps
