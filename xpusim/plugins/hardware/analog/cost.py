"""Analog cost kernel: tile reads, DAC/ADC conversions, weight programming, digital periphery.

mvm / mvm_t (analog), per input vector. A weight matrix of k inputs x n outputs occupies k rows
and S n columns (S = ``tile.weight_slices``, one column per bit slice); mvm drives the rows and
reads the columns, mvm_t drives the columns and reads the rows. With I driven lines over tiles
of ``rows_in`` and O read lines over tiles of ``cols_out``: T_in = ceil(I/rows_in),
T_out = ceil(O/cols_out), tiles = T_in T_out, rounds = ceil(tiles / tiles_on_chip):
  time   = (read_time + min(columns_per_adc, cols_out) x adc_conversion_time) x rounds
           (tiles in parallel; the ADCs of a tile are shared by ``columns_per_adc`` columns)
  energy = dac: I x T_out x E_dac; array: k x n x S x E_cell_read;
           adc: O x T_in x Walden FoM x 2^bits (REFERENCES E15, E16);
           digital: (O x T_in + outputs) ops (partial sums, slice shift-add, scaling) x E_op.
  capacity: a product needing more tiles than the chip has (rounds > 1) cannot stay resident:
           every row reprograms all its tiles (program-and-verify, as ``write`` below, time
           paid once per round) and counts them in ``tile_reprogrammings``. A model whose layers
           fit one by one but not together is charged by the device (a ``write`` row per use).
write (analog): program-and-verify of 2 S cells (G+, G-, per slice) per weight:
  energy = 2 S k n x iterations x E_pulse; time = rows used x iterations x t_pulse (tiles
  parallel, rounds as above).
update (analog, in-situ/hybrid): m x BL pulse slots, whole array in parallel, where the row's
  ``bits`` is BL (the pulse-train slots per sample the device used);
  energy = activity x m x BL x k x n x E_update_pulse (activity = fraction of the m BL k n
  coincidence opportunities that fired) + the train generation (m (k + n) digital ops).
  Tiki-Taka transfers add one-hot reads (mvm rows with k = 1) and one-row writes (update rows
  with k = 1).
fp32 rows (digital periphery): ops x E_op, ops / throughput; fp32 writes: SRAM bytes.
matmul (a product of two activations: attention) runs in the digital periphery, fp32.
``tiles_used``: tiles one product occupies, times ``count`` (counters add over rows; for one
product, as `xpusim price` prices it, it is the tiles it needs, against ``tiles_on_chip``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from xpusim.core.trace import PRIMITIVE

from .costmodel import (ADC_E, ADC_T, CELL_E, COLS, COLS_PER_ADC, DAC_E, F_ANALOG_CODE, OP_E,
                        OPS_S, PV_E, PV_ITER, PV_T, READ_T, ROWS, SLICES, SRAM_E, TILES, UP_E,
                        UP_T)
# the layout's other half, re-exported for the twins and callers that name ``cost``
from .costmodel import ANALOG, COMPONENTS, EXTRAS, N_PARAMS, capabilities, pack  # noqa: F401
from .costmodel import summarize  # noqa: F401

P_MVM, P_MVM_T, P_UPDATE, P_WRITE = (PRIMITIVE["mvm"], PRIMITIVE["mvm_t"], PRIMITIVE["update"],
                                     PRIMITIVE["write"])
P_MATMUL = PRIMITIVE["matmul"]


@njit(cache=True, parallel=True)
def price(phase, primitive, m, n, k, bits, fmt, count, activity, params, time_s, energy_j,
          extras):
    """Price every trace row (module docstring); -1 marks an unpriceable row."""
    for i in prange(phase.size):
        prim = primitive[i]
        reps = float(count[i])
        mm, nn, kk = float(m[i]), float(n[i]), float(k[i])
        sl = params[SLICES]
        analog = fmt[i] == int(params[F_ANALOG_CODE])
        if analog and (prim == P_MVM or prim == P_MVM_T):
            if prim == P_MVM:
                rin, cout = params[ROWS], params[COLS]
                lines_in, lines_out, w_rows = kk, nn * sl, kk
            else:
                rin, cout = params[COLS], params[ROWS]
                lines_in, lines_out, w_rows = kk * sl, nn, nn
            t_in = math.ceil(lines_in / rin)
            t_out = math.ceil(lines_out / cout)
            tiles = t_in * t_out
            rounds = math.ceil(tiles / params[TILES])
            t_vec = (params[READ_T] + min(params[COLS_PER_ADC], cout) * params[ADC_T]) * rounds
            time_s[i] = mm * t_vec * reps
            dac = mm * lines_in * t_out
            adc = mm * lines_out * t_in
            ops = mm * (lines_out * t_in + nn)
            energy_j[i, 0] = dac * params[DAC_E] * reps
            energy_j[i, 1] = mm * kk * nn * sl * params[CELL_E] * reps
            energy_j[i, 2] = adc * params[ADC_E] * reps
            energy_j[i, 3] = ops * params[OP_E] * reps
            extras[i, 0] = adc * reps
            extras[i, 1] = dac * reps
            extras[i, 2] = mm * tiles * reps
            extras[i, 3] = mm * nn * kk * reps
            extras[i, 7] = tiles * reps
            if rounds > 1.0:  # does not fit: reprogram every tile for each use
                cells = 2.0 * kk * nn * sl
                time_s[i] += (rounds * min(w_rows, params[ROWS]) * params[PV_ITER]
                              * params[PV_T] * reps)
                energy_j[i, 4] = cells * params[PV_ITER] * params[PV_E] * reps
                extras[i, 4] = cells * params[PV_ITER] * reps
                extras[i, 6] = tiles * reps
        elif analog and prim == P_WRITE:
            cells = 2.0 * kk * nn * mm * sl
            rows_used = min(kk, params[ROWS])
            tiles = math.ceil(kk / params[ROWS]) * math.ceil(nn * sl / params[COLS])
            rounds = math.ceil(tiles / params[TILES])
            time_s[i] = mm * rows_used * params[PV_ITER] * params[PV_T] * rounds * reps
            energy_j[i, 4] = cells * params[PV_ITER] * params[PV_E] * reps
            extras[i, 4] = cells * params[PV_ITER] * reps
            extras[i, 6] = tiles * mm * reps
        elif analog and prim == P_UPDATE:
            slots = mm * float(bits[i])
            pulses = activity[i] * slots * kk * nn
            time_s[i] = slots * params[UP_T] * reps
            energy_j[i, 4] = pulses * params[UP_E] * reps
            energy_j[i, 3] = (mm * (kk + nn)) * params[OP_E] * reps  # pulse-train generation
            extras[i, 5] = pulses * reps
        elif prim == P_MVM or prim == P_MVM_T or prim == P_UPDATE or prim == P_MATMUL:
            # digital (fp32) product in the periphery: hardware-aware training's own products
            # and the products of two activations (attention), which no crossbar holds
            ops = 2.0 * mm * nn * kk
            time_s[i] = ops / params[OPS_S] * reps
            energy_j[i, 3] = ops * params[OP_E] * reps
            extras[i, 3] = mm * nn * kk * reps
        elif prim == P_WRITE:  # digital weight copy into SRAM
            nbytes = mm * nn * kk * bits[i] / 8.0
            time_s[i] = nbytes / 64.0 / params[OPS_S] * reps
            energy_j[i, 4] = nbytes * params[SRAM_E] * reps
        else:  # elementwise / reduce in the digital periphery
            ops = mm * kk
            time_s[i] = ops / params[OPS_S] * reps
            energy_j[i, 3] = (ops * params[OP_E] + mm * nn * bits[i] / 8.0 * params[SRAM_E]) * reps
