"""GPU cost kernel: time per primitive, energy by MACs per format and bytes per level.

time  = count x GEMM time (tiles, waves, per-tile roofline, launch: efficiency.gemm_time) for
        mvm/mvm_t/update; count x (max(ops / (FP32 peak x compute fraction), HBM bytes / (BW x
        BW fraction)) + launch overhead) for elementwise/reduce
``matmul`` rows (products of two activations, ``count`` products of one batched kernel, as
attention runs them): the batch fills the SMs, so count x max(FLOPs / (peak x sustained
fraction), HBM bytes / (BW x BW fraction)) + one launch.
energy: compute = MACs x E_mac[fmt] (elementwise: ops x E_vector_op);
        off-chip = HBM bytes x E_hbm; on-chip = SRAM bytes x E_sram;
        static (added by the core) = static power x time.
HBM bytes count each operand once (GEMM tiles reuse operands on chip); on-chip bytes count
two operand reads per MAC divided by the GEMM tile edge (assumption: square tiles).
"""

from __future__ import annotations

import typing

import numpy as np
from numba import njit, prange

from xpusim.core.capabilities import Capabilities
from xpusim.core.formats import MAX_FORMATS, format_code
from xpusim.core.trace import PRIMITIVE

from . import efficiency
from .efficiency import gemm_time, storage_bytes
from .params import ComputeFormat, GpuParams

NF = MAX_FORMATS
# Layout of the packed parameter vector.
PEAK = 0                  # NF entries: peak FLOP/s (or OP/s) per format code; 0 = unsupported
MAC_PJ = NF               # NF entries: pJ per MAC per format code
S = 2 * NF                # scalars follow
COMPUTE_FRACTION, BW, BW_FRACTION, E_HBM, E_SRAM, TILE, E_VEC, LAUNCH, VEC_PEAK = range(S, S + 9)
GEMM = S + 9              # efficiency.N_PARAMS entries: the GEMM block (efficiency.pack)
N_PARAMS = GEMM + efficiency.N_PARAMS

COMPONENTS = ("compute", "onchip_memory", "offchip_memory")
EXTRAS = ("macs", "flops", "hbm_bytes", "onchip_bytes", "kernel_launches")

P_MVM, P_MVM_T, P_UPDATE = PRIMITIVE["mvm"], PRIMITIVE["mvm_t"], PRIMITIVE["update"]
P_ELEMENTWISE, P_REDUCE, P_WRITE = PRIMITIVE["elementwise"], PRIMITIVE["reduce"], PRIMITIVE["write"]
P_MATMUL = PRIMITIVE["matmul"]


def peak_flops(p: GpuParams) -> dict[str, float]:
    """Dense peak FLOP/s (OP/s for int8) per format the chip computes in (0 = not at all)."""
    rates = {"fp32": p.peak.fp32_tflops, "tf32": p.peak.tf32_tflops,
             "bf16": p.peak.bf16_tflops, "fp16": p.peak.fp16_tflops,
             "fp8-e4m3": p.peak.fp8_tflops, "fp8-e5m2": p.peak.fp8_tflops,
             "int8": p.peak.int8_tops}
    return {name: tflops * 1e12 for name, tflops in rates.items() if tflops > 0}


def capabilities(spec) -> Capabilities:
    """HBM capacity and the peak of every tensor-core format, ``compute_format`` first."""
    p = spec.params
    peaks = peak_flops(p)
    first = {p.compute_format: peaks[p.compute_format]} if p.compute_format in peaks else {}
    computable = typing.get_args(ComputeFormat)
    return Capabilities(memory_bytes=p.memory.hbm_capacity_gb * 1e9,
                        peak_ops_per_s={**first, **peaks},
                        format_settings={f: (f"compute_format={f}",) for f in peaks
                                         if f in computable},
                        notes=("peaks are dense (no structured sparsity)",))


def pack(p: GpuParams) -> np.ndarray:
    """The spec's numbers in the order ``price`` reads them (SI units: FLOP/s, B/s, J, s)."""
    v = np.zeros(N_PARAMS)
    per_format = {
        "fp32": (p.peak.fp32_tflops, p.mac_energy.fp32_pj),
        "tf32": (p.peak.tf32_tflops, p.mac_energy.tf32_pj),
        "bf16": (p.peak.bf16_tflops, p.mac_energy.bf16_pj),
        "fp16": (p.peak.fp16_tflops, p.mac_energy.fp16_pj),
        "fp8-e4m3": (p.peak.fp8_tflops, p.mac_energy.fp8_pj),
        "fp8-e5m2": (p.peak.fp8_tflops, p.mac_energy.fp8_pj),
        "int8": (p.peak.int8_tops, p.mac_energy.int8_pj),
    }
    for name, (tflops, pj) in per_format.items():
        v[PEAK + format_code(name)] = tflops * 1e12
        v[MAC_PJ + format_code(name)] = pj * 1e-12
    v[COMPUTE_FRACTION] = p.achievable_compute_fraction
    v[BW] = p.memory.hbm_bandwidth_gbs * 1e9
    v[BW_FRACTION] = p.memory.achievable_bandwidth_fraction
    v[E_HBM] = p.memory.hbm_energy_pj_per_byte * 1e-12
    v[E_SRAM] = p.memory.onchip_energy_pj_per_byte * 1e-12
    v[TILE] = p.memory.gemm_tile
    v[E_VEC] = p.vector_op_energy_pj * 1e-12
    v[LAUNCH] = p.launch_overhead_us * 1e-6
    v[VEC_PEAK] = p.peak.fp32_tflops * 1e12
    v[GEMM:] = efficiency.pack(p)
    return v


