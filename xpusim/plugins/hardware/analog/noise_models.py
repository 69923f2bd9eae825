"""Programming noise, drift and read noise of programmed conductances (numba kernels).

Conductances are normalised to g_max (``pcm.g_max_us``); g is the target, one polarity of a
pair. Each model is IBM aihwkit's (``aihwkit.inference.noise``), with the measurements it was
fitted to:

* ``pcm`` (PCMLikeNoiseModel; Nandakumar et al., ICECS 2019; REFERENCES E8-E10):
  sigma_prog = (0.26348 + 1.965 g - 1.1731 g^2)/25 uS; nu = |N(mu(g), sd(g))| with
  mu = clip(-0.0155 ln g + 0.0244, 0.049, 0.1), sd = clip(-0.0125 ln g - 0.0059, 0.008, 0.045);
  read noise Q_s = min(0.0088/max(g_prog^0.65, 1e-3), 0.2).
* ``hermes`` (HermesNoiseModel; Le Gallo et al., Nat. Electron. 2023, the IBM HERMES 64-core
  PCM chip; Khaddam-Aljameh et al., JSSC 2022): cubic programming noise over g_ref = 20.7 uS
  (2 devices per polarity, programmed as one) or 10.35 uS (1 device); piecewise drift and
  read-noise fits of g.
* ``reram-wan2022`` (ReRamWan2022NoiseModel; Wan et al., Nature 2022): the spread of the
  conductance around its target, a quartic in g (uS) fitted at 1 s, 1 day and 2 days; the read
  at time t is the target plus a fresh draw of that spread. No drift exponent.
* ``state-independent`` (StateIndependentNoiseModel): sigma_prog = c0 + c1 g + c2 g^2 uS,
  nu = |N(nu_mean, nu_std)|, read noise |g(t)|/g_max sqrt(ln((t + t_read)/(2 t_read))) uS.

Every model drifts as G(t) = G_prog ((t + t0)/t0)^-nu and adds 1/f read noise of std
|G(t)| Q_s sqrt(ln((t + t0 + t_read)/(2 t_read))) (``pcm``, ``hermes``), clipped at 0; the
``pcm`` table's scales multiply programming noise, nu and read noise. Normals come from the
counter-based stream (``xpusim.numerics.gauss``): device f of a programming takes draws 2f
(programming) and 2f + 1 (nu), of an ageing draw f.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from xpusim.numerics import gauss

PCM, HERMES, WAN2022, STATE_INDEPENDENT = 0, 1, 2, 3
MODELS = {"pcm": PCM, "hermes": HERMES, "reram-wan2022": WAN2022,
          "state-independent": STATE_INDEPENDENT}
(M_MODEL, M_DEVICES, M_GMAX, M_PROG, M_DRIFT, M_READ, M_T0, M_TREAD, M_NU_MEAN, M_NU_STD,
 M_C0, M_C1, M_C2) = range(13)
N_MV = 13

# HermesNoiseModel programming polynomials (uS, of g/g_max), per devices per polarity
HERMES_PROG = np.array([[0.15781817, 2.32443916, -2.16310839, 0.68841818],
                        [0.16603222, 4.71806468, -8.48101252, 4.68961419]])
HERMES_G_REF = np.array([10.35, 20.7])
# ReRamWan2022NoiseModel: spread (uS) at 1 s, 1 day, 2 days, c0..c4 of g/g_max, fitted at
# g_max = 40 uS
WAN_TIMES = np.array([1.0, 86400.0, 172800.0])
WAN_COEFFS = np.array([[0.348, 16.030, -43.853, 45.393, -16.815],
                       [0.701, 22.086, -50.773, 47.095, -16.458],
                       [0.782, 20.274, -43.507, 37.062, -11.934]])


def model_vector(p) -> np.ndarray:
    """The ``mv`` vector of the kernels from a layer's parameters."""
    inf = p.inference_noise
    mv = np.zeros(N_MV)
    mv[M_MODEL] = MODELS[inf.model]
    mv[M_DEVICES] = inf.hermes_devices
    mv[M_GMAX] = p.pcm.g_max_us
    mv[M_PROG] = p.pcm.prog_noise_scale
    mv[M_DRIFT] = p.pcm.drift_scale
    mv[M_READ] = p.pcm.read_noise_scale
    mv[M_T0] = p.pcm.t0_s
    mv[M_TREAD] = p.pcm.t_read_s
    mv[M_NU_MEAN] = inf.drift_nu_mean
    mv[M_NU_STD] = inf.drift_nu_std
    c = tuple(inf.prog_coeffs) + (0.0, 0.0, 0.0)
    mv[M_C0:M_C2 + 1] = c[:3]
    return mv


@njit(cache=True, inline="always")
def _clip(v, lo, hi):
    return min(max(v, lo), hi)


@njit(cache=True)
def prog_sigma(g, mv):
    """Programming-noise std (units of g_max) at normalised target g."""
    model = int(mv[M_MODEL])
    if model == PCM:
        return (0.26348 + 1.965 * g - 1.1731 * g * g) / 25.0
    if model == HERMES:
        d = int(mv[M_DEVICES]) - 1
        c = HERMES_PROG[d]
        return (c[0] + g * (c[1] + g * (c[2] + g * c[3]))) / HERMES_G_REF[d]
    if model == WAN2022:
        c = WAN_COEFFS[0]
        return (c[0] + g * (c[1] + g * (c[2] + g * (c[3] + g * c[4])))) / mv[M_GMAX]
    return (mv[M_C0] + mv[M_C1] * g + mv[M_C2] * g * g) / mv[M_GMAX]


