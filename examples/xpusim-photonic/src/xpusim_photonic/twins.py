"""Twin test cases: numba kernel, NumPy reference, random arguments, tolerance and why."""

from __future__ import annotations

import numpy as np

from xpusim.core import Twin
from xpusim.core.formats import FORMATS
from xpusim.core.trace import PRIMITIVES

from . import compute, cost, reference

EDGES = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1e-30, np.nan, np.inf, -np.inf,
                  np.finfo(np.float32).max], dtype=np.float32)


def _quantize_args(rng: np.random.Generator) -> list:
    shape = (int(rng.integers(0, 40)), int(rng.integers(1, 7)))
    x = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3)).astype(np.float32)
    x = np.concatenate([x.ravel(), EDGES]).astype(np.float32)
    scale = float(rng.choice([0.0, 1.0, float(np.max(np.abs(x[np.isfinite(x)]))),
                              rng.uniform(0.01, 5.0)]))
    return [x, np.empty_like(x), int(rng.integers(2, 13)), scale]


def _product_args(rng: np.random.Generator) -> list:
    m, k, n = (int(v) for v in rng.integers(1, 40, 3))
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    return [x, w, rng.standard_normal((m, n)), float(rng.uniform(0, 0.1)),
            np.empty((m, n), np.float32)]


def _price_args(rng: np.random.Generator) -> list:
    r = int(rng.integers(0, 300))
    params = np.array([rng.integers(1, 129), rng.integers(1, 129), rng.integers(1, 9),
                       *rng.uniform(0.1, 10.0, cost.N_PARAMS - 3)], dtype=np.float64)
    params[cost.RATE] *= 1e9
    params[cost.GOPS] *= 1e12
    params[cost.SRAM_BW] *= 1e11
    cols = [np.zeros(r, np.int8), rng.integers(0, len(PRIMITIVES), r).astype(np.int8),
            rng.integers(1, 3000, r), rng.integers(1, 3000, r), rng.integers(1, 3000, r),
            rng.choice([4, 8, 32], r).astype(np.int16),
            rng.integers(0, len(FORMATS), r).astype(np.int16), rng.integers(1, 50, r),
            np.ones(r)]
    return [*cols, params, np.zeros(r), np.zeros((r, len(cost.COMPONENTS))),
            np.zeros((r, len(cost.EXTRAS)))]


TWINS = {
    "quantize": Twin(compute.quantize, reference.quantize, _quantize_args),
    "noisy_product": Twin(compute.noisy_product, reference.noisy_product, _product_args,
                          rtol=1e-6, atol=1e-6,
                          why="float64 sums in a different order, then stored as float32"),
    "price": Twin(cost.price, reference.price, _price_args, rtol=1e-12,
                  why="same formulas; float operations ordered differently"),
}
