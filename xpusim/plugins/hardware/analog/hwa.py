"""Hardware-aware training toolbox: weight modifiers (a numba kernel), weight clipping and the
learned input range, as IBM aihwkit applies them (``weight_modifier.cpp``,
``weight_clipper.cpp``, ``InputRangeForward`` in ``tiles/inference_torch.py``).

``modify`` acts on the normalised weights (max |w| = 1 per column or layer) of one training
forward pass; a = max |w| (``rel_to_actual_wmax``) or ``assumed_wmax``:

* add-normal: w + s a z; mult-normal: w + w s a z; discretize: a round(w/a / res) res
  (stochastic rounding adds a uniform - 1/2 before rounding); discretize-add-normal: both;
  poly: w + a (c0 + c1 |w|/a + ...) s z;
* drop-connect: w = 0 with probability ``pdrop``.

Randomness: element f takes normal f of ``key`` and uniforms 2f (rounding), 2f + 1 (drop) of
``key2`` (counter-based, ``xpusim.numerics.gauss``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from xpusim.numerics import gauss

NONE, ADD, MULT, DISCRETIZE, DISCRETIZE_ADD, POLY = range(6)
TYPES = {"none": NONE, "add-normal": ADD, "mult-normal": MULT, "discretize": DISCRETIZE,
         "discretize-add-normal": DISCRETIZE_ADD, "poly": POLY}


@njit(cache=True, inline="always")
def _round_away(v):
    """C ``roundf``: halves away from zero."""
    return math.copysign(math.floor(abs(v) + 0.5), v)


@njit(cache=True, inline="always")
def _uniform(key, idx):
    return float(gauss.word(key, np.uint64(idx)) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, parallel=True)
def modify_weights(w, kind, std, res, sto_round, pdrop, amax, coeffs, key, key2, out):
    """out = the modified weights w (any shape, C order; see the module docstring)."""
    wf = w.reshape(-1)  # one reshape per line (see noise_models.program_noise)
    of = out.reshape(-1)
    for f in prange(wf.size):
        v = np.float64(wf[f])
        if kind == DISCRETIZE or kind == DISCRETIZE_ADD:
            if res > 0.0:
                u = _uniform(key2, 2 * f) - 0.5 if sto_round else 0.0
                v = amax * _round_away(v / amax / res + u) * res
        if kind == ADD or kind == DISCRETIZE_ADD:
            v += std * amax * gauss.normal(key, np.uint64(f), gauss.KI, gauss.WI, gauss.FI)
        elif kind == MULT:
            v += v * std * amax * gauss.normal(key, np.uint64(f), gauss.KI, gauss.WI, gauss.FI)
        elif kind == POLY:
            aw = abs(v) / amax
            p = 1.0
            sig = coeffs[0]
            for j in range(1, coeffs.size):
                p *= aw
                sig += coeffs[j] * p
            v += amax * sig * std * gauss.normal(key, np.uint64(f), gauss.KI, gauss.WI, gauss.FI)
        if pdrop > 0.0 and _uniform(key2, 2 * f + 1) < pdrop:
            v = 0.0
        of[f] = v


def modify(mod, wn: np.ndarray, rng: np.random.Generator, kernels) -> np.ndarray:
    """The weights of one training forward pass under the ``modifier`` table (a copy)."""
    if mod.type == "none" and mod.pdrop == 0:
        return wn
    amax = float(np.abs(wn).max(initial=0.0)) if mod.rel_to_actual_wmax else mod.assumed_wmax
    amax = amax if amax > 0 else 1.0
    out = np.empty_like(wn)
    keys = rng.integers(0, 1 << 63, size=2).astype(np.uint64)
    kernels.modify_weights(np.ascontiguousarray(wn), TYPES[mod.type], mod.std_dev, mod.res,
                           mod.sto_round, mod.pdrop, amax, np.asarray(mod.coeffs, np.float64),
                           keys[0], keys[1], out)
    return out


def clip(cl, w: np.ndarray) -> np.ndarray:
    """Master weights after the ``clip`` table (aihwkit WeightClipper::apply)."""
    if cl.type == "none":
        return w
    if cl.type == "fixed":
        bound = cl.fixed_value
    elif cl.type == "average-channel-max":
        bound = float(np.abs(w).max(axis=0).mean())  # max over inputs, mean over outputs
        if cl.fixed_value > 0:
            bound = min(bound, cl.fixed_value)
    else:  # layer-gaussian
        bound = float(w.std(ddof=1)) * cl.sigma if w.size > 1 else 0.0
        if cl.fixed_value > 0:
            bound = min(bound, cl.fixed_value)
    return np.clip(w, -bound, bound).astype(w.dtype) if bound > 0 else w


class InputRangeState:
    """A learned input range r: initialised from data, then moved by gradient descent with the
    run's optimizer (gradient of aihwkit ``InputRangeForward.backward``)."""

    def __init__(self, value: float):
        self.value = float(value)
        self.seen = 0
        self.last_x: np.ndarray | None = None
        self.grad: float | None = None

    def observe(self, ir, x: np.ndarray) -> None:
        """During the first ``init_from_data`` batches: r = mean of init_std_alpha x std(x)."""
        if self.seen < ir.init_from_data:
            std = float(np.std(x))
            if std > 0:
                self.value = abs((self.value * self.seen + ir.init_std_alpha * std)
                                 / (self.seen + 1))
                self.seen += 1

    def gradient(self, ir, dx: np.ndarray) -> None:
        """dL/dr from dL/dx of the last training forward input (clipped elements pass their
        gradient to r), plus the decay while few inputs clip."""
        x, r = self.last_x, self.value
        g = float(np.minimum(np.where(x >= r, dx, 0.0), 0.0).sum()
                  - np.maximum(np.where(x <= -r, dx, 0.0), 0.0).sum())
        if ir.gradient_relative:
            g *= r * ir.gradient_scale
        if ir.decay > 0 and float((np.abs(x) < r).mean()) > ir.input_min_percentage:
            g += ir.decay * r
        self.grad = g

    def step(self, optimizer, key, lr: float) -> None:
        delta = optimizer.step(key, np.array([-self.grad], np.float32), lr)
        self.value = abs(self.value + float(delta[0]))
        self.grad = None
        self.last_x = None
