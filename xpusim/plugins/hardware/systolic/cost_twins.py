"""Twin test cases for the systolic cost kernels (merged into the package's ``TWINS``)."""

from __future__ import annotations

import functools

import attrs
import numpy as np

from xpusim.core import Twin
from xpusim.core.trace import FORMATS, PRIMITIVES

from . import cost, cost_reference


@functools.cache
def _base_params():
    from xpusim.core.plugins import get_plugin_manager

    return get_plugin_manager().load_spec("tpu-v1").params


def _random_params(rng: np.random.Generator) -> np.ndarray:
    p = _base_params()
    float_macs = bool(rng.random() < 0.5)
    mem = attrs.evolve(p.memory, **{
        name: float(2.0 ** rng.uniform(0, 16)) for name in
        ("input_buffer_kib", "weight_buffer_kib", "output_buffer_kib")},
        dram_bandwidth_gbs=float(rng.uniform(1, 2000)))
    numerics = p.numerics if not float_macs else attrs.evolve(
        p.numerics, weights="bf16", activations="bf16", errors="bf16")
    q = attrs.evolve(p, array_rows=int(rng.integers(1, 300)),
                     array_cols=int(rng.integers(1, 300)),
                     dataflow=str(rng.choice(["ws", "os", "is"])),
                     num_arrays=int(rng.integers(1, 9)), mac_bits=int(rng.choice([4, 8, 16])),
                     float_macs=float_macs, accumulator_bits=int(rng.choice([32, 48])),
                     vector_lanes=int(rng.integers(1, 2049)),
                     process_nm=float(rng.uniform(5, 200)), memory=mem, numerics=numerics)
    return cost.pack(q)


def _price_args(rng: np.random.Generator) -> list:
    n = int(rng.integers(0, 300))
    dims = [rng.integers(0, 3000, n) if rng.random() < 0.5 else rng.integers(1, 70, n)
            for _ in range(3)]
    for d in dims:
        d[rng.random(n) < 0.05] = 0  # empty GEMMs
    cols = [np.zeros(n, np.int8), rng.integers(0, len(PRIMITIVES), n).astype(np.int8),
            *(d.astype(np.int64) for d in dims),
            rng.choice([1, 2, 4, 8, 16, 32], n).astype(np.int16),
            rng.integers(0, len(FORMATS), n).astype(np.int16), rng.integers(1, 100, n),
            np.ones(n)]
    return [*cols, _random_params(rng), np.zeros(n), np.zeros((n, len(cost.COMPONENTS))),
            np.zeros((n, len(cost.EXTRAS)))]


def _cycles_args(rng: np.random.Generator) -> list:
    dims = [int(rng.integers(0, 5000)) if rng.random() < 0.7 else int(rng.integers(0, 5))
            for _ in range(5)]
    if rng.random() < 0.3:  # counts near and beyond int64: refused with -1
        dims[:3] = (int(2 ** rng.uniform(20, 62)) for _ in range(3))
    M, N, K, rows, cols = dims
    return [M, N, K, max(rows, 1), max(cols, 1), int(rng.integers(0, 3))]


COST_TWINS = {
    "compute_cycles": Twin(cost.compute_cycles, cost_reference.compute_cycles,
                           _cycles_args),
    "price": Twin(cost.price, cost_reference.price, _price_args, rtol=1e-12, atol=1e-30,
                  why="same formulas; float operations grouped differently"),
}
