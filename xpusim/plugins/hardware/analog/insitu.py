"""In-situ training state: pulsed arrays (device-to-device draws as aihwkit's ``populate``) and
the rules that update them (plain SGD, the Tiki-Taka family, one-sided pairs, mixed precision).

A rule's ``update(x, d, lr, keys)`` moves its weights by about lr·xᵀd with the kernels of
``pulsed.py`` / ``transfer.py`` and returns what the hardware did (pulses, slots, transfer
reads) for the cost model; ``weights()`` is what a read of the crossbars sees.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from . import pulsed as P
from . import transfer as T
from .params import Periphery
from .params_insitu import Pulsed


def granularity(pu: Pulsed) -> float:
    """The step update management counts in (aihwkit ``calcWeightGranularity``): dw_min, but
    for exp-step the down step at w = 0, for pow-step dw_min 0.5^gamma and for piecewise-step
    dw_min times the middle up factor."""
    if pu.model == "exp-step":
        es = pu.exp_step
        scale_down = (-max(pu.up_down, 0.0) + 1.0) * pu.dw_min
        z = es.offset_b  # w = 0
        dw_down = scale_down * max(1.0 - es.amplitude_down * math.exp(-es.exponent_down * z), 0.0)
        return dw_down if dw_down > 0 else pu.dw_min
    if pu.model == "pow-step":
        return pu.dw_min * 0.5 ** pu.pow_step.gamma
    if pu.model == "piecewise-step":
        up = pu.piecewise_step.up
        return pu.dw_min * up[len(up) // 2]
    return pu.dw_min


class PulsedArray:
    """One crossbar of pulsed devices (k x n): hidden and apparent weights, per-device steps,
    bounds, slopes, reference, leakage; ``dev`` is the tuple the kernels take."""

    def __init__(self, pu: Pulsed, shape: tuple[int, int], rng: np.random.Generator,
                 stuck_fraction: float = 0.0):
        self.pu = pu
        k, n = shape
        g = rng.standard_normal
        hi = pu.w_max * (1.0 + pu.w_max_dtod * g(shape))
        lo = pu.w_min * (1.0 + pu.w_min_dtod * g(shape))
        gain = (np.exp(pu.dw_min_dtod * g(shape)) if pu.dw_min_dtod_log_normal
                else 1.0 + pu.dw_min_dtod * g(shape))
        r = pu.up_down_dtod * g(shape)
        up_bias, down_bias = min(pu.up_down, 0.0), -max(pu.up_down, 0.0)
        su = np.abs((up_bias + gain + r) * pu.dw_min)  # aihwkit PulsedRPUDevice::populate,
        sd = np.abs((down_bias + gain - r) * pu.dw_min)  # enforce_consistency on
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
        hi, lo = np.abs(hi), -np.abs(lo)
        gu, gd = np.zeros(shape), np.zeros(shape)
        ref = np.zeros(shape)
        self.reset_bias = pu.reset + pu.reset_dtod * g(shape)
        if pu.model in ("linear-step", "soft-bounds"):
            ls = pu.linear_step
            if pu.model == "soft-bounds":  # aihwkit SoftBoundsRPUDeviceMetaParameter
                up_d, down_d, ref_up, ref_down = 1.0, 1.0, hi, lo
            else:
                up_d = ls.gamma_up + ls.gamma_up_dtod * g(shape)
                down_d = ls.gamma_down + ls.gamma_down_dtod * g(shape)
                if not ls.allow_increasing:
                    up_d, down_d = np.abs(up_d), np.abs(down_d)
                ref_up, ref_down = ((pu.w_max, pu.w_min) if ls.mean_bound_reference
                                    else (hi, lo))
            with np.errstate(divide="ignore", invalid="ignore"):
                gu = np.where(ref_up != 0, -up_d * su / ref_up, 0.0) + np.zeros(shape)
                gd = np.where(ref_down != 0, -down_d * sd / ref_down, 0.0) + np.zeros(shape)
            ref = pu.reference_std * g(shape)
            if pu.subtract_symmetry_point:  # aihwkit SoftBoundsReferenceRPUDevice::populate
                ok = (hi > 0) & (lo < 0)
                with np.errstate(divide="ignore", invalid="ignore"):
                    sp = np.where(ok, (su - sd) / (su / hi - sd / lo), 0.0)
                ref = ref + sp
                self.reset_bias = self.reset_bias + sp
        elif pu.model == "pow-step":
            ps = pu.pow_step
            pgain = 1.0 + ps.gamma_dtod * g(shape)
            pr = ps.up_down_dtod * g(shape)
            gu = np.abs((min(ps.up_down, 0.0) + pgain + pr) * ps.gamma)
            gd = np.abs((-max(ps.up_down, 0.0) + pgain - pr) * ps.gamma)
        self.stuck = np.zeros(shape, bool)
        if stuck_fraction > 0:  # stuck devices: half at 0, half at their upper bound
            u = rng.random(shape)
            stuck = u < stuck_fraction
            value = np.where(u < stuck_fraction / 2, 0.0, hi)
            su, sd = np.where(stuck, 0.0, su), np.where(stuck, 0.0, sd)
            lo, hi = np.where(stuck, value, lo), np.where(stuck, value, hi)
            self.stuck = stuck
        if pu.lifetime > 0:
            t = pu.lifetime * (1.0 + pu.lifetime_dtod * g(shape))
            with np.errstate(divide="ignore"):
                self.decay_scale = np.where(t > 1.0, 1.0 - 1.0 / t, 0.0)
        else:
            self.decay_scale = None
        c = np.zeros(P.N_CONSTS)
        c[P.C_MODEL] = P.MODELS[pu.model]
        c[P.C_STD] = pu.dw_min_std
        c[P.C_WNOISE] = pu.write_noise_std * pu.dw_min
        c[P.C_MULT] = float(pu.mult_noise)
        es = pu.exp_step
        c[P.C_ES_A:P.C_STD_SLOPE + 1] = (es.slope_a, es.offset_b, es.amplitude_up,
                                         es.amplitude_down, es.exponent_up, es.exponent_down,
                                         es.dw_min_std_add, es.dw_min_std_slope)
        pw = pu.piecewise_step
        self.w = np.zeros(shape)
        self.w_app = np.zeros(shape) if pu.write_noise_std > 0 else self.w
        self.dev = (self.w, self.w_app, su, sd, lo, hi, gu, gd, ref, c,
                    np.asarray(pw.up, np.float64), np.asarray(pw.down, np.float64))
        self.rng = rng

    @property
    def granularity(self) -> float:
        return granularity(self.pu)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.dev[4], self.dev[5]

    def set_weights(self, w: np.ndarray) -> None:
        """Program ``w`` (as visible weights): clipped to the devices' range, then write noise."""
        lo, hi, ref = self.dev[4], self.dev[5], self.dev[8]
        self.w[...] = np.clip(np.asarray(w, np.float64) + ref, lo, hi) - ref
        if self.w_app is not self.w:
            self.w_app[...] = self.w + self.dev[9][P.C_WNOISE] * self.rng.standard_normal(
                self.w.shape)

    def reset(self, mask: np.ndarray) -> None:
        """Reset the devices of ``mask`` to their reset value (+ reset_std spread)."""
        lo, hi = self.dev[4], self.dev[5]
        v = self.reset_bias + self.pu.reset_std * self.rng.standard_normal(self.w.shape)
        self.w[mask] = np.clip(v, lo, hi)[mask]
        if self.w_app is not self.w:
            self.w_app[mask] = self.w[mask]

    def leak(self, kernels: Any, key: np.uint64) -> None:
        """Once per batch: leakage toward the reset value (``lifetime``)."""
        if self.decay_scale is not None:
            kernels.pulse_decay(self.dev, self.decay_scale, self.reset_bias, key)


