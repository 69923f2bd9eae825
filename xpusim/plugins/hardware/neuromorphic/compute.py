"""Neuromorphic numerics: spike encoding, integer synaptic integration, on-chip learning.

- Rate coding: each input drives an integrate-and-fire neuron (reset by subtraction) with a
  constant current u = clip(x / (scale·threshold), -1, 1) for T timesteps; the spike count
  (sign on a second channel) is what the synapses see. Graded spikes (Loihi 2) carry a
  ``graded_bits`` payload in one spike instead.
- Synaptic integration sums count × integer weight in the compartment's accumulator,
  saturating at ``accumulator_bits``.
- Learning: the engine adds lr·(pre trace · post trace − decay·w) in units of the weight LSB
  with stochastic rounding and saturates at the weight range (Davies et al. 2018: sum-of-
  products learning rules on traces, stochastic rounding of weight changes).
Input scales follow threshold balancing (Rueckauer et al., Front. Neurosci. 2017).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _drive(value, scale):
    """(|u| clipped to 1, sign >= 0) of the input current u = value / scale; NaN drives 0."""
    u = np.float64(value) / scale
    if u != u:
        u = 0.0
    return min(abs(u), 1.0), u >= 0


@njit(cache=True)
def encode_rate(x, scale, timesteps, out):
    """Spike counts of integrate-and-fire neurons driven by x/scale for ``timesteps`` steps."""
    xf = x.ravel()
    of = out.ravel()
    for i in range(xf.size):
        a, positive = _drive(xf[i], scale)
        v = 0.0
        c = 0
        for _ in range(timesteps):
            v += a
            if v >= 1.0:
                c += 1
                v -= 1.0
        of[i] = c if positive else -c


@njit(cache=True)
def encode_graded(x, scale, levels, out):
    """One graded spike per input: payload rint(|x|/scale · levels), clipped, signed."""
    xf = x.ravel()
    of = out.ravel()
    for i in range(xf.size):
        a, positive = _drive(xf[i], scale)
        c = np.int32(np.rint(a * levels))
        of[i] = c if positive else -c


@njit(cache=True)
def quantize_trace(x, scale, bits, out):
    """Learning-engine trace: |x|/scale rounded to ``bits`` unsigned magnitude levels (Loihi's
    traces are unsigned), the sign kept on a second channel as for spikes; in x's units."""
    top = 2.0 ** bits - 1.0
    xf = x.ravel()
    of = out.ravel()
    for i in range(xf.size):
        u = np.float64(xf[i]) / scale
        u = min(max(u, -1.0), 1.0)
        of[i] = np.float32(np.rint(u * top) / top * scale)


@njit(cache=True)
def learn(w, delta_lsb, u, wmax, out):
    """New integer weights: w + floor(delta + u) (stochastic rounding), saturated at ±wmax."""
    wf = w.ravel()
    df = delta_lsb.ravel()
    uf = u.ravel()
    of = out.ravel()
    for i in range(wf.size):
        step = math.floor(df[i] + uf[i])
        v = wf[i] + step
        of[i] = min(max(v, -wmax), wmax)


def integrate(counts: np.ndarray, w_int: np.ndarray, accumulator_bits: int) -> np.ndarray:
    """Σ count·w per output, saturating. Exact in float64: |sum| < 2^53 for any chip here
    (k ≤ 2^20 inputs × counts ≤ 2^32 × weights ≤ 2^15 would be needed to reach it)."""
    acc = counts.astype(np.float64) @ w_int.astype(np.float64)
    top = 2.0 ** (accumulator_bits - 1) - 1
    return np.clip(acc, -top, top)
