"""Speed of the systolic backend's compute kernels, as ratios against NumPy in the same process.

1. The int8 GEMM kernel (1024 x 1024 x 1024, exact integer arithmetic with a saturating 32-bit
   accumulator, tpu-v1's 256-term folds) vs a NumPy float32 matmul of the same shape
   (target: <= 2x).
2. The quantize kernel (float32 -> int8 codes, per-channel scales) and dequantization
   (codes x scales) on 16 Mi elements, as effective bandwidth (bytes read + written per
   second) against a NumPy float32 copy of the same array (the machine's memory bandwidth
   as NumPy sees it; target: near 1x).

    python benchmarks/bench_systolic.py
"""

from __future__ import annotations

import time

import numpy as np

from xpusim.core.plugins import get_plugin_manager
from xpusim.plugins.hardware.systolic import quant
from xpusim.plugins.hardware.systolic.compute import exact_chunk


def best(f, reps=7):
    f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return min(ts)


def main() -> None:
    pm = get_plugin_manager()
    spec = pm.load_spec("tpu-v1")
    k = pm.compute_kernels(spec)
    rng = np.random.default_rng(0)
    n = 1024
    a = rng.integers(-127, 128, (n, n)).astype(np.float32)
    b = rng.integers(-127, 128, (n, n)).astype(np.float32)
    chunk = exact_chunk(127 * 127, spec.params.array_rows)
    t_int8 = best(lambda: k.int_gemm(a, b, chunk, spec.params.accumulator_bits))
    t_np = best(lambda: a @ b)
    print(f"int8 GEMM {n}^3 (fold {chunk}): {t_int8 * 1e3:.1f} ms; numpy float32 matmul "
          f"{t_np * 1e3:.1f} ms; ratio {t_int8 / t_np:.2f}x (target <= 2x)")

    x = rng.standard_normal((4096, 4096)).astype(np.float32)
    scale = (np.abs(x).max(axis=0) / 127).astype(np.float32)
    t_q = best(lambda: k.quantize_codes(x, scale, 0.0, -127.0, 127.0), reps=5)
    q = quant.QTensor(k.quantize_codes(x, scale, 0.0, -127.0, 127.0), scale, "int8", 127.0)
    t_dq = best(q.value, reps=5)
    t_copy = best(lambda: x.copy(), reps=5)
    gb = 2 * x.nbytes / 1e9  # read + write, both float32 containers
    print(f"quantize 16 Mi values: {gb / t_q:.1f} GB/s, dequantize {gb / t_dq:.1f} GB/s, "
          f"numpy copy {gb / t_copy:.1f} GB/s; ratios {t_q / t_copy:.2f}x, "
          f"{t_dq / t_copy:.2f}x of copy time")


if __name__ == "__main__":
    main()