@attrs.define
class Work:
    """What one update did, for pricing: per array touched, samples (m), pulses fired, pulse
    slots (sum of per-sample BL), and digital work."""

    m: int = 0
    pulses: float = 0.0
    slots: float = 0.0
    transfer_reads: float = 0.0
    transfer_m: int = 0
    transfer_pulses: float = 0.0
    transfer_slots: float = 0.0
    buffer_ops: float = 0.0
    refresh_reads: float = 0.0


class PlainRule:
    """Stochastic pulsed SGD onto one array (aihwkit SingleRPUConfig)."""

    arrays = 1
    read_cache = None  # the device's float32 copy of weights() until the next update

    def __init__(self, pu: Pulsed, shape, rng, stuck_fraction=0.0):
        self.array = PulsedArray(pu, shape, rng, stuck_fraction)

    def set_weights(self, w):
        self.array.set_weights(w)

    def weights(self) -> np.ndarray:
        return self.array.w_app

    def update(self, kernels, x, d, lr, keys) -> Work:
        pu = self.array.pu
        st = np.zeros(P.N_STATS)
        kernels.pulse_batch(x, d, lr, self.array.granularity, pu.pulse_train_length,
                            pu.update_bl_management, pu.update_management, keys,
                            self.array.dev, self.array.dev, False, st)
        self.array.leak(kernels, keys[5])
        return Work(m=len(x), pulses=st[P.S_UP] + st[P.S_DOWN], slots=st[P.S_SLOTS])


