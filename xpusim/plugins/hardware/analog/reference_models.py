"""NumPy twins of the programmed-weight noise models (``noise_models.py``) and of the weight
modifier (``hwa.py``), written independently: power sums instead of Horner's rule, masks
instead of branches."""

from __future__ import annotations

import numpy as np

from . import hwa
from . import noise_models as NM
from .reference_pulsed import normals_at, uniforms_at


def _poly(coeffs, g):
    return sum(c * g ** i for i, c in enumerate(coeffs))


def _prog_sigma(g, mv):
    model = int(mv[NM.M_MODEL])
    if model == NM.PCM:
        return _poly((0.26348, 1.965, -1.1731), g) / 25.0
    if model == NM.HERMES:
        d = int(mv[NM.M_DEVICES]) - 1
        return _poly(NM.HERMES_PROG[d], g) / NM.HERMES_G_REF[d]
    if model == NM.WAN2022:
        return _poly(NM.WAN_COEFFS[0], g) / mv[NM.M_GMAX]
    return _poly(mv[NM.M_C0:NM.M_C2 + 1], g) / mv[NM.M_GMAX]


def _nu_moments(g, mv):
    model = int(mv[NM.M_MODEL])
    gr = np.maximum(g, 1e-7)
    lg = np.log(gr)
    if model == NM.PCM:
        return np.clip(-0.0155 * lg + 0.0244, 0.049, 0.1), np.clip(-0.0125 * lg - 0.0059,
                                                                     0.008, 0.045)
    if model == NM.HERMES:
        mu = np.where(gr < 0.0945, np.clip(-0.0387 * lg - 0.0182, 0.0720, 0.13),
                      -0.0436 * gr ** 2 - 0.0126 * gr + 0.0736)
        if int(mv[NM.M_DEVICES]) == 1:
            sd = np.where(gr < 0.3039, np.clip(-0.0120 * lg - 0.0023, 0.0124, 0.04),
                          -0.0165 * gr ** 2 + 0.0116 * gr + 0.0104)
        else:
            sd = np.where(gr < 0.3055, np.clip(-0.0117 * lg - 0.0057, 0.0091, 0.04),
                          -0.0118 * gr ** 2 + 0.0093 * gr + 0.0073)
        return mu, sd
    if model == NM.WAN2022:
        return np.zeros_like(g), np.zeros_like(g)
    return np.full_like(g, mv[NM.M_NU_MEAN]), np.full_like(g, mv[NM.M_NU_STD])


def _read_q(g, mv):
    model = int(mv[NM.M_MODEL])
    a = np.abs(g)
    with np.errstate(divide="ignore"):
        la = np.log(a)
    if model == NM.PCM:
        return np.minimum(0.0088 / np.maximum(a ** 0.65, 1e-3), 0.2)
    if model == NM.HERMES:
        if int(mv[NM.M_DEVICES]) == 1:
            low = np.where(a > 0, np.clip(-0.0078 * la + 0.0038, 0.0179, 0.04), 0.04)
            return np.where(a < 0.1591, low,
                            0.0664 * a ** 3 - 0.1352 * a ** 2 + 0.0768 * a + 0.0088)
        low = np.where(a > 0, np.clip(-0.0117 * la - 0.0069, 0.015, 0.04), 0.04)
        return np.where(a < 0.16, low, 0.0069 * a ** 3 - 0.0280 * a ** 2 + 0.0211 * a + 0.0123)
    return np.full_like(a, 1.0 / mv[NM.M_GMAX])


def prog_sigmas(g, mv, out):
    out[...] = _prog_sigma(np.abs(g.astype(np.float64)), mv)


def program_noise(g, mv, key, g_prog, nu):
    f = np.arange(g.size, dtype=np.uint64).reshape(g.shape)
    z = normals_at(key, 2 * f)
    zn = normals_at(key, 2 * f + np.uint64(1))
    g_prog[...] = np.maximum(g + mv[NM.M_PROG] * _prog_sigma(g, mv) * z, 0.0)
    mu, sd = _nu_moments(g, mv)
    nu[...] = np.abs(mu + sd * zn) * mv[NM.M_DRIFT]


def age_noise(g_prog, g_target, nu, mv, t_inf, key, out):
    z = normals_at(key, np.arange(g_prog.size, dtype=np.uint64).reshape(g_prog.shape))
    if int(mv[NM.M_MODEL]) == NM.WAN2022:
        hit = np.flatnonzero(NM.WAN_TIMES == t_inf)
        row = int(hit[-1]) if hit.size else 0
        s = _poly(NM.WAN_COEFFS[row], g_target) / mv[NM.M_GMAX]
        out[...] = np.maximum(g_target + mv[NM.M_READ] * s * z, 0.0)
        return
    t = t_inf + mv[NM.M_T0]
    sig_t = np.sqrt(np.log((t + mv[NM.M_TREAD]) / (2.0 * mv[NM.M_TREAD])))
    gd = g_prog * (t / mv[NM.M_T0]) ** (-nu)
    out[...] = np.maximum(gd + np.abs(gd) * mv[NM.M_READ] * _read_q(g_prog, mv) * sig_t * z, 0.0)


def modify_weights(w, kind, std, res, sto_round, pdrop, amax, coeffs, key, key2, out):
    v = w.astype(np.float64)
    f = np.arange(w.size, dtype=np.uint64).reshape(w.shape)
    if kind in (hwa.DISCRETIZE, hwa.DISCRETIZE_ADD) and res > 0:
        u = uniforms_at(key2, 2 * f) - 0.5 if sto_round else 0.0
        q = v / amax / res + u
        v = amax * (np.sign(q) * np.floor(np.abs(q) + 0.5)) * res
    if kind in (hwa.ADD, hwa.DISCRETIZE_ADD):
        v = v + std * amax * normals_at(key, f)
    elif kind == hwa.MULT:
        v = v + v * std * amax * normals_at(key, f)
    elif kind == hwa.POLY:
        sig = _poly(coeffs, np.abs(v) / amax)
        v = v + amax * sig * std * normals_at(key, f)
    if pdrop > 0:
        v = np.where(uniforms_at(key2, 2 * f + np.uint64(1)) < pdrop, 0.0, v)
    out[...] = v
