"""Twin test cases for the analog kernels (numba kernel vs NumPy reference)."""

from __future__ import annotations

import numpy as np

from xpusim.core import Twin
from xpusim.numerics import gauss
from xpusim.numerics import reference as numerics_reference

from . import compute, cost, hwa, noise_models, pulsed, reference, transfer
from . import noise_models as NM
from . import pulsed as P
from . import reference_models as RNM
from . import reference_pulsed as RP
from . import transfer as T


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


def _read_small_args(rng):
    m, k, n = int(rng.integers(0, 20)), int(rng.integers(1, 80)), int(rng.integers(1, 40))
    rows = int(rng.integers(1, 40))
    x = (rng.standard_normal((m, k)) * 10 ** rng.uniform(-2, 1)).astype(np.float32)
    w = rng.uniform(-1, 1, (k, n)).astype(np.float32)
    return [x, w, rng.uniform(0.1, 2, n).astype(np.float32), rows, int(rng.integers(2, 9)),
            1.0, bool(rng.random() < .7), bool(rng.random() < .8), bool(rng.random() < .8),
            int(rng.integers(4, 10)), float(rng.uniform(1, 12)),
            float(rng.choice([0.0, 0.06])), float(rng.choice([0.0, 0.02])),
            np.uint64(rng.integers(0, 1 << 63)), np.empty((m, n), np.float32),
            np.empty(m, np.uint8)]


def _normal_args(rng):
    shape = tuple(int(d) for d in rng.integers(0, 40, int(rng.integers(1, 4))))
    return [np.uint64(rng.integers(0, 1 << 63)), np.empty(shape, np.float32)]


def _dev(rng, k, n, model=None):
    """A random pulsed array (the tuple the in-situ kernels take): per-device steps, bounds,
    slopes, references, some stuck devices, and aliased apparent weights unless write noise."""
    model = int(rng.integers(0, 5)) if model is None else model
    shape = (k, n)
    hi, lo = rng.uniform(0.4, 1.0, shape), -rng.uniform(0.4, 1.0, shape)
    su, sd = rng.uniform(5e-3, 3e-2, shape), rng.uniform(5e-3, 3e-2, shape)
    if model == P.POW:
        gu, gd = rng.uniform(0.5, 2.0, shape), rng.uniform(0.5, 2.0, shape)
    else:
        gu, gd = -rng.uniform(0, 1, shape) * su / hi, -rng.uniform(0, 1, shape) * sd / lo
    ref = rng.uniform(-0.05, 0.05, shape) if model == P.LINEAR else np.zeros(shape)
    stuck = rng.random(shape) < 0.05
    su[stuck] = sd[stuck] = 0.0
    lo[stuck] = hi[stuck] = 0.1
    w = rng.uniform(lo, hi)
    c = np.zeros(P.N_CONSTS)
    c[P.C_MODEL] = model
    c[P.C_STD] = rng.choice([0.0, rng.uniform(0, 0.5)])
    c[P.C_WNOISE] = rng.choice([0.0, 0.02])
    c[P.C_MULT] = rng.integers(0, 2)
    c[P.C_ES_A:P.C_ES_GDOWN + 1] = (-0.5, -0.5, -1.18445, -0.081404, 5.0, 5.0) \
        if rng.random() < 0.5 else (0.244, 0.2425, 0.00081, 0.36833, 12.44625, 12.78785)
    if rng.random() < 0.3:
        c[P.C_STD_ADD], c[P.C_STD_SLOPE] = 0.042, 0.108
    size = int(rng.integers(1, 6))
    w_app = w + 0.01 if c[P.C_WNOISE] > 0 else w
    return (w, w_app, su, sd, lo, hi, gu, gd, ref, c, rng.uniform(0.2, 1.5, size),
            rng.uniform(0.2, 1.5, size))


def _keys(rng, n=6):
    return rng.integers(0, 1 << 63, size=n).astype(np.uint64)