class HybridRule(PlainRule):
    """Mixed precision (Nandakumar et al. 2020): the digital step accumulates in chi; whole
    device steps are sent as pulses."""

    def __init__(self, pu, shape, rng, stuck_fraction=0.0):
        super().__init__(pu, shape, rng, stuck_fraction)
        self.chi = np.zeros(shape)

    def apply(self, kernels, delta, keys) -> Work:
        """Add the optimizer's step ``delta`` to chi and transfer its whole steps."""
        dw = self.array.granularity
        chi = self.chi + delta
        steps = np.trunc(chi / dw)
        self.chi = chi - steps * dw
        st = np.zeros(P.N_STATS)
        kernels.pulse_counts(steps, keys, self.array.dev, st)
        self.array.leak(kernels, keys[5])
        return Work(m=1, pulses=st[P.S_UP] + st[P.S_DOWN],
                    slots=float(np.abs(steps).max(initial=0.0)))


def read_vector(read: Periphery, tp: np.ndarray | None = None) -> np.ndarray:
    """The periphery entries of a ``tp`` vector (``transfer.read_row``)."""
    tp = np.zeros(T.N_TP) if tp is None else tp
    tp[T.P_R_PERFECT] = read.perfect
    tp[T.P_R_DAC] = read.dac.enabled
    tp[T.P_R_DAC_BITS] = read.dac.bits
    tp[T.P_R_DAC_BOUND] = read.dac.input_bound
    tp[T.P_R_ADC] = read.adc.enabled
    tp[T.P_R_ADC_BITS] = read.adc.bits
    tp[T.P_R_ADC_BOUND] = read.adc.output_bound
    tp[T.P_R_NOISE] = float(np.hypot(read.noise.out_noise_std, read.noise.w_noise_std))
    return tp


def fast_device(p) -> Pulsed:
    """The fast array's device: ``[pulsed]`` with ``transfer.fast`` applied."""
    from .params import fast_pulsed
    return fast_pulsed(p)


