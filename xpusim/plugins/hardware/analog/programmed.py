"""Programmed weights (hardware-aware mode): program-and-verify onto conductance pairs, with
optional bit slices, then drift and 1/f read noise at the inference time.

``program`` and ``read_state`` work on one layer's weights with that layer's parameters; the
noise models are the numba kernels of ``noise_models.py``.
"""

from __future__ import annotations

import numpy as np

from .noise_models import model_vector

def column_scale(w: np.ndarray, scaling: str) -> np.ndarray:
    """The digital scale that maps weights onto conductances (max |w| -> g_max): per output
    column (aihwkit channel-wise remapping) or one for the whole layer."""
    a = np.abs(w)
    scale = (a.max(axis=0) if scaling == "column" else
             np.full(w.shape[1], a.max(initial=0.0))).astype(np.float64)
    scale[scale == 0] = 1.0
    return scale


def ir_profile(tile, k: int, n: int) -> np.ndarray:
    """First-order IR drop: a cell's read current falls linearly with its distance along the
    row wire from the driver, to 1 - ir_drop at the tile's last column."""
    if tile.ir_drop == 0:
        return np.ones((1, n))
    pos = (np.arange(n) % tile.cols + 1) / tile.cols
    return 1.0 - tile.ir_drop * pos[None, :]


def reference(wn: np.ndarray) -> np.ndarray:
    """Drift-compensation readout: mean |weight| per column (aihwkit reads it with one-hot
    inputs, GlobalDriftCompensation; global: the mean over columns)."""
    return np.abs(wn).mean(axis=0) + 1e-12


def program(p, w: np.ndarray, rng: np.random.Generator, kernels) -> dict:
    """Program-and-verify ``w`` (k x n) as conductance pairs, scaled per ``mapping``.

    Bit-slicing (``tile.weight_slices`` = S > 1): slice s has significance f_s = B^-s
    (B = ``tile.slice_significance``); slice 0 is programmed to the normalised weight, each
    next slice to the error left by the slices already programmed (verified), times 1/f_s and
    clipped to [-1, 1]: the lower-significance devices correct the programming noise of the
    higher ones. Every slice gets its own programming noise, drift exponents and stuck devices
    (the ``inference_noise`` model)."""
    n_slices = p.tile.weight_slices
    f = p.tile.slice_significance ** -np.arange(n_slices, dtype=np.float64)
    scale = column_scale(w, p.mapping.weight_scaling)
    wn = w / scale
    acc = np.zeros(w.shape)
    mv = model_vector(p)
    state = {"scale": scale, "f": f, "gp": [], "gm": [], "tp": [], "tm": [], "nu_p": [],
             "nu_m": []}
    for s in range(n_slices):
        target = np.clip((wn - acc) / f[s], -1.0, 1.0)
        for name, g in (("p", np.maximum(target, 0.0)), ("m", np.maximum(-target, 0.0))):
            g = np.ascontiguousarray(g, np.float64)
            g_prog, nu = np.empty_like(g), np.empty_like(g)
            kernels.program_noise(g, mv, np.uint64(rng.integers(0, 1 << 63)), g_prog, nu)
            if p.noise.stuck_fraction > 0:
                u = rng.random(g.shape)
                g_prog = np.where(u < p.noise.stuck_fraction / 2, 0.0, g_prog)
                g_prog = np.where((u >= p.noise.stuck_fraction / 2)
                                  & (u < p.noise.stuck_fraction), 1.0, g_prog)
            state["g" + name].append(g_prog)
            state["t" + name].append(g)
            state["nu_" + name].append(nu)
        acc += f[s] * (state["gp"][s] - state["gm"][s])
    ir = ir_profile(p.tile, w.shape[0], w.shape[1] * n_slices).reshape(-1, n_slices, w.shape[1])
    state["ref"] = reference(sum(f[s] * (state["gp"][s] - state["gm"][s]) * ir[:, s]
                                 for s in range(n_slices)))
    return state


def read_state(p, s: dict, rng: np.random.Generator, kernels):
    """Weights as read at ``inference_time_s`` after programming (drift and 1/f read noise of
    the ``inference_noise`` model), with drift compensation: (normalised conductance
    differences k x S n, per-column digital gain S n, S)."""
    mv = model_vector(p)
    n_slices = len(s["f"])
    parts = []
    for sl in range(n_slices):
        g = {}
        for name in ("p", "m"):
            out = np.empty_like(s["g" + name][sl])
            kernels.age_noise(s["g" + name][sl], s["t" + name][sl], s["nu_" + name][sl], mv,
                              p.inference_time_s, np.uint64(rng.integers(0, 1 << 63)), out)
            g[name] = out
        parts.append(g["p"] - g["m"])
    k, n = parts[0].shape
    wn = np.concatenate(parts, axis=1) * ir_profile(p.tile, k, n * n_slices)
    f = s["f"]
    gain = s["scale"].copy()
    if p.drift_compensation != "none":
        eff = sum(f[sl] * wn[:, sl * n:(sl + 1) * n] for sl in range(n_slices))
        ref = reference(eff)
        if p.drift_compensation == "global":
            gain *= s["ref"].mean() / ref.mean()
        else:
            gain *= s["ref"] / ref
    gain = np.concatenate([gain * f[sl] for sl in range(n_slices)])
    return (np.ascontiguousarray(wn, np.float32), gain.astype(np.float32), n_slices)


def hwa_noise(p, wn: np.ndarray, rng: np.random.Generator, kernels) -> np.ndarray:
    """Hardware-aware training: the programming noise of the layer's ``inference_noise`` model
    (x ``hwa_noise_scale``) on the normalised weights of one forward pass."""
    sig = np.empty(wn.shape, np.float32)
    kernels.prog_sigmas(wn, model_vector(p), sig)
    return wn + p.hwa_noise_scale * sig * rng.standard_normal(wn.shape, dtype=np.float32)