def _xd(rng, m, k, n):
    x = rng.uniform(-1, 1, (m, k)).astype(np.float32)
    d = rng.uniform(-1, 1, (m, n)).astype(np.float32)
    x[rng.random((m, k)) < 0.2] = 0.0
    d[rng.random((m, n)) < 0.2] = 0.0
    return x, d


def _pulse_batch_args(rng):
    m, k, n = int(rng.integers(0, 6)), int(rng.integers(1, 14)), int(rng.integers(1, 14))
    x, d = _xd(rng, m, k, n)
    one_sided = bool(rng.random() < 0.25)
    dev = _dev(rng, k, n)
    dev_m = _dev(rng, k, n, int(dev[9][P.C_MODEL])) if one_sided else dev
    return [x, d, float(rng.uniform(0.01, 0.5)), 0.01, int(rng.choice([1, 7, 31, 32, 33, 64])),
            bool(rng.random() < 0.7), bool(rng.random() < 0.7), _keys(rng), dev, dev_m,
            one_sided, np.zeros(P.N_STATS)]


def _counts_args(rng):
    k, n = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    counts = rng.integers(-6, 7, (k, n)).astype(np.float64)
    return [counts, _keys(rng), _dev(rng, k, n), np.zeros(P.N_STATS)]


def _decay_args(rng):
    k, n = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    return [_dev(rng, k, n), rng.uniform(0.9, 1.0, (k, n)), rng.uniform(-0.1, 0.1, (k, n)),
            np.uint64(rng.integers(0, 1 << 63))]


def _tp(rng):
    from .transfer import N_TP
    tp = np.zeros(N_TP)
    algo = int(rng.integers(1, 5))
    tp[T.P_ALGO] = algo
    tp[T.P_EVERY] = rng.choice([1.0, 2.0, 0.5])
    tp[T.P_MBATCH] = rng.integers(0, 2)
    tp[T.P_NREADS] = 1 if algo >= T.CTTV2 else rng.integers(1, 3)
    tp[T.P_FAST_LR] = rng.choice([0.0, rng.uniform(0.1, 2)])
    tp[T.P_SCALE_FAST], tp[T.P_SCALE_TLR] = rng.integers(0, 2, 2)
    tp[T.P_TLR] = rng.uniform(0.1, 2)
    tp[T.P_TBL] = rng.choice([1, 3, 31])
    tp[T.P_TUM] = rng.integers(0, 2)
    tp[T.P_THRES] = rng.uniform(0.5, 2)
    tp[T.P_STEP] = 1.0
    tp[T.P_MOM] = rng.uniform(0, 0.5)
    tp[T.P_FORGET] = rng.integers(0, 2)
    tp[T.P_INCHOP] = rng.choice([0.0, rng.uniform(0.05, 0.5)])
    tp[T.P_INCHOP_RANDOM] = rng.integers(0, 2)
    tp[T.P_OUTCHOP] = rng.choice([0.0, 0.3])
    tp[T.P_BUFG] = rng.uniform(0.5, 2)
    tp[T.P_AUTOG] = rng.choice([0.0, 100.0])
    tp[T.P_NOBUF] = rng.random() < 0.2
    tp[T.P_AUTOSCALE] = rng.integers(0, 2)
    tp[T.P_AUTOMOM] = 0.9
    tp[T.P_CORRECT] = rng.integers(0, 2)
    tp[T.P_TAIL] = rng.uniform(1, 5)
    tp[T.P_CAP] = rng.choice([0.0, 2.0])
    tp[T.P_BL] = rng.choice([7, 31])
    tp[T.P_UBLM], tp[T.P_UM] = rng.integers(0, 2, 2)
    tp[T.P_DWA], tp[T.P_DWC] = 0.01, rng.choice([0.01, 0.02])
    tp[T.P_R_PERFECT] = rng.random() < 0.2
    tp[T.P_R_DAC], tp[T.P_R_ADC] = rng.integers(0, 2, 2)
    tp[T.P_R_DAC_BITS], tp[T.P_R_ADC_BITS] = rng.integers(4, 10, 2)
    tp[T.P_R_DAC_BOUND], tp[T.P_R_ADC_BOUND] = 1.0, rng.choice([0.5, 12.0])
    tp[T.P_R_NOISE] = rng.choice([0.0, 0.02])
    return tp