def transfer_vector(tr, rule, pu_a: Pulsed, pu_c: Pulsed, read: Periphery) -> np.ndarray:
    """The ``tp`` vector of ``transfer.transfer_batch``."""
    tp = np.zeros(T.N_TP)
    tp[T.P_ALGO] = T.ALGORITHMS[tr.algorithm]
    tp[T.P_EVERY] = rule.transfer_every
    tp[T.P_MBATCH] = rule.units_in_mbatch
    tp[T.P_NREADS] = rule.n_reads_per_transfer
    tp[T.P_FAST_LR] = rule.fast_lr
    tp[T.P_SCALE_FAST] = rule.scale_fast_lr
    tp[T.P_TLR] = rule.transfer_lr
    tp[T.P_SCALE_TLR] = rule.scale_transfer_lr
    tp[T.P_TBL] = rule.transfer_bl
    tp[T.P_TUM] = rule.transfer_update_management
    for slot, name, default in ((T.P_THRES, "thres_scale", 1.0), (T.P_STEP, "step", 1.0),
                                (T.P_MOM, "momentum", 0.0), (T.P_FORGET, "forget_buffer", 1.0),
                                (T.P_INCHOP, "in_chop_prob", 0.0),
                                (T.P_INCHOP_RANDOM, "in_chop_random", 0.0),
                                (T.P_OUTCHOP, "out_chop_prob", 0.0),
                                (T.P_BUFG, "buffer_granularity", 1.0),
                                (T.P_AUTOG, "auto_granularity", 0.0),
                                (T.P_NOBUF, "no_buffer", 0.0), (T.P_AUTOSCALE, "auto_scale", 0.0),
                                (T.P_AUTOMOM, "auto_momentum", 0.99),
                                (T.P_CORRECT, "correct_gradient_magnitudes", 0.0),
                                (T.P_TAIL, "tail_weightening", 1.0), (T.P_CAP, "buffer_cap", 0.0)):
        tp[slot] = float(getattr(rule, name, default))
    tp[T.P_BL] = pu_a.pulse_train_length
    tp[T.P_UBLM] = pu_a.update_bl_management
    tp[T.P_UM] = pu_a.update_management
    tp[T.P_DWA] = granularity(pu_a)
    tp[T.P_DWC] = granularity(pu_c)
    return read_vector(read, tp)


class TransferRule:
    """A Tiki-Taka-family rule (``transfer.py``): fast array A, slow array C, digital buffer."""

    arrays = 2
    read_cache = None

    def __init__(self, tr, pu_a: Pulsed, pu_c: Pulsed, read: Periphery, shape, rng,
                 stuck_fraction=0.0):
        self.rule = tr.rule()
        self.a = PulsedArray(pu_a, shape, rng, stuck_fraction)
        self.c = PulsedArray(pu_c, shape, rng, stuck_fraction)
        self.tp = transfer_vector(tr, self.rule, pu_a, pu_c, read)
        k, n = shape
        self.buf = np.zeros(shape)
        self.mean = np.zeros(shape)
        self.past = np.zeros(shape)
        self.in_chop = np.zeros(k, np.int8)
        self.out_chop = np.zeros(n, np.int8)
        self.switched = np.zeros(k, np.int8)
        self.ts = np.zeros(T.N_TS)
        self.reads_two = self.rule.gamma > 0  # the forward pass reads gamma A + C

    def set_weights(self, w):
        """aihwkit TransferRPUDevice::onSetWeights: A = 0, C = w / gamma_C (gamma_C = 1)."""
        self.a.set_weights(np.zeros_like(w))
        self.c.set_weights(w)

    def weights(self) -> np.ndarray:
        g = self.rule.gamma
        return self.c.w_app + g * self.a.w_app if g else self.c.w_app

    def update(self, kernels, x, d, lr, keys) -> Work:
        sa, sc, stt = np.zeros(P.N_STATS), np.zeros(P.N_STATS), np.zeros(2)
        kernels.transfer_batch(x, d, lr, self.tp, keys, self.a.dev, self.c.dev, self.buf,
                               self.mean, self.past, self.in_chop, self.out_chop, self.switched,
                               self.ts, sa, sc, stt)
        self.a.leak(kernels, keys[5])
        self.c.leak(kernels, keys[5] ^ np.uint64(1))
        return Work(m=len(x), pulses=sa[P.S_UP] + sa[P.S_DOWN], slots=sa[P.S_SLOTS],
                    transfer_reads=stt[T.R_READS], transfer_m=int(sc[P.S_CALLS]),
                    transfer_pulses=sc[P.S_UP] + sc[P.S_DOWN], transfer_slots=sc[P.S_SLOTS],
                    buffer_ops=stt[T.R_BUFFER])


