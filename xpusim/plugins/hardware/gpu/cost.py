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
Convolutions run as implicit GEMMs: a row with ``inputs`` (the image's values) reads that
image from HBM instead of its m x k patch matrix (``mvm``, and the activations of ``update``)
and writes the input error as that image (``mvm_t``); the tiles still see the patches.
"""

from __future__ import annotations

from numba import njit, prange

from xpusim.core.trace import PRIMITIVE

from . import efficiency
from .costmodel import (BW, BW_FRACTION, COMPONENTS, COMPUTE_FRACTION, E_HBM,  # noqa: F401
                        E_SRAM, E_VEC, EXTRAS, GEMM, LAUNCH, MAC_PJ, N_PARAMS, NF, PEAK, S,
                        TILE, VEC_PEAK, capabilities, pack, peak_flops, summarize)
from .efficiency import gemm_time, storage_bytes

P_MVM, P_MVM_T, P_UPDATE = PRIMITIVE["mvm"], PRIMITIVE["mvm_t"], PRIMITIVE["update"]
P_ELEMENTWISE, P_REDUCE, P_WRITE = PRIMITIVE["elementwise"], PRIMITIVE["reduce"], PRIMITIVE["write"]
P_MATMUL = PRIMITIVE["matmul"]


@njit(cache=True, parallel=True)
def price(phase, primitive, m, n, k, bits, fmt, count, activity, samples, inputs, params,
          time_s, energy_j, extras):
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
            image = float(inputs[i]) if prim != P_MATMUL else 0.0  # > 0: a convolution's
            a_in = image if image > 0.0 and prim != P_MVM_T else -1.0
            o_out = image if image > 0.0 and prim == P_MVM_T else -1.0
            if prim == P_UPDATE:  # pre, post in fmt; the k x n gradient leaves in fp32
                pre = a_in if a_in > 0.0 else float(m[i]) * float(k[i])
                hbm = (pre + float(m[i]) * float(n[i])) * nbytes \
                    + float(k[i]) * float(n[i]) * 4.0
            else:
                a_el = a_in if a_in > 0.0 else float(m[i]) * float(k[i])
                o_el = o_out if o_out > 0.0 else float(m[i]) * float(n[i])
                hbm = (a_el + float(k[i]) * float(n[i]) + o_el) * nbytes
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
                              g[efficiency.LAUNCH], g[efficiency.STREAM_K], a_in, -1.0)
                time_s[i] = t * reps
            else:
                t = gemm_time(m[i], n[i], k[i], a, a, peak, sus, g[efficiency.SMS],
                              g[efficiency.L2_BW], g[efficiency.HBM_BW], g[efficiency.TILE_MAX],
                              g[efficiency.LAUNCH], g[efficiency.STREAM_K], a_in, o_out)
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