def _transfer_args(rng):
    m, k, n = int(rng.integers(1, 6)), int(rng.integers(1, 9)), int(rng.integers(1, 9))
    x, d = _xd(rng, m, k, n)
    model = int(rng.integers(0, 5))
    ts = np.zeros(T.N_TS)
    ts[T.T_UPDATES] = rng.integers(0, 4)
    ts[T.T_SLICE] = rng.integers(0, k)
    ts[T.T_COUNTER] = rng.integers(0, 6)
    if rng.random() < 0.5:
        ts[T.T_MX], ts[T.T_MD] = rng.uniform(0.1, 1, 2)
    return [x, d, float(rng.uniform(0.05, 1.0)), _tp(rng), _keys(rng), _dev(rng, k, n, model),
            _dev(rng, k, n, model), rng.uniform(-1, 1, (k, n)), rng.uniform(-0.1, 0.1, (k, n)),
            rng.uniform(-0.1, 0.1, (k, n)), rng.integers(0, 2, k).astype(np.int8),
            rng.integers(0, 2, n).astype(np.int8), rng.integers(0, 2, k).astype(np.int8), ts,
            np.zeros(P.N_STATS), np.zeros(P.N_STATS), np.zeros(2)]


def _read_row_args(rng):
    k, n = int(rng.integers(1, 6)), int(rng.integers(1, 30))
    return [rng.uniform(-1, 1, (k, n)) * rng.choice([0.01, 1.0]), int(rng.integers(0, k)),
            np.empty(n), _tp(rng), np.uint64(rng.integers(0, 1 << 63)),
            int(rng.integers(0, 100))]


def _model_vector(rng):
    mv = np.zeros(NM.N_MV)
    mv[NM.M_MODEL] = rng.integers(0, 4)
    mv[NM.M_DEVICES] = rng.integers(1, 3)
    mv[NM.M_GMAX] = rng.choice([25.0, 40.0])
    mv[NM.M_PROG], mv[NM.M_DRIFT], mv[NM.M_READ] = rng.uniform(0, 2, 3)
    mv[NM.M_T0] = rng.choice([20.0, 300.0])
    mv[NM.M_TREAD] = rng.choice([2.5e-7, 5.12e-7])
    mv[NM.M_NU_MEAN], mv[NM.M_NU_STD] = 0.1, 0.05
    mv[NM.M_C0:NM.M_C2 + 1] = rng.uniform(0, 1, 3)
    return mv


def _program_args(rng):
    g = rng.uniform(0, 1, (int(rng.integers(0, 30)), int(rng.integers(1, 30))))
    g[rng.random(g.shape) < 0.2] = 0.0
    return [g, _model_vector(rng), np.uint64(rng.integers(0, 1 << 63)), np.empty_like(g),
            np.empty_like(g)]


def _sigmas_args(rng):
    g = rng.uniform(-1, 1, (int(rng.integers(0, 20)), int(rng.integers(1, 20))))
    return [g.astype(np.float32), _model_vector(rng), np.empty(g.shape, np.float32)]


def _age_args(rng):
    shape = (int(rng.integers(0, 30)), int(rng.integers(1, 30)))
    g_prog = rng.uniform(0, 1, shape)
    g_prog[rng.random(shape) < 0.2] = 0.0
    return [g_prog, rng.uniform(0, 1, shape), rng.uniform(0, 0.1, shape), _model_vector(rng),
            float(rng.choice([1.0, 86400.0, 172800.0, 3.1e7])),
            np.uint64(rng.integers(0, 1 << 63)), np.empty(shape)]