class OneSidedRule:
    """A pair of unidirectional devices, w = G+ - G- (aihwkit OneSidedUnitCell, as its PCM
    preset uses them): an update that raises w pulses G+ up, one that lowers it pulses G- up.
    Every ``refresh_every`` batches both are read (one-hot forward reads); where one device is
    above ``upper_thres`` of its range and the other above ``lower_thres``, both are reset and
    their difference is written back into one of them with a pulsed update."""

    arrays = 2
    read_cache = None

    def __init__(self, pu: Pulsed, read: Periphery, shape, rng, stuck_fraction=0.0):
        self.pu = pu
        self.gp = PulsedArray(pu, shape, rng, stuck_fraction)
        self.gm = PulsedArray(pu, shape, rng, stuck_fraction)
        self.tp = read_vector(read)
        self.batches = 0

    def set_weights(self, w):
        self.gp.set_weights(np.maximum(w, 0.0))
        self.gm.set_weights(np.maximum(-w, 0.0))

    def weights(self) -> np.ndarray:
        return self.gp.w_app - self.gm.w_app

    def update(self, kernels, x, d, lr, keys) -> Work:
        pu = self.pu
        st = np.zeros(P.N_STATS)
        kernels.pulse_batch(x, d, lr, granularity(pu), pu.pulse_train_length,
                            pu.update_bl_management, pu.update_management, keys, self.gp.dev,
                            self.gm.dev, True, st)
        self.gp.leak(kernels, keys[5])
        self.gm.leak(kernels, keys[5] ^ np.uint64(1))
        work = Work(m=len(x), pulses=st[P.S_UP] + st[P.S_DOWN], slots=st[P.S_SLOTS])
        self.batches += 1
        every = pu.one_sided.refresh_every
        if every and self.batches % every == 0:
            self.refresh(kernels, keys, work)
        return work

    def refresh(self, kernels, keys, work: Work) -> None:
        """aihwkit OneSidedRPUDevice::refreshWeights, all rows."""
        os_ = self.pu.one_sided
        k, n = self.gp.w.shape
        rp, rm = np.empty((k, n)), np.empty((k, n))
        for i in range(k):
            kernels.read_row(self.gp.w_app, i, rp[i], self.tp, keys[3], 2 * i * n)
            kernels.read_row(self.gm.w_app, i, rm[i], self.tp, keys[3], (2 * i + 1) * n)
        work.refresh_reads += 2 * k
        wmax = abs(self.pu.w_max)
        crit = np.where(rp > rm, (rp / wmax > os_.upper_thres) & (rm / wmax > os_.lower_thres),
                        (rp / wmax > os_.lower_thres) & (rm / wmax > os_.upper_thres))
        if not crit.any():
            return
        self.gp.reset(crit)
        self.gm.reset(crit)
        rows = np.flatnonzero(crit.any(axis=1))
        eye = np.eye(k)[rows]
        for array, diff in ((self.gp, np.where(crit & (rp > rm), rp - rm, 0.0)),
                            (self.gm, np.where(crit & (rp <= rm), rm - rp, 0.0))):
            st = np.zeros(P.N_STATS)
            sub = np.ascontiguousarray(diff[rows])
            if not sub.any():
                continue
            kernels.pulse_batch(eye, sub, 1.0, granularity(self.pu), self.pu.pulse_train_length,
                                self.pu.update_bl_management, self.pu.update_management,
                                keys[[4, 1, 2, 3, 4, 5]] ^ np.uint64(7), array.dev, array.dev,
                                False, st)
            work.transfer_m += len(rows)
            work.transfer_pulses += st[P.S_UP] + st[P.S_DOWN] + float(crit.sum())
            work.transfer_slots += st[P.S_SLOTS]
