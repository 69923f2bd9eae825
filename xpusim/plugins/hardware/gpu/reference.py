"""NumPy twins of the GPU kernels: the format rounding twins live with the shared kernels
(``xpusim.numerics.reference``); the cost twin prices row by row in plain Python/NumPy."""

from __future__ import annotations

import numpy as np

from . import cost as c
from . import efficiency as e


def storage_bytes(bits):
    """Twin of ``efficiency.storage_bytes`` (vectorised)."""
    bits = np.asarray(bits, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(bits > 0, np.exp2(np.ceil(np.log2(np.maximum(bits, 1)))) / 8.0, 0.0)


def _candidates(tile_max):
    """(tm, tn, s) of every tile x split-K candidate, as column vectors."""
    cand = [(tm, tn, s) for tm in e.EDGES for tn in e.EDGES for s in e.SPLITS
            if tm * tn <= tile_max]
    tm, tn, s = (np.array(x, dtype=np.float64)[None, :] for x in zip(*cand))
    return tm, tn, s


def gemm_times(m, n, k, in_bytes, out_bytes, peak, sustained, g, out):
    """Twin of ``efficiency.gemm_times``: every row x every candidate at once, then the min."""
    sms, hbm, launch = g[e.SMS], g[e.HBM_BW], g[e.LAUNCH]
    l2 = g[e.L2_BW]
    col = lambda a: np.asarray(a, dtype=np.float64)[:, None]  # noqa: E731
    m, n, k, a, o = col(m), col(n), col(k), col(in_bytes), col(out_bytes)
    rate, feed = col(peak) * col(sustained) / sms, l2 / sms
    tm, tn, s = _candidates(g[e.TILE_MAX])
    tiles = np.ceil(m / tm) * np.ceil(n / tn)
    allowed = (s == 1) | (tiles * s <= 2.0 * sms)
    slab = np.maximum(1.0, e.K_SLAB_BYTES / a)
    kk = np.ceil(np.ceil(k / s) / slab) * slab
    t_tile = np.maximum(2.0 * tm * tn * kk / rate, (tm + tn) * kk * a / feed)
    body = np.ceil(tiles * s / sms) * t_tile + np.where(s > 1, s * tm * tn * 4.0 / feed, 0.0)
    stream_k = tiles / sms * t_tile + 2.0 * tm * tn * 4.0 / feed
    body = np.where((g[e.STREAM_K] > 0) & (s == 1) & (tiles > sms), np.minimum(body, stream_k),
                    body)
    t = launch + m * n * o / hbm + np.maximum(body, (m * k + k * n) * a / hbm)
    out[:] = np.where(allowed, t, np.inf).min(axis=1)


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
    upd = primitive == c.P_UPDATE
    a = storage_bytes(bits)
    t_gemm = np.zeros(m.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        gemm_times(np.where(upd, k, m), n, np.where(upd, m, k), a, np.where(upd, 4.0, a), peak,
                   params[c.GEMM + e.SUSTAINED + np.asarray(fmt)], params[c.GEMM:], t_gemm)
    ops = m * k
    hbm_elem = m * n * nbytes
    t_elem = np.maximum(ops / (params[c.VEC_PEAK] * params[c.COMPUTE_FRACTION]), hbm_elem / bw)
    hbm_write = n * k * nbytes * m
    launch = params[c.LAUNCH]
    t = np.select([gemm, elem, write], [t_gemm, t_elem + launch,
                                        hbm_write / bw + launch], -1.0)
    t = np.where(gemm & (peak <= 0), -1.0, t)
    batched = primitive == c.P_MATMUL  # one kernel for the row's products
    sus = params[c.GEMM + e.SUSTAINED + np.asarray(fmt)]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_batched = np.maximum(2 * macs / (peak * sus), hbm_gemm / bw)
    t = np.where(batched & (t >= 0), t_batched, t)
    time_s[:] = np.where(t >= 0, np.where(batched, t * reps + params[c.GEMM + e.LAUNCH],
                                          t * reps), -1.0)
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
