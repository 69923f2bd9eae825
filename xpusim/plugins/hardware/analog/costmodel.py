"""The numba-free half of the analog cost model (``cost.py``'s docstring explains it): the
packed parameter vector's layout and ``pack``, the ``analog`` format, the columns the cost
kernel fills, ``summarize`` and the spec's declared ``capabilities``. Listing specs and
plugins imports only this."""

from __future__ import annotations

import numpy as np

from xpusim.core.capabilities import Capabilities
from xpusim.core.formats import FORMATS, Format

COMPONENTS = ("dac", "array", "adc", "digital", "write")
EXTRAS = ("adc_conversions", "dac_conversions", "tile_reads", "macs", "programming_pulses",
          "update_pulses", "tile_reprogrammings", "tiles_used")
(ROWS, COLS, TILES, READ_T, CELL_E, DAC_E, ADC_E, ADC_T, COLS_PER_ADC, OP_E, OPS_S, SRAM_E,
 PV_ITER, PV_E, PV_T, UP_E, UP_T, SLICES, F_ANALOG_CODE) = range(19)
N_PARAMS = 19

ANALOG = Format("analog", None, "device", "conductances read through DACs and ADCs; bits = "
                "DAC resolution (update rows: pulse-train slots per sample)")
FORMATS.register(ANALOG)


def pack(p) -> np.ndarray:
    """Spec numbers in SI units, in the order ``price`` reads them."""
    v = np.zeros(N_PARAMS)
    v[ROWS], v[COLS], v[TILES] = p.tile.rows, p.tile.cols, p.tile.tiles_on_chip
    v[READ_T] = p.tile.read_time_ns * 1e-9
    v[CELL_E] = p.tile.cell_read_energy_fj * 1e-15
    v[DAC_E] = p.dac.energy_pj * 1e-12
    v[ADC_E] = p.adc.walden_fom_fj * 1e-15 * 2.0 ** p.adc.bits
    v[ADC_T] = p.adc.conversion_time_ns * 1e-9
    v[COLS_PER_ADC] = p.adc.columns_per_adc
    v[OP_E] = p.digital_op_energy_pj * 1e-12
    v[OPS_S] = p.digital_ops_per_s
    v[SRAM_E] = p.sram_energy_pj_per_byte * 1e-12
    v[PV_ITER] = p.pcm.program_verify_iterations
    v[PV_E] = p.pcm.program_pulse_energy_pj * 1e-12
    v[PV_T] = p.pcm.program_pulse_time_ns * 1e-9
    v[UP_E] = p.pulsed.pulse_energy_pj * 1e-12
    v[UP_T] = p.pulsed.pulse_time_ns * 1e-9
    v[SLICES] = p.tile.weight_slices
    # the format's code travels as data: a cached kernel must not keep the code "analog" had
    # in the process that compiled it (codes follow the order plugins register formats)
    v[F_ANALOG_CODE] = FORMATS.code("analog")
    return v


def summarize(totals, tiles_on_chip=0):
    """TOPS (2 ops per MAC) and TOPS/W over the priced rows; the chip's tile budget beside the
    ``tiles_used`` counter."""
    ops = 2.0 * totals.get("macs", 0.0)
    t, e = totals.get("time_s", 0.0), totals.get("energy_j", 0.0)
    return {"tops": ops / t / 1e12 if t > 0 else 0.0,
            "tops_per_w": ops / e / 1e12 if e > 0 else 0.0,
            "tiles_on_chip": float(tiles_on_chip)}


def capabilities(spec) -> Capabilities:
    """Weights the tiles hold (cells over bit slices) and the peak analog rate: every tile
    reading at once, one read plus the conversions of its multiplexed ADCs per input vector
    (the bound ``price`` charges); digital periphery products at its throughput."""
    p = spec.params
    t = p.tile
    t_vec = t.read_time_ns * 1e-9 + min(p.adc.columns_per_adc, t.cols) * \
        p.adc.conversion_time_ns * 1e-9
    weights = t.tiles_on_chip * t.rows * t.cols / t.weight_slices
    return Capabilities(
        peak_ops_per_s={"analog": 2.0 * weights / t_vec, "fp32": p.digital_ops_per_s},
        weight_capacity=weights,
        # in-situ training moves the weights by pulse trains (plain SGD, or a Tiki-Taka-family
        # rule): no digital optimizer state exists to apply Adam or momentum with
        optimizers={"sgd"} if p.training_mode == "in-situ" else None,
        notes=("no off-chip memory declared: weights live in the tiles, activations in the "
               "digital periphery",))
