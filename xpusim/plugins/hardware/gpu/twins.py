"""Twin test cases for the GPU backend's kernels (numba kernel vs NumPy reference)."""

from __future__ import annotations

import numpy as np

from xpusim.core import Twin
from xpusim.core.formats import FORMATS
from xpusim.core.trace import PRIMITIVES
from xpusim.numerics import formats, reference as formats_reference
from xpusim.numerics.formats import FLOAT_FORMATS

from . import cost, reference

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


def _price_args(rng: np.random.Generator) -> list:
    from xpusim.plugins.hardware.gpu.params import GpuParams  # noqa: F401 (type only)

    n = int(rng.integers(0, 400))
    spec_params = rng.uniform(0.1, 10.0, cost.N_PARAMS)
    spec_params[cost.PEAK:cost.PEAK + cost.NF] *= 1e12
    spec_params[cost.PEAK + int(rng.integers(len(FORMATS)))] = 0.0  # an unsupported format
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
    "price": Twin(cost.price, reference.price, _price_args, rtol=1e-12,
                  why="same formulas; float operations ordered differently"),
}
