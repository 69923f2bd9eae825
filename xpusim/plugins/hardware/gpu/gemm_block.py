"""The GEMM block of the GPU's packed cost vector: where ``efficiency.gemm_time``'s callers read
each structure number of the chip, and ``pack``. Numba-free, so that the cost hook and spec
listings import no numba."""

from __future__ import annotations

import numpy as np

from xpusim.core.formats import MAX_FORMATS, format_code

from .params import GpuParams

NF = MAX_FORMATS
# Layout of the GEMM block of the packed parameter vector (costmodel.pack appends it).
SMS, L2_BW, HBM_BW, TILE_MAX, LAUNCH, STREAM_K = range(6)
SUSTAINED = 6             # NF entries: sustained fraction of peak per format code
N_PARAMS = SUSTAINED + NF

_SUSTAINED_FIELD = {"fp32": "fp32", "tf32": "tf32", "bf16": "bf16", "fp16": "fp16",
                    "fp8-e4m3": "fp8", "fp8-e5m2": "fp8", "int8": "int8"}


def pack(p: GpuParams) -> np.ndarray:
    """The spec's GEMM-structure numbers in the order ``gemm_time``'s callers read them (SI)."""
    g = p.gemm
    v = np.zeros(N_PARAMS)
    v[SMS] = g.sm_count
    v[L2_BW] = g.l2_bandwidth_gbs * 1e9
    v[HBM_BW] = p.memory.hbm_bandwidth_gbs * 1e9 * p.memory.achievable_bandwidth_fraction
    v[TILE_MAX] = g.cta_tile_max
    v[LAUNCH] = p.launch_overhead_us * 1e-6
    v[STREAM_K] = 1.0 if g.stream_k else 0.0
    for name, field in _SUSTAINED_FIELD.items():
        v[SUSTAINED + format_code(name)] = getattr(g.sustained, field)
    return v