@njit(cache=True)
def nu_moments(g, mv):
    """(mean, std) of the drift exponent at normalised target g."""
    model = int(mv[M_MODEL])
    gr = max(g, 1e-7)
    if model == PCM:
        return (_clip(-0.0155 * math.log(gr) + 0.0244, 0.049, 0.1),
                _clip(-0.0125 * math.log(gr) - 0.0059, 0.008, 0.045))
    if model == HERMES:
        if gr < 0.0945:
            mu = _clip(-0.0387 * math.log(gr) - 0.0182, 0.0720, 0.13)
        else:
            mu = -0.0436 * gr * gr - 0.0126 * gr + 0.0736
        if int(mv[M_DEVICES]) == 1:
            if gr < 0.3039:
                sd = _clip(-0.0120 * math.log(gr) - 0.0023, 0.0124, 0.04)
            else:
                sd = -0.0165 * gr * gr + 0.0116 * gr + 0.0104
        else:
            if gr < 0.3055:
                sd = _clip(-0.0117 * math.log(gr) - 0.0057, 0.0091, 0.04)
            else:
                sd = -0.0118 * gr * gr + 0.0093 * gr + 0.0073
        return mu, sd
    if model == WAN2022:
        return 0.0, 0.0
    return mv[M_NU_MEAN], mv[M_NU_STD]


@njit(cache=True)
def read_q(g, mv):
    """1/f read-noise factor Q_s at programmed (normalised) g (relative to |G(t)|)."""
    model = int(mv[M_MODEL])
    a = abs(g)
    if model == PCM:
        return min(0.0088 / max(a ** 0.65, 1e-3), 0.2)
    if model == HERMES:
        if int(mv[M_DEVICES]) == 1:
            if a < 0.1591:
                return _clip(-0.0078 * math.log(a) + 0.0038, 0.0179, 0.04) if a > 0 else 0.04
            return 0.0664 * a ** 3 - 0.1352 * a * a + 0.0768 * a + 0.0088
        if a < 0.16:
            return _clip(-0.0117 * math.log(a) - 0.0069, 0.015, 0.04) if a > 0 else 0.04
        return 0.0069 * a ** 3 - 0.0280 * a * a + 0.0211 * a + 0.0123
    return 1.0 / mv[M_GMAX]  # state-independent: |g(t)|/g_max in uS, i.e. /g_max normalised


@njit(cache=True)
def prog_sigmas(g, mv, out):
    """out = programming-noise std at each |g| (any shape): the noise hardware-aware training
    injects (``hwa_noise_scale``), from the same model as the chip's programming."""
    gf = g.reshape(-1)
    of = out.reshape(-1)
    for f in range(gf.size):
        of[f] = prog_sigma(abs(np.float64(gf[f])), mv)


@njit(cache=True, parallel=True)
def program_noise(g, mv, key, g_prog, nu):
    """Programmed conductances and drift exponents of targets g (any shape, C order)."""
    gf = g.reshape(-1)  # one reshape per line: a tuple of reshapes loses the writes in a
    pf = g_prog.reshape(-1)  # parallel numba function (numba 0.68)
    nf = nu.reshape(-1)
    for f in prange(gf.size):
        v = gf[f]
        z = gauss.normal(key, np.uint64(2 * f), gauss.KI, gauss.WI, gauss.FI)
        pf[f] = max(v + mv[M_PROG] * prog_sigma(v, mv) * z, 0.0)
        mu, sd = nu_moments(v, mv)
        zn = gauss.normal(key, np.uint64(2 * f + 1), gauss.KI, gauss.WI, gauss.FI)
        nf[f] = abs(mu + sd * zn) * mv[M_DRIFT]


@njit(cache=True)
def _aged(g_prog, g_target, nu, mv, t, sig_t, row, z):
    """One conductance read at t (``age_noise``)."""
    if int(mv[M_MODEL]) == WAN2022:
        c = WAN_COEFFS[row]
        s = (c[0] + g_target * (c[1] + g_target * (c[2] + g_target * (c[3] + g_target * c[4]))))
        return max(g_target + mv[M_READ] * s / mv[M_GMAX] * z, 0.0)
    gd = g_prog * (t / mv[M_T0]) ** (-nu)
    return max(gd + abs(gd) * mv[M_READ] * read_q(g_prog, mv) * sig_t * z, 0.0)


@njit(cache=True, parallel=True)
def age_noise(g_prog, g_target, nu, mv, t_inf, key, out):
    """Conductances read t_inf seconds after programming: drift, then 1/f read noise (for
    reram-wan2022: the target plus the spread fitted at t_inf)."""
    pf = g_prog.reshape(-1)  # one reshape per line (see program_noise)
    tf = g_target.reshape(-1)
    nf = nu.reshape(-1)
    of = out.reshape(-1)
    t = t_inf + mv[M_T0]
    sig_t = math.sqrt(math.log((t + mv[M_TREAD]) / (2.0 * mv[M_TREAD])))
    row = 0
    for r in range(WAN_TIMES.size):
        if WAN_TIMES[r] == t_inf:
            row = r
    for f in prange(pf.size):
        z = gauss.normal(key, np.uint64(f), gauss.KI, gauss.WI, gauss.FI)
        of[f] = _aged(pf[f], tf[f], nf[f], mv, t, sig_t, row, z)
