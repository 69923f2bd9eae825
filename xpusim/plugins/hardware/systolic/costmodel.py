"""The numba-free half of the systolic cost model (``cost.py``'s docstring explains it): the
packed parameter vector's layout and ``pack`` (with the process-node energy scaling), the
columns the cost kernel fills, ``summarize`` and the spec's declared ``capabilities``. Listing
specs and plugins imports only this."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpusim.core.capabilities import Capabilities
from xpusim.core.formats import MAX_FORMATS, format_code
from xpusim.numerics.standard import FLOATS, INTS

DATAFLOW = {"ws": 0, "os": 1, "is": 2}
"""Dataflow codes as ``compute_cycles`` and the cost kernel take them."""

COMPONENTS = ("mac", "accumulate", "sram", "dram", "vector")
EXTRAS = ("cycles", "compute_cycles", "stall_cycles", "macs", "mac_slots", "passes",
          "sram_read_bytes", "sram_write_bytes", "dram_bytes", "vector_ops")
"""Counters per row (all repetitions): ``cycles`` (array clock cycles the row takes),
``compute_cycles`` (SCALE-Sim cycles x passes, or vector-unit cycles), ``stall_cycles``
(cycles - compute_cycles: waiting on DRAM), ``mac_slots`` (cycles x rows x cols x arrays:
what the arrays could have done; utilization = macs / mac_slots), ``passes`` (operand-slice
passes, times repetitions)."""

NF = MAX_FORMATS
(ROWS, COLS, ARRAYS, DF, CLOCK, MAC_BITS, FLOAT_MACS, ACC_BITS, LANES, IBUF, WBUF, OBUF, BW,
 E_INT8_MULT, E_INT32_ADD, E_FP32_ADD, E_SRAM, E_DRAM, E_VEC, NODE_FACTOR) = range(20)
MULT_F = 20                # NF entries: J per float multiply by format code (0: not a float)
UNPRICEABLE = MULT_F + NF  # NF entries: 1 where no GEMM can run in that format
N_PARAMS = UNPRICEABLE + NF

SIGNIFICAND_BITS = {"fp16": 11, "tf32": 11, "bf16": 8, "fp8-e4m3": 4, "fp8-e5m2": 3}
"""Significand bits (hidden bit included) of the float formats scaled from fp16."""

# Stillmaker & Baas 2017 energy fits f = a V^2 + b V + c (see cost.py's docstring).
NODE_ENERGY_FIT = {
    180: (0.0, 24.64, -17.98), 130: (7.171, -6.709, 2.904), 90: (4.762, -4.781, 2.092),
    65: (3.755, -4.398, 1.975), 45: (1.018, -0.3107, 0.1539), 32: (0.8367, -0.4341, 0.1701),
    20: (0.373, -0.1582, 0.04104), 16: (0.2958, -0.1241, 0.03024),
    14: (0.2363, -0.09675, 0.02239), 10: (0.2068, -0.09311, 0.02375),
    7: (0.1776, -0.09097, 0.02447),
}
NODE_VDD = {180: 1.8, 130: 1.3, 90: 1.2, 65: 1.1, 45: 0.9, 32: 0.9, 20: 0.8, 16: 0.8,
            14: 0.8, 10: 0.75, 7: 0.7}
"""assumption: nominal core supply per node (45 nm at Horowitz's 0.9 V)."""


def node_energy(nm: float) -> float:
    """Stillmaker-Baas energy per operation (arbitrary units) at node ``nm``, nominal Vdd."""
    nodes = sorted(NODE_ENERGY_FIT)
    at = {n: _fit(n) for n in nodes}
    if nm <= nodes[0]:
        return at[nodes[0]]
    if nm >= nodes[-1]:
        return at[nodes[-1]]
    for lo, hi in zip(nodes, nodes[1:]):
        if lo <= nm <= hi:
            t = (nm - lo) / (hi - lo)
            return at[lo] + t * (at[hi] - at[lo])
    raise AssertionError(nm)  # pragma: no cover


def _fit(node: int) -> float:
    a, b, c = NODE_ENERGY_FIT[node]
    v = NODE_VDD[node]
    return a * v * v + b * v + c


def node_factor(process_nm: float, reference_nm: float = 45.0) -> float:
    """Factor taking a logic/SRAM energy from ``reference_nm`` to ``process_nm``."""
    return node_energy(process_nm) / node_energy(reference_nm)


def pack(p) -> np.ndarray:
    """The spec's numbers in SI units (J, B, B/s, Hz), in the order ``price`` reads them."""
    e, mem = p.energy, p.memory
    s = node_factor(p.process_nm, e.reference_node_nm)
    v = np.zeros(N_PARAMS)
    v[ROWS], v[COLS], v[ARRAYS] = p.array_rows, p.array_cols, p.num_arrays
    v[DF] = DATAFLOW[p.dataflow]
    v[CLOCK] = p.clock_mhz * 1e6
    v[MAC_BITS] = p.mac_bits
    v[FLOAT_MACS] = 1.0 if p.float_macs else 0.0
    v[ACC_BITS] = p.accumulator_bits
    v[LANES] = p.vector_lanes
    v[IBUF] = mem.input_buffer_kib * 1024.0
    v[WBUF] = mem.weight_buffer_kib * 1024.0
    v[OBUF] = mem.output_buffer_kib * 1024.0
    v[BW] = mem.dram_bandwidth_gbs * 1e9
    v[E_INT8_MULT] = e.int8_mult_pj * 1e-12 * s
    v[E_INT32_ADD] = e.int32_add_pj * 1e-12 * s
    v[E_FP32_ADD] = e.fp32_add_pj * 1e-12 * s
    v[E_SRAM] = e.sram_pj_per_byte * 1e-12 * s
    v[E_DRAM] = e.dram_pj_per_byte * 1e-12
    v[E_VEC] = e.vector_op_pj * 1e-12 * s
    v[NODE_FACTOR] = s
    for name, p_bits in SIGNIFICAND_BITS.items():
        v[MULT_F + format_code(name)] = e.fp16_mult_pj * 1e-12 * s * (p_bits / 11.0) ** 2
    v[MULT_F + format_code("fp32")] = e.fp32_mult_pj * 1e-12 * s
    v[MULT_F + format_code("fp64")] = e.fp32_mult_pj * 1e-12 * s * (53.0 / 24.0) ** 2
    # the array multiplies integers of any width, floats only with float MACs; formats of
    # other hardware (conductances, spikes, ...) cannot run on it
    v[UNPRICEABLE:UNPRICEABLE + NF] = 1.0
    for f in INTS + (FLOATS if p.float_macs else ()):
        v[UNPRICEABLE + format_code(f.name)] = 0.0
    return v


def summarize(totals: dict[str, float], params: Any = None) -> dict[str, float]:
    """Ratios over the priced rows: utilization, stall share, achieved TOPS, TOPS/W, bytes/MAC.

    ``utilization`` = MACs / (cycles x rows x cols x arrays) (the fraction of MAC slots used
    over the whole time, stalls and vector work included); ``compute_utilization`` the same
    over compute cycles only (the array's mapping efficiency, stalls excluded).
    """
    macs = totals.get("macs", 0.0)
    slots = totals.get("mac_slots", 0.0)
    cycles = totals.get("cycles", 0.0)
    ccycles = totals.get("compute_cycles", 0.0)
    t, e = totals.get("time_s", 0.0), totals.get("energy_j", 0.0)
    ops = 2.0 * macs
    per_cycle = slots / cycles if cycles > 0 else 0.0
    return {
        "utilization": macs / slots if slots > 0 else 0.0,
        "compute_utilization": macs / (ccycles * per_cycle) if ccycles > 0 and per_cycle > 0
        else 0.0,
        "stall_fraction": totals.get("stall_cycles", 0.0) / cycles if cycles > 0 else 0.0,
        "tops": ops / t / 1e12 if t > 0 else 0.0,
        "tops_per_w": ops / e / 1e12 if e > 0 else 0.0,
        "dram_bytes_per_mac": totals.get("dram_bytes", 0.0) / macs if macs > 0 else 0.0,
        "sram_bytes_per_mac": (totals.get("sram_read_bytes", 0.0)
                               + totals.get("sram_write_bytes", 0.0)) / macs if macs > 0
        else 0.0,
    }


def capabilities(spec) -> Capabilities:
    """DRAM capacity, buffer SRAM and the peak of every operand format: rows x cols x arrays
    MACs per cycle over ``passes = ceil(bits / mac_bits)^2`` (what ``price`` charges), the
    format of the forward GEMM first."""
    from .device import _wider
    from .params import FLOAT_BITS, INT_BITS

    p = spec.params
    per_cycle = 2.0 * p.array_rows * p.array_cols * p.num_arrays * p.clock_mhz * 1e6
    names = [*INT_BITS, *(FLOAT_BITS if p.float_macs else ())]
    default = _wider(p.numerics.activations, p.numerics.weights)[1]
    order = ([default] if default in names else []) + [n for n in names if n != default]

    def peak(name: str) -> float:
        bits = {**INT_BITS, **FLOAT_BITS}[name]
        slices = -(-bits // p.mac_bits)
        return per_cycle / (slices * slices)

    m = p.memory
    return Capabilities(memory_bytes=m.dram_capacity_gib * 2.0 ** 30,
                        peak_ops_per_s={n: peak(n) for n in order},
                        onchip_bytes=(m.input_buffer_kib + m.weight_buffer_kib
                                      + m.output_buffer_kib) * 1024.0)
