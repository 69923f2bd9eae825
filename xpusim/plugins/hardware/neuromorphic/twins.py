"""Twin test cases for the neuromorphic kernels (numba kernel vs NumPy reference)."""

from __future__ import annotations

import numpy as np

from xpusim.core import Twin
from xpusim.core.trace import FORMATS, PRIMITIVES

from . import compute, cost, reference


def _values(rng: np.random.Generator) -> np.ndarray:
    shape = (int(rng.integers(0, 40)), int(rng.integers(1, 40)))
    x = (rng.standard_normal(shape) * rng.choice([0.1, 1.0, 10.0])).astype(np.float32)
    if x.size:
        x.flat[0] = 0.0
        x.flat[-1] = -abs(x.flat[-1]) * 5
    return x


def _rate(rng):
    x = _values(rng)
    return [x, float(rng.uniform(0.1, 5.0)), int(rng.integers(1, 64)),
            np.empty(x.shape, np.int32)]


def _graded(rng):
    x = _values(rng)
    return [x, float(rng.uniform(0.1, 5.0)), float(2 ** int(rng.integers(1, 12)) - 1),
            np.empty(x.shape, np.int32)]


def _trace(rng):
    x = _values(rng)
    return [x, float(rng.uniform(0.1, 5.0)), int(rng.integers(2, 16)), np.empty_like(x)]


def _learn(rng):
    shape = (int(rng.integers(0, 30)), int(rng.integers(1, 30)))
    wmax = 2 ** int(rng.integers(1, 8)) - 1
    w = rng.integers(-wmax, wmax + 1, shape).astype(np.int32)
    return [w, rng.standard_normal(shape) * 3, rng.random(shape), wmax,
            np.empty(shape, np.int32)]


def _price(rng):
    n = int(rng.integers(0, 300))
    params = rng.uniform(0.5, 4.0, cost.N_PARAMS) * 1e-9
    params[cost.STEPS] = int(rng.integers(1, 32))
    params[cost.CORES] = int(rng.integers(1, 256))
    params[cost.PER_CORE] = int(rng.integers(1, 2048))
    cols = [np.zeros(n, np.int8), rng.integers(0, len(PRIMITIVES), n).astype(np.int8),
            rng.integers(1, 512, n), rng.integers(1, 4096, n), rng.integers(1, 4096, n),
            np.full(n, 8, np.int16), rng.integers(0, len(FORMATS), n).astype(np.int16),
            rng.integers(1, 50, n), rng.random(n)]
    return [*cols, params, np.zeros(n), np.zeros((n, len(cost.COMPONENTS))),
            np.zeros((n, len(cost.EXTRAS)))]


TWINS = {
    "encode_rate": Twin(compute.encode_rate, reference.encode_rate, _rate),
    "encode_graded": Twin(compute.encode_graded, reference.encode_graded, _graded),
    "quantize_trace": Twin(compute.quantize_trace, reference.quantize_trace, _trace),
    "learn": Twin(compute.learn, reference.learn, _learn),
    "price": Twin(cost.price, reference.price, _price, rtol=1e-9,
                  why="same formulas; float operations grouped differently"),
}
