"""Photonic cost kernel: time and energy per trace row.

``mvm``/``mvm_t`` of (m x k)·(k x n): the weight matrix is cut into ceil(k/rows) x ceil(n/cols)
blocks held by ``tiles`` mesh tiles; blocks beyond the tiles are reprogrammed once per call.
Each input vector takes one symbol per block round:
    time = max(m x ceil(blocks/tiles) / symbol rate, SRAM bytes / bandwidth)
           + ceil(reloaded blocks / tiles) x program time
    energy: conversion = DAC x m·k·ceil(n/cols) + ADC x m·n·ceil(k/rows);
            programming = reloaded weights x program energy;
            digital = partial-sum additions m·n·(ceil(k/rows) - 1) x op energy;
            onchip_memory = SRAM bytes (inputs at ``bits``, outputs fp32) x pJ/B.
``update``: the k x n outer product is digital (m·k·n MACs), then every weight is reprogrammed.
``elementwise``/``reduce``: digital ops. ``write``: program k x n weights.
Static power (lasers + phase holding) is added by the core as static power x time.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from xpusim.core.capabilities import Capabilities
from xpusim.core.trace import PRIMITIVE

from .params import PhotonicParams

# Layout of the packed parameter vector (SI units).
(ROWS, COLS, TILES, RATE, T_PROG, E_PROG, E_DAC, E_ADC, E_MAC, E_OP, GOPS, E_SRAM,
 SRAM_BW) = range(13)
N_PARAMS = 13

COMPONENTS = ("conversion", "weight_programming", "digital", "onchip_memory")
EXTRAS = ("dac_conversions", "adc_conversions", "tile_passes", "weights_programmed",
          "digital_ops", "sram_bytes")

P_MVM, P_MVM_T, P_UPDATE = PRIMITIVE["mvm"], PRIMITIVE["mvm_t"], PRIMITIVE["update"]
P_ELEMENTWISE, P_REDUCE, P_WRITE = PRIMITIVE["elementwise"], PRIMITIVE["reduce"], PRIMITIVE["write"]


def pack(p: PhotonicParams) -> np.ndarray:
    """The spec's numbers in the order ``price`` reads them."""
    v = np.zeros(N_PARAMS)
    v[ROWS], v[COLS], v[TILES] = p.mesh.rows, p.mesh.cols, p.mesh.tiles
    v[RATE] = p.mesh.symbol_rate_ghz * 1e9
    v[T_PROG] = p.mesh.program_time_us * 1e-6
    v[E_PROG] = p.mesh.program_energy_nj * 1e-9
    v[E_DAC] = p.dac.energy_pj * 1e-12
    v[E_ADC] = p.adc.energy_pj * 1e-12
    v[E_MAC] = p.digital.mac_energy_pj * 1e-12
    v[E_OP] = p.digital.op_energy_pj * 1e-12
    v[GOPS] = p.digital.gops * 1e9
    v[E_SRAM] = p.digital.sram_energy_pj_per_byte * 1e-12
    v[SRAM_BW] = p.digital.sram_bandwidth_gbs * 1e9
    return v


@njit(cache=True, parallel=True)
def price(phase, primitive, m, n, k, bits, fmt, count, activity, params, time_s, energy_j,
          extras):
    """Price every row (see module docstring); time -1 marks an unpriceable row."""
    rows, cols, tiles = params[ROWS], params[COLS], params[TILES]
    for i in prange(phase.size):
        prim = primitive[i]
        mm, nn, kk = float(m[i]), float(n[i]), float(k[i])
        reps = float(count[i])
        row_tiles = math.ceil(kk / rows)
        col_tiles = math.ceil(nn / cols)
        blocks = row_tiles * col_tiles
        rounds = math.ceil(blocks / tiles)
        if prim == P_MVM or prim == P_MVM_T:
            reload = max(blocks - tiles, 0.0)
            dac = mm * kk * col_tiles
            adc = mm * nn * row_tiles
            partial = mm * nn * (row_tiles - 1.0)
            sram = mm * kk * bits[i] / 8.0 + mm * nn * 4.0
            t = max(mm * rounds / params[RATE], sram / params[SRAM_BW]) \
                + math.ceil(reload / tiles) * params[T_PROG]
            time_s[i] = t * reps
            energy_j[i, 0] = (dac * params[E_DAC] + adc * params[E_ADC]) * reps
            energy_j[i, 1] = reload * rows * cols * params[E_PROG] * reps
            energy_j[i, 2] = partial * params[E_OP] * reps
            energy_j[i, 3] = sram * params[E_SRAM] * reps
            extras[i, 0] = dac * reps
            extras[i, 1] = adc * reps
            extras[i, 2] = mm * blocks * reps
            extras[i, 3] = reload * rows * cols * reps
            extras[i, 4] = partial * reps
            extras[i, 5] = sram * reps
        elif prim == P_UPDATE:
            macs = mm * kk * nn
            sram = (mm * kk + mm * nn) * 4.0 + kk * nn * 4.0
            t = max(macs / params[GOPS], sram / params[SRAM_BW]) + rounds * params[T_PROG]
            time_s[i] = t * reps
            energy_j[i, 1] = kk * nn * params[E_PROG] * reps
            energy_j[i, 2] = macs * params[E_MAC] * reps
            energy_j[i, 3] = sram * params[E_SRAM] * reps
            extras[i, 3] = kk * nn * reps
            extras[i, 4] = macs * reps
            extras[i, 5] = sram * reps
        elif prim == P_ELEMENTWISE or prim == P_REDUCE:
            ops = mm * kk
            sram = mm * nn * bits[i] / 8.0
            time_s[i] = max(ops / params[GOPS], sram / params[SRAM_BW]) * reps
            energy_j[i, 2] = ops * params[E_OP] * reps
            energy_j[i, 3] = sram * params[E_SRAM] * reps
            extras[i, 4] = ops * reps
            extras[i, 5] = sram * reps
        elif prim == P_WRITE:
            time_s[i] = rounds * params[T_PROG] * reps
            energy_j[i, 1] = mm * kk * nn * params[E_PROG] * reps
            extras[i, 3] = mm * kk * nn * reps
        else:
            time_s[i] = -1.0


def capabilities(spec) -> Capabilities:
    """Weights the tiles hold and the peak rate: every tile taking one input vector per
    symbol (rows x cols MACs each, 2 ops per MAC); digital products at the digital rate."""
    p = spec.params
    weights = p.mesh.tiles * p.mesh.rows * p.mesh.cols
    return Capabilities(peak_ops_per_s={"photonic": 2.0 * weights * p.mesh.symbol_rate_ghz * 1e9,
                                        "fp32": 2.0 * p.digital.gops * 1e9},
                        weight_capacity=weights)
