"""Twin test cases of the ``xpusim.numerics`` kernels backends share without twinning them
themselves (the conformance suite and ``tests/test_twins.py`` read ``TWINS``)."""

from __future__ import annotations

import numpy as np

from xpusim.core.kernels import Twin

from . import reference, uniform

EDGES = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1e-30, np.nan, np.inf, -np.inf,
                  np.finfo(np.float32).max, -np.finfo(np.float32).max], dtype=np.float32)


def _uniform_args(rng: np.random.Generator) -> list:
    shape = (int(rng.integers(0, 40)), int(rng.integers(1, 7)))
    x = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3)).astype(np.float32)
    x = np.concatenate([x.ravel(), EDGES]).astype(np.float32)
    # scale 1 with 2 bits puts the edge values ±0.5 exactly on a half step
    scale = float(rng.choice([0.0, -1.0, 1.0, float(np.max(np.abs(x[np.isfinite(x)]))),
                              rng.uniform(0.01, 5.0)]))
    return [x, np.empty_like(x), int(rng.integers(2, 17)), scale]


TWINS = {
    "uniform.quantize": Twin(uniform.quantize, reference.quantize_uniform, _uniform_args),
}
