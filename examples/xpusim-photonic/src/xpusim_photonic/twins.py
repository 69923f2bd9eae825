"""NumPy twins of the photonic kernels, written independently (vectorised, no numba), and
how the conformance suite compares them with the kernels."""

import numpy as np

from xpusim.core import Twin
from xpusim.testing import TraceRows, price_twin

from . import BACKEND, kernels
from .kernels import (COLS, E_ADC, E_DAC, E_MAC, E_OP, E_PROG, E_SRAM, GOPS, RATE, ROWS,
                      SRAM_BW, T_PROG, TILES)


def noisy_product(x, w, noise, noise_scale, out):
    """Twin of ``kernels.noisy_product`` (BLAS in float64)."""
    out[...] = (x.astype(np.float64) @ w.astype(np.float64) + noise * noise_scale
                ).astype(np.float32)


def price(*args):
    """Twin of ``kernels.price``: each primitive's formulas over all rows, then selected."""
    r = TraceRows(*args)
    p = r.params
    m, n, k = r.m, r.n, r.k
    row_tiles, col_tiles = np.ceil(k / p[ROWS]), np.ceil(n / p[COLS])
    blocks = row_tiles * col_tiles
    rounds = np.ceil(blocks / p[TILES])
    kinds = [r.of("mvm", "mvm_t"), r.of("update"), r.of("elementwise", "reduce"), r.of("write")]

    def per_kind(mesh, update, digital, write):
        return np.select(kinds, [mesh, update, digital, write], 0.0)

    reload = np.maximum(blocks - p[TILES], 0.0)  # mvm / mvm_t on the mesh
    dac, adc, partial = m * k * col_tiles, m * n * row_tiles, m * n * (row_tiles - 1.0)
    sram_mesh = m * k * r.bytes + m * n * 4.0
    macs, sram_update = m * k * n, (m * k + m * n) * 4.0 + k * n * 4.0  # digital, reprogram
    ops, sram_digital = m * k, m * n * r.bytes  # elementwise / reduce
    programmed = per_kind(reload * p[ROWS] * p[COLS], k * n, 0.0, m * k * n)
    digital_ops = per_kind(partial, macs, ops, 0.0)
    sram = per_kind(sram_mesh, sram_update, sram_digital, 0.0)
    time = per_kind(np.maximum(m * rounds / p[RATE], sram_mesh / p[SRAM_BW])
                    + np.ceil(reload / p[TILES]) * p[T_PROG],
                    np.maximum(macs / p[GOPS], sram_update / p[SRAM_BW]) + rounds * p[T_PROG],
                    np.maximum(ops / p[GOPS], sram_digital / p[SRAM_BW]), rounds * p[T_PROG])
    r.store(time, np.any(kinds, axis=0),
            energy=[per_kind(dac * p[E_DAC] + adc * p[E_ADC], 0.0, 0.0, 0.0),
                    programmed * p[E_PROG],
                    per_kind(partial * p[E_OP], macs * p[E_MAC], ops * p[E_OP], 0.0),
                    sram * p[E_SRAM]],
            extras=[per_kind(dac, 0.0, 0.0, 0.0), per_kind(adc, 0.0, 0.0, 0.0),
                    per_kind(m * blocks, 0.0, 0.0, 0.0), programmed, digital_ops, sram])


def _product_args(rng):
    m, k, n = (int(v) for v in rng.integers(1, 40, 3))
    return [rng.standard_normal((m, k)).astype(np.float32),
            rng.standard_normal((k, n)).astype(np.float32), rng.standard_normal((m, n)),
            float(rng.uniform(0, 0.1)), np.empty((m, n), np.float32)]


TWINS = {
    "noisy_product": Twin(kernels.noisy_product, noisy_product, _product_args, rtol=1e-6,
                          atol=1e-6, why="float64 sums in a different order, then float32"),
    "price": price_twin(kernels.price, price, BACKEND),
}
