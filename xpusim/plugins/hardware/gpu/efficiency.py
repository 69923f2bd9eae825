"""How long a GEMM takes on a GPU, from the chip's structure rather than a fixed fraction of peak.

A GEMM library (cuBLAS, CUTLASS) cuts the M x N output into CTA tiles and runs them in waves
over the streaming multiprocessors (SMs), one tile per SM at a time; each tile streams its
K-long slices of A and B through the SM. For a tile ``tm x tn`` and a split-K factor ``s``:

    k'     = K / s rounded up to 128-byte shared-memory slabs
    t_tile = max(2 tm tn k' / (peak x sustained / SMs),         tensor cores, sustained rate
                 (tm + tn) k' a / (L2 bandwidth / SMs))          operands into the SM
    body   = ceil(tiles x s / SMs) x t_tile                      wave quantization
             + split-K fix-up (s > 1): a tile's last CTA sums s fp32 partial tiles (L2 -> SM)
             or, stream-K (s = 1): tiles / SMs x t_tile + one fp32 partial tile per SM
    time   = launch + M N c / HBM + max(body, (M K + K N) a / HBM)

(``a``/``c``: bytes per operand/output element; HBM is the achievable bandwidth). The output
is written at the end of each tile, after its main loop, so its HBM time adds to the body
rather than overlapping it. The time is the minimum over the tiles a library chooses from
(edges 64, 128, 192, 256 with ``tm x tn <= cta_tile_max``), split-K factors 1, 2, 4, 8, 16
and, on specs with ``gemm.stream_k``, stream-K (the K loops of all tiles spread evenly over the
SMs). Tile quantization (a 65-row GEMM pays for two 64-row tiles), wave quantization (tiles /
SMs rounded up), small M (few tiles: idle SMs, or split-K and its fix-up) and small K (launch,
output write and K-slab rounding dominate) all follow from these terms. ``sustained`` is the
fraction of the datasheet peak an SM's main loop keeps up in that format (power-limited
clocks, issue efficiency); each spec cites the measurement it comes from. Validation against
published measurements: docs/validation-gemm.md (``python benchmarks/gemm_validation.py``).

``price`` (cost.py) calls ``gemm_time`` per row. numba's on-disk cache of ``price`` does not
notice edits to this file: after changing it, delete the ``__pycache__`` folders (the GPU
twin test of ``price`` fails until then).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from xpusim.core.formats import MAX_FORMATS, format_code

from .params import GpuParams

NF = MAX_FORMATS
# Layout of the GEMM block of the packed parameter vector (cost.pack appends it).
SMS, L2_BW, HBM_BW, TILE_MAX, LAUNCH, STREAM_K = range(6)
SUSTAINED = 6             # NF entries: sustained fraction of peak per format code
N_PARAMS = SUSTAINED + NF

EDGES = (64, 128, 192, 256)
"""CTA tile edges: CUTLASS's SM80 tile list and SM90 WGMMA tiles (64 x N instructions times 1,
2 or 4) use 64, 128 and 256 (cutlass python/cutlass_library/generator.py, sm90_shapes.py);
192 is a WGMMA N (multiples of 8 up to 256, sm90_shapes.py) libraries use to avoid a last,
mostly idle wave."""
SPLITS = (1, 2, 4, 8, 16)
"""Split-K factors tried (powers of two, as cuBLAS heuristics use)."""
K_SLAB_BYTES = 128.0
"""K advances in 128-byte slabs (CUTLASS's 128-byte swizzled shared-memory tiles: 64 bf16, 128
fp8 or 32 fp32 elements): a K that is not a multiple is rounded up."""

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


@njit(cache=True)
def storage_bytes(bits):
    """Bytes an element occupies in memory: bits rounded up to a power of two (tf32's 19 -> 4)."""
    if bits <= 0:
        return 0.0
    return 2.0 ** math.ceil(math.log2(bits)) / 8.0


@njit(cache=True)
def _ceil_div(a, b):
    """ceil(a / b) for positive integers, by multiplication and one correction (no division)."""
    q = int(a * (1.0 / b))
    if q * b < a:
        q += 1
    elif (q - 1) * b >= a and q > 0:
        q -= 1
    return q


@njit(cache=True)
def gemm_time(m, n, k, in_bytes, out_bytes, peak, sustained, sms, l2_bw, hbm_bw, tile_max,
              launch, stream_k):
    """Seconds one (m x k) . (k x n) GEMM takes (see module docstring); launch included."""
    fm, fn, fk = float(m), float(n), float(k)
    s_per_flop = sms / (peak * sustained)      # on one SM, at the sustained rate
    s_per_byte = sms / l2_bw                   # operand bytes into one SM
    slab = max(1.0, K_SLAB_BYTES / in_bytes)   # a power of two, as the split factors: the
    per_slab = 1.0 / slab                      # products below are exact divisions
    n_sms = int(sms)
    body = np.inf
    for tm in EDGES:
        row_tiles = _ceil_div(m, tm)
        for tn in EDGES:
            if tm * tn > tile_max:
                continue
            tiles = row_tiles * _ceil_div(n, tn)
            # a tile's time is linear in its K length: tensor cores or operand feed, the slower
            per_k = max(2.0 * tm * tn * s_per_flop, (tm + tn) * in_bytes * s_per_byte)
            for s in SPLITS:
                if s > 1 and tiles * s > 2 * n_sms:
                    break
                t_tile = math.ceil(math.ceil(fk * (1.0 / s)) * per_slab) * slab * per_k
                b = _ceil_div(tiles * s, n_sms) * t_tile
                if s > 1:  # each tile's last CTA sums the s fp32 partial tiles through its SM
                    b += s * tm * tn * 4.0 * s_per_byte
                elif stream_k > 0 and tiles > n_sms:  # stream-K: K loops spread, a partial per SM
                    b = min(b, tiles / sms * t_tile + 2.0 * tm * tn * 4.0 * s_per_byte)
                body = min(body, b)
    t_in = (fm * fk + fk * fn) * in_bytes / hbm_bw
    return launch + fm * fn * out_bytes / hbm_bw + max(body, t_in)


@njit(cache=True, parallel=True)
def gemm_times(m, n, k, in_bytes, out_bytes, peak, sustained, g, out):
    """``gemm_time`` of every row (arrays of shapes and per-row format numbers) into ``out``."""
    for i in prange(m.size):
        out[i] = gemm_time(m[i], n[i], k[i], in_bytes[i], out_bytes[i], peak[i], sustained[i],
                           g[SMS], g[L2_BW], g[HBM_BW], g[TILE_MAX], g[LAUNCH], g[STREAM_K])
