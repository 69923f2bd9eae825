"""Twin test cases for the systolic backend's kernels (numba kernel vs NumPy reference)."""

from __future__ import annotations

import numpy as np

from xpusim.core import Twin

from . import compute, reference
from .cost_twins import COST_TWINS


def _quantize_args(rng: np.random.Generator, stochastic: bool = False) -> list:
    r, c = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    x = (rng.standard_normal((r, c)) * 10.0 ** rng.uniform(-3, 3)).astype(np.float32)
    x.flat[: min(4, x.size)] = [0.5, -0.5, 1.5, 2.5][: min(4, x.size)]  # ties
    bits = int(rng.choice([2, 4, 8, 16]))
    qmax = np.float32(2 ** (bits - 1) - 1)
    scale = (np.abs(x).max(axis=0) / qmax + np.float32(1e-6)).astype(np.float32)
    if rng.random() < 0.5:
        scale[:] = 1.0  # exact ties of x.5 land on the grid
    zero = np.float32(rng.integers(-3, 4))
    u = rng.random((r, c), dtype=np.float32) if stochastic else compute.NO_DRAWS.copy()
    return [x, u, scale, zero, -qmax, qmax, np.empty_like(x)]


def _acc_args(rng: np.random.Generator) -> list:
    r, c = int(rng.integers(1, 30)), int(rng.integers(1, 30))
    bits = int(rng.choice([8, 16, 24, 32]))
    hi = (1 << (bits - 1)) - 1
    acc = rng.integers(-hi - 1, hi + 1, (r, c)).astype(np.int64)
    part = rng.integers(-(1 << 24), 1 << 24, (r, c)).astype(np.float32)
    return [acc, part, -hi - 1, hi]


def _gemm_args(rng: np.random.Generator) -> list:
    m, k, n = (int(rng.integers(1, 70)) for _ in range(3))
    bits = int(rng.choice([2, 4, 8]))
    q = 2 ** (bits - 1) - 1
    a = rng.integers(-q, q + 1, (m, k)).astype(np.float32)
    b = rng.integers(-q, q + 1, (k, n)).astype(np.float32)
    if rng.random() < 0.4:  # int16 codes: float64 passes, or float32 passes that split K
        a = rng.integers(-32767, 32768, (m, k)).astype(np.float32)
        b = rng.integers(-32767, 32768, (k, n)).astype(np.float32) if rng.random() < 0.5 \
            else rng.integers(-300, 301, (k, n)).astype(np.float32)
    return [a, b, int(rng.integers(1, 20)), int(rng.choice([8, 12, 16, 32, 48]))]


TWINS = {
    "quantize_int": Twin(compute.quantize_int, reference.quantize_int, _quantize_args),
    "quantize_int_parallel": Twin(compute.quantize_int_parallel, reference.quantize_int,
                                  _quantize_args),
    "quantize_int_stochastic": Twin(compute.quantize_int, reference.quantize_int,
                                    lambda rng: _quantize_args(rng, stochastic=True)),
    "quantize_int_stochastic_parallel": Twin(compute.quantize_int_parallel,
                                             reference.quantize_int,
                                             lambda rng: _quantize_args(rng, stochastic=True)),
    "accumulate_saturate": Twin(compute.accumulate_saturate, reference.accumulate_saturate,
                                _acc_args),
    "accumulate_saturate_parallel": Twin(compute.accumulate_saturate_parallel,
                                         reference.accumulate_saturate, _acc_args),
    "int_gemm": Twin(compute.int_gemm, reference.int_gemm, _gemm_args),
    **COST_TWINS,
}
