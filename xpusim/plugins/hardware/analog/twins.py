"""Twin test cases for the analog kernels (numba kernel vs NumPy reference)."""

from __future__ import annotations

import numpy as np

from xpusim.core import Twin
from xpusim.numerics import gauss
from xpusim.numerics import reference as numerics_reference

from . import compute, cost, reference


def _dac_args(rng):
    m, k = int(rng.integers(0, 40)), int(rng.integers(1, 300))
    rows = int(rng.integers(1, 130))
    t = -(-k // rows)
    x = (rng.standard_normal((m, k)) * 10 ** rng.uniform(-3, 2)).astype(np.float32)
    if m:
        x[0, : min(k, 3)] = 0.0
    return [x, rows, int(rng.integers(1, 10)), float(rng.uniform(0.5, 2)), bool(rng.random() < .7),
            bool(rng.random() < .8), np.empty_like(x), np.empty((t, m), np.float32),
            np.empty((t, m), np.float32)]


def _periphery_args(rng):
    t, m, n = int(rng.integers(1, 5)), int(rng.integers(0, 30)), int(rng.integers(1, 60))
    partial = (rng.standard_normal((t, m, n)) * 8).astype(np.float32)
    return [partial, rng.standard_normal((m, t, n)).astype(np.float32),
            rng.uniform(0, 0.2, (t, m)).astype(np.float32),
            rng.uniform(0.1, 3, (t, m)).astype(np.float32),
            rng.uniform(0.1, 2, n).astype(np.float32), bool(rng.random() < .8),
            int(rng.integers(2, 12)), float(rng.uniform(1, 20)), bool(rng.random() < .8),
            np.empty((m, n), np.float32), np.empty(m, np.uint8)]


def _normal_args(rng):
    shape = tuple(int(d) for d in rng.integers(0, 40, int(rng.integers(1, 4))))
    return [np.uint64(rng.integers(0, 1 << 63)), np.empty(shape, np.float32)]


def _pulse_args(rng):
    k, n = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    hi = rng.uniform(0.4, 0.8, (k, n))
    lo = -rng.uniform(0.4, 0.8, (k, n))
    w = rng.uniform(-0.9, 0.9, (k, n))
    nu = rng.integers(0, 30, (k, n)).astype(np.float64)
    nd = rng.integers(0, 30, (k, n)).astype(np.float64)
    return [w, nu, nd, rng.uniform(5e-4, 2e-3, (k, n)), rng.uniform(5e-4, 2e-3, (k, n)), lo, hi,
            rng.standard_normal((k, n)), rng.standard_normal((k, n)), float(rng.uniform(0, 0.5)),
            bool(rng.random() < .5)]


def _coincidence_args(rng):
    m, k, n = int(rng.integers(0, 40)), int(rng.integers(1, 50)), int(rng.integers(1, 50))
    bl = int(rng.choice([1, 7, 31, 32, 33, 64]))
    px = rng.uniform(0, 1.2, (m, k)).astype(np.float32)
    pd = rng.uniform(0, 0.5, (m, n)).astype(np.float32)
    if m:
        px[0, 0], pd[0, 0] = 0.0, 1.0
    sx = rng.choice([-1.0, 0.0, 1.0], (m, k)).astype(np.float32)
    sd = rng.choice([-1.0, 1.0], (m, n)).astype(np.float32)
    return [np.minimum(px, 1), pd, sx, sd, np.uint64(rng.integers(0, 1 << 63)),
            np.uint64(rng.integers(0, 1 << 63)), bl, np.zeros((k, n)), np.zeros((k, n))]


def _price_args(rng):
    from xpusim.core.formats import format_code
    from xpusim.core.trace import PRIMITIVES
    n = int(rng.integers(0, 300))
    params = rng.uniform(0.5, 2.0, cost.N_PARAMS)
    params[cost.ROWS] = rng.integers(16, 512)
    params[cost.COLS] = rng.integers(16, 512)
    params[cost.TILES] = rng.integers(1, 64)
    params[cost.COLS_PER_ADC] = rng.integers(1, 64)
    params[cost.BL] = rng.integers(1, 64)
    params[cost.SLICES] = rng.integers(1, 4)
    cols = [np.zeros(n, np.int8), rng.integers(0, len(PRIMITIVES), n).astype(np.int8),
            rng.integers(1, 3000, n), rng.integers(1, 3000, n), rng.integers(1, 3000, n),
            rng.choice([8, 32], n).astype(np.int16),
            rng.choice([format_code("analog"), format_code("fp32")], n).astype(np.int16),
            rng.integers(1, 50, n), rng.random(n)]
    return [*cols, params, np.zeros(n), np.zeros((n, len(cost.COMPONENTS))),
            np.zeros((n, len(cost.EXTRAS)))]


TWINS = {
    "dac": Twin(compute.dac, reference.dac, _dac_args, rtol=1e-6, atol=1e-6,
                why="same reciprocal products and rounding; float32 vs float64 L2 sum order"),
    "periphery": Twin(compute.periphery, reference.periphery, _periphery_args, rtol=1e-6,
                      atol=1e-6, why="same ADC rounding in float64; the sum over tiles is "
                      "ordered differently"),
    "fill_normal": Twin(gauss.fill_normal, numerics_reference.fill_normal, _normal_args,
                        rtol=0, atol=0, why="counter-based normals: exact"),
    "fill_normal_serial": Twin(gauss.fill_normal_serial, numerics_reference.fill_normal,
                               _normal_args, rtol=0, atol=0, why="as fill_normal"),
    "dac_serial": Twin(compute.dac_serial, reference.dac, _dac_args, rtol=1e-6, atol=1e-6,
                       why="as dac"),
    "periphery_serial": Twin(compute.periphery_serial, reference.periphery, _periphery_args,
                             rtol=1e-6, atol=1e-6, why="as periphery"),
    "pulse_update": Twin(compute.pulse_update, reference.pulse_update, _pulse_args, rtol=1e-12,
                         atol=1e-14, why="same closed forms; pow/sqrt library rounding"),
    "coincidences": Twin(compute.coincidences, reference.coincidences, _coincidence_args,
                         rtol=0, atol=0, why="integer counts: exact"),
    "price": Twin(cost.price, reference.price, _price_args, rtol=1e-12,
                  why="same formulas; float operations ordered differently"),
}