def _modify_args(rng):
    w = rng.uniform(-1, 1, (int(rng.integers(0, 30)), int(rng.integers(1, 30))))
    w = w.astype(np.float32)
    return [w, int(rng.integers(0, 6)), float(rng.uniform(0, 0.1)),
            float(rng.choice([0.0, 1 / 127, 0.1])), bool(rng.random() < 0.5),
            float(rng.choice([0.0, 0.1])), float(rng.uniform(0.5, 2)),
            np.array([0.0105392, 0.0768, -0.046925]), np.uint64(rng.integers(0, 1 << 63)),
            np.uint64(rng.integers(0, 1 << 63)), np.empty_like(w)]


def _price_args(rng):
    from xpusim.core.formats import format_code
    from xpusim.core.trace import PRIMITIVES
    n = int(rng.integers(0, 300))
    params = rng.uniform(0.5, 2.0, cost.N_PARAMS)
    params[cost.ROWS] = rng.integers(16, 512)
    params[cost.COLS] = rng.integers(16, 512)
    params[cost.TILES] = rng.integers(1, 64)
    params[cost.COLS_PER_ADC] = rng.integers(1, 64)
    params[cost.SLICES] = rng.integers(1, 4)
    params[cost.F_ANALOG_CODE] = format_code("analog")
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
    "read_small": Twin(compute.read_small, reference.read_small, _read_small_args, rtol=2e-5,
                       atol=2e-5, why="the same stages; float32 BLAS products in another call "
                       "order can differ by an ulp and move an ADC rounding"),
    "fill_normal": Twin(gauss.fill_normal, numerics_reference.fill_normal, _normal_args,
                        rtol=0, atol=0, why="counter-based normals: exact"),
    "fill_normal_serial": Twin(gauss.fill_normal_serial, numerics_reference.fill_normal,
                               _normal_args, rtol=0, atol=0, why="as fill_normal"),
    "dac_serial": Twin(compute.dac_serial, reference.dac, _dac_args, rtol=1e-6, atol=1e-6,
                       why="as dac"),
    "periphery_serial": Twin(compute.periphery_serial, reference.periphery, _periphery_args,
                             rtol=1e-6, atol=1e-6, why="as periphery"),
    "pulse_batch": Twin(pulsed.pulse_batch, RP.pulse_batch, _pulse_batch_args, rtol=1e-12,
                        atol=1e-14, why="same trains and counts (exact); device steps use "
                        "exp/pow whose library rounding may differ by an ulp"),
    "pulse_counts": Twin(pulsed.apply_counts, RP.apply_counts, _counts_args, rtol=1e-12,
                         atol=1e-14, why="as pulse_batch"),
    "pulse_decay": Twin(pulsed.decay, RP.decay, _decay_args, rtol=1e-15, atol=1e-15,
                        why="same products"),
    "transfer_batch": Twin(transfer.transfer_batch, RP.transfer_batch, _transfer_args,
                           rtol=1e-12, atol=1e-14, why="as pulse_batch; buffer sums in the "
                           "same order"),
    "read_row": Twin(transfer.read_row, RP.read_row, _read_row_args, rtol=0, atol=0,
                     why="same noise draws, ADC rounding: exact"),
    "program_noise": Twin(noise_models.program_noise, RNM.program_noise, _program_args,
                          rtol=1e-12, atol=1e-15, why="polynomials evaluated in another order; "
                          "log/pow library rounding"),
    "prog_sigmas": Twin(noise_models.prog_sigmas, RNM.prog_sigmas, _sigmas_args, rtol=1e-6,
                        atol=1e-9, why="polynomial order; stored as float32"),
    "age_noise": Twin(noise_models.age_noise, RNM.age_noise, _age_args, rtol=1e-12, atol=1e-15,
                      why="as program_noise"),
    "modify_weights": Twin(hwa.modify_weights, RNM.modify_weights, _modify_args, rtol=1e-6,
                           atol=1e-7, why="float64 arithmetic stored as float32; polynomial "
                           "order"),
    "price": Twin(cost.price, reference.price, _price_args, rtol=1e-12,
                  why="same formulas; float operations ordered differently"),
}
