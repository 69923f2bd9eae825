"""NumPy twins of the neuromorphic kernels (vectorised over elements, loops over timesteps)."""

from __future__ import annotations

import numpy as np


def encode_rate(x, scale, timesteps, out):
    u = np.asarray(x, dtype=np.float64) / scale
    u = np.where(np.isnan(u), 0.0, u)
    a = np.minimum(np.abs(u), 1.0)
    v = np.zeros_like(a)
    c = np.zeros(a.shape, dtype=np.int64)
    for _ in range(timesteps):
        v = v + a
        fired = v >= 1.0
        c += fired
        v = np.where(fired, v - 1.0, v)
    out[...] = np.where(u >= 0, c, -c)


def encode_graded(x, scale, levels, out):
    u = np.asarray(x, dtype=np.float64) / scale
    u = np.where(np.isnan(u), 0.0, u)
    c = np.rint(np.minimum(np.abs(u), 1.0) * levels)
    out[...] = np.where(u >= 0, c, -c)


def quantize_trace(x, scale, bits, out):
    levels = 2.0 ** bits - 1.0
    u = np.asarray(x, dtype=np.float64) / scale
    magnitude = np.rint(np.minimum(np.abs(u), 1.0) * levels)
    out[...] = (np.copysign(magnitude, u) / levels * scale).astype(np.float32)


def learn(w, delta_lsb, u, wmax, out):
    v = w.astype(np.float64) + np.floor(delta_lsb + u)
    out[...] = np.clip(v, -wmax, wmax)


def price(phase, primitive, m, n, k, bits, fmt, count, activity, samples, inputs, params,
          time_s, energy_j, extras):
    """Vectorised twin of ``cost.price``."""
    from . import cost as c

    mm, nn, kk = (np.asarray(v, dtype=np.float64) for v in (m, n, k))
    reps = np.asarray(count, dtype=np.float64)
    a = np.asarray(activity, dtype=np.float64)
    per = np.where(samples > 0, samples.astype(np.float64), mm)
    with np.errstate(divide="ignore", invalid="ignore"):
        positions = np.where(per > 0, mm / per, 1.0)
    cores = np.minimum(params[c.CORES],
                       np.maximum(1.0, np.ceil(positions * nn / params[c.PER_CORE])))
    steps = params[c.STEPS]
    mvm, upd = primitive == c.P_MVM, primitive == c.P_UPDATE
    elem = np.isin(primitive, [c.P_ELEMENTWISE, c.P_REDUCE])
    write = primitive == c.P_WRITE
    events = a * mm * kk * steps
    synops = events * nn
    neurons = mm * nn * steps
    t_mvm = np.maximum(synops * params[c.T_SYNOP], neurons * params[c.T_NEURON]) / cores \
        + per * steps * params[c.T_SYNC]
    updates = np.select([upd, write], [a * mm * kk * nn, mm * nn * kk], 0.0)
    t_upd = updates * params[c.T_UPDATE] / cores
    elem_neurons = mm * kk
    t = np.select([mvm, upd | write, elem],
                  [t_mvm, t_upd, elem_neurons * params[c.T_NEURON] / params[c.CORES]], -1.0)
    time_s[:] = np.where(t >= 0, t * reps, -1.0)
    energy_j[:, 0] = np.where(mvm, synops * params[c.E_SYNOP] * reps, 0.0)
    energy_j[:, 1] = updates * params[c.E_UPDATE] * reps
    energy_j[:, 2] = np.select([mvm, elem], [neurons, elem_neurons], 0.0) * params[c.E_NEURON] * reps
    energy_j[:, 3] = np.where(mvm, events * cores * params[c.E_ROUTE] * reps, 0.0)
    extras[:, 0] = np.where(mvm, events * reps, 0.0)
    extras[:, 1] = np.where(mvm, synops * reps, 0.0)
    extras[:, 2] = updates * reps
    extras[:, 3] = np.select([mvm, elem], [neurons, elem_neurons], 0.0) * reps
    extras[:, 4] = np.where(mvm, events * cores * reps, 0.0)
    extras[:, 5] = np.where(mvm, per * steps * reps, 0.0)
