"""Twin test cases for the GPU backend's kernels (numba kernel vs NumPy reference)."""

from __future__ import annotations

import numpy as np

from xpusim.core import Twin
from xpusim.core.formats import FORMATS
from xpusim.core.trace import PRIMITIVES
from xpusim.numerics import formats, reference as formats_reference
from xpusim.numerics.formats import FLOAT_FORMATS

from . import cost, efficiency, reference

EDGES = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 448.0, 464.0, 480.0,
                  65504.0, 65520.0, 57344.0, 61440.0, 1e-40, -1e-45, 6e-8, 3e-8,
                  np.finfo(np.float32).max, -np.finfo(np.float32).max], dtype=np.float32)


def _floats(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(0, 3000))
    mags = 10.0 ** rng.uniform(-44, 38, n)
    x = (rng.standard_normal(n) * mags).astype(np.float32)
    return np.concatenate([x, EDGES])


def _round_args(rng: np.random.Generator) -> list:
    fmt = FLOAT_FORMATS[list(FLOAT_FORMATS)[int(rng.integers(len(FLOAT_FORMATS)))]]
    x = _floats(rng)
    return [x, np.empty_like(x), *fmt.kernel_args()]


def _round_sr_args(rng: np.random.Generator) -> list:
    fmt = FLOAT_FORMATS[list(FLOAT_FORMATS)[int(rng.integers(len(FLOAT_FORMATS)))]]
    x = _floats(rng)
    return [x, rng.random(x.shape), np.empty_like(x), *fmt.kernel_args()]


def _gemm_block(rng: np.random.Generator) -> np.ndarray:
    """A random but physical GEMM parameter block (efficiency.pack's layout)."""
    g = np.zeros(efficiency.N_PARAMS)
    g[efficiency.SMS] = rng.integers(8, 200)
    g[efficiency.L2_BW] = rng.uniform(1e12, 2e13)
    g[efficiency.HBM_BW] = rng.uniform(5e11, 8e12)
    g[efficiency.TILE_MAX] = rng.choice([4096, 8192, 16384, 32768, 65536])
    g[efficiency.LAUNCH] = rng.uniform(0.0, 1e-5)
    g[efficiency.STREAM_K] = rng.integers(0, 2)
    g[efficiency.SUSTAINED:] = rng.uniform(0.3, 1.0, efficiency.NF)
    return g


def _gemm_args(rng: np.random.Generator) -> list:
    n = int(rng.integers(0, 300))
    dims = [rng.integers(1, 20000, n) for _ in range(3)]
    edge = np.array([0, 1, 63, 64, 65, 128, 255, 8192])
    dims = [np.concatenate([d, rng.permutation(edge)]).astype(np.int64) for d in dims]
    rows = dims[0].size
    in_b = rng.choice([0.5, 1.0, 2.0, 4.0], rows)
    return [*dims, in_b, rng.choice([1.0, 2.0, 4.0], rows), rng.uniform(1e13, 5e15, rows),
            rng.uniform(0.3, 1.0, rows), _gemm_block(rng), np.zeros(rows)]


def _price_args(rng: np.random.Generator) -> list:
    from xpusim.plugins.hardware.gpu.params import GpuParams  # noqa: F401 (type only)

    n = int(rng.integers(0, 400))
    spec_params = rng.uniform(0.1, 10.0, cost.N_PARAMS)
    spec_params[cost.PEAK:cost.PEAK + cost.NF] *= 1e12
    spec_params[cost.PEAK + int(rng.integers(len(FORMATS)))] = 0.0  # an unsupported format
    spec_params[cost.GEMM:] = _gemm_block(rng)
    cols = [np.zeros(n, np.int8), rng.integers(0, len(PRIMITIVES), n).astype(np.int8),
            rng.integers(1, 5000, n), rng.integers(1, 5000, n), rng.integers(1, 5000, n),
            rng.choice([8, 16, 32], n).astype(np.int16),
            rng.integers(0, len(FORMATS), n).astype(np.int16), rng.integers(1, 100, n),
            np.ones(n)]
    return [*cols, spec_params, np.zeros(n), np.zeros((n, len(cost.COMPONENTS))),
            np.zeros((n, len(cost.EXTRAS)))]


TWINS = {
    "round_float": Twin(formats.round_float, formats_reference.round_float, _round_args),
    "round_float_parallel": Twin(formats.round_float_parallel, formats_reference.round_float,
                                 _round_args),
    "round_float_stochastic": Twin(formats.round_float_stochastic,
                                   formats_reference.round_float_stochastic, _round_sr_args),
    "gemm_times": Twin(efficiency.gemm_times, reference.gemm_times, _gemm_args, rtol=1e-12,
                       why="same formulas; float operations ordered differently"),
    "price": Twin(cost.price, reference.price, _price_args, rtol=1e-12,
                  why="same formulas; float operations ordered differently"),
}