@njit(cache=True, parallel=True)
def price(phase, primitive, m, n, k, bits, fmt, count, activity, params, time_s, energy_j,
          extras):
    """Price every trace row (see module docstring); time -1 marks an unpriceable row."""
    bw = params[BW] * params[BW_FRACTION]
    for i in prange(phase.size):
        prim = primitive[i]
        nbytes = bits[i] / 8.0
        reps = float(count[i])
        if prim == P_MVM or prim == P_MVM_T or prim == P_UPDATE or prim == P_MATMUL:
            peak = params[PEAK + fmt[i]]
            if peak <= 0.0:
                time_s[i] = -1.0
                continue
            macs = float(m[i]) * float(n[i]) * float(k[i])
            if prim == P_UPDATE:  # pre, post in fmt; the k x n gradient leaves in fp32
                hbm = (float(m[i]) * float(k[i]) + float(m[i]) * float(n[i])) * nbytes \
                    + float(k[i]) * float(n[i]) * 4.0
            else:
                hbm = (float(m[i]) * float(k[i]) + float(k[i]) * float(n[i])
                       + float(m[i]) * float(n[i])) * nbytes
            onchip = 2.0 * macs * nbytes / params[TILE]
            a = storage_bytes(bits[i])
            sus = params[GEMM + efficiency.SUSTAINED + fmt[i]]
            g = params[GEMM:]
            if prim == P_MATMUL:
                # the row's products run as one batched kernel (attention) that fills the
                # SMs with all of them: sustained tensor-core rate or HBM, one launch
                t = max(2.0 * macs / (peak * sus), hbm / bw)
                time_s[i] = t * reps + g[efficiency.LAUNCH]
            elif prim == P_UPDATE:  # k x n fp32 gradient, reduced over the batch m
                t = gemm_time(k[i], n[i], m[i], a, 4.0, peak, sus, g[efficiency.SMS],
                              g[efficiency.L2_BW], g[efficiency.HBM_BW], g[efficiency.TILE_MAX],
                              g[efficiency.LAUNCH], g[efficiency.STREAM_K])
                time_s[i] = t * reps
            else:
                t = gemm_time(m[i], n[i], k[i], a, a, peak, sus, g[efficiency.SMS],
                              g[efficiency.L2_BW], g[efficiency.HBM_BW], g[efficiency.TILE_MAX],
                              g[efficiency.LAUNCH], g[efficiency.STREAM_K])
                time_s[i] = t * reps
            energy_j[i, 0] = macs * params[MAC_PJ + fmt[i]] * reps
            energy_j[i, 1] = onchip * params[E_SRAM] * reps
            energy_j[i, 2] = hbm * params[E_HBM] * reps
            extras[i, 0] = macs * reps
            extras[i, 1] = 2.0 * macs * reps
            extras[i, 2] = hbm * reps
            extras[i, 3] = onchip * reps
            extras[i, 4] = 1.0 if prim == P_MATMUL else reps
        elif prim == P_ELEMENTWISE or prim == P_REDUCE:
            ops = float(m[i]) * float(k[i])
            hbm = float(m[i]) * float(n[i]) * nbytes
            t = max(ops / (params[VEC_PEAK] * params[COMPUTE_FRACTION]), hbm / bw) + params[LAUNCH]
            time_s[i] = t * reps
            energy_j[i, 0] = ops * params[E_VEC] * reps
            energy_j[i, 2] = hbm * params[E_HBM] * reps
            extras[i, 1] = ops * reps
            extras[i, 2] = hbm * reps
            extras[i, 4] = reps
        elif prim == P_WRITE:  # weights copied into HBM
            hbm = float(n[i]) * float(k[i]) * nbytes * float(m[i])
            time_s[i] = (hbm / bw + params[LAUNCH]) * reps
            energy_j[i, 2] = hbm * params[E_HBM] * reps
            extras[i, 2] = hbm * reps
            extras[i, 4] = reps
        else:
            time_s[i] = -1.0


def summarize(totals: dict[str, float], hbm_bandwidth_gbs: float) -> dict[str, float]:
    """Achieved FLOP/s and HBM bandwidth over the priced rows, and the share of peak HBM
    bandwidth used (launch overheads and compute-bound time included)."""
    t = totals.get("time_s", 0.0)
    if t <= 0:
        return {}
    hbm = totals.get("hbm_bytes", 0.0)
    return {"achieved_tflops": totals.get("flops", 0.0) / t / 1e12,
            "hbm_gbs": hbm / t / 1e9,
            "hbm_bandwidth_utilization": hbm / t / (hbm_bandwidth_gbs * 1e9)}
