"""NumPy twins of the GPU kernels: the format rounding twins live with the shared kernels
(``xpusim.numerics.reference``); the cost twin prices row by row in plain Python/NumPy."""

from __future__ import annotations

import numpy as np

from . import cost as c


def price(phase, primitive, m, n, k, bits, fmt, count, activity, params, time_s, energy_j,
          extras):
    """Vectorised twin of ``cost.price``."""
    m, n, k = (np.asarray(a, dtype=np.float64) for a in (m, n, k))
    nbytes = np.asarray(bits, dtype=np.float64) / 8.0
    reps = np.asarray(count, dtype=np.float64)
    bw = params[c.BW] * params[c.BW_FRACTION]
    gemm = np.isin(primitive, [c.P_MVM, c.P_MVM_T, c.P_UPDATE, c.P_MATMUL])
    elem = np.isin(primitive, [c.P_ELEMENTWISE, c.P_REDUCE])
    write = primitive == c.P_WRITE
    peak = params[c.PEAK + np.asarray(fmt)]
    macs = m * n * k
    hbm_gemm = np.where(primitive == c.P_UPDATE, (m * k + m * n) * nbytes + k * n * 4.0,
                        (m * k + k * n + m * n) * nbytes)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_gemm = np.maximum(2 * macs / (peak * params[c.COMPUTE_FRACTION]), hbm_gemm / bw)
    ops = m * k
    hbm_elem = m * n * nbytes
    t_elem = np.maximum(ops / (params[c.VEC_PEAK] * params[c.COMPUTE_FRACTION]), hbm_elem / bw)
    hbm_write = n * k * nbytes * m
    launch = params[c.LAUNCH]
    t = np.select([gemm, elem, write], [t_gemm + launch, t_elem + launch,
                                        hbm_write / bw + launch], -1.0)
    t = np.where(gemm & (peak <= 0), -1.0, t)
    batched = primitive == c.P_MATMUL  # one launch for the row's products
    time_s[:] = np.where(t >= 0, np.where(batched, (t - launch) * reps + launch, t * reps),
                         -1.0)
    onchip = np.where(gemm, 2 * macs * nbytes / params[c.TILE], 0.0)
    hbm = np.select([gemm, elem, write], [hbm_gemm, hbm_elem, hbm_write], 0.0)
    ok = time_s >= 0
    e_compute = np.where(gemm, macs * params[c.MAC_PJ + np.asarray(fmt)],
                         np.where(elem, ops * params[c.E_VEC], 0.0))
    energy_j[:, 0] = np.where(ok, e_compute * reps, 0.0)
    energy_j[:, 1] = np.where(ok, onchip * params[c.E_SRAM] * reps, 0.0)
    energy_j[:, 2] = np.where(ok, hbm * params[c.E_HBM] * reps, 0.0)
    extras[:, 0] = np.where(ok & gemm, macs * reps, 0.0)
    extras[:, 1] = np.where(ok, np.select([gemm, elem], [2 * macs, ops], 0.0) * reps, 0.0)
    extras[:, 2] = np.where(ok, hbm * reps, 0.0)
    extras[:, 3] = np.where(ok, onchip * reps, 0.0)
    extras[:, 4] = np.where(ok, np.where(batched, 1.0, reps), 0.0)
