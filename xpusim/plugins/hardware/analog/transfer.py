"""The Tiki-Taka family of in-situ learning rules (numba): two pulsed arrays per layer.

The gradient goes, as pulses, onto a fast array A; every ``transfer_every`` update cycles rows
of A are read (a forward read with a one-hot input, through the transfer periphery: output
noise and ADC, no noise or bound management) and moved onto the slow array C, which holds the
weights (the forward pass reads W = gamma·A + C). As aihwkit's C++ (``rpu_transfer_device.cpp``,
``rpu_buffered_transfer_device.cpp``, ``rpu_chopped_transfer_device.cpp``,
``rpu_dynamic_transfer_device.cpp``) runs them, one update cycle per sample:

* ``tiki-taka`` (Gokmen & Haensch, Front. Neurosci. 2020): the read row r of A is written onto
  C's row with a stochastic pulsed update of strength ``transfer_lr`` (x = one-hot, d = r).
* ``ttv2`` (Gokmen, Front. Artif. Intell. 2021): r·|transfer_lr| accumulates in a digital buffer
  H; where |H| reaches the granularity g = ``thres_scale``·dw_min(C), trunc(H/g) pulses (at most
  the transfer BL) go to C and H decays by ``momentum`` (``forget_buffer``) or loses the steps.
* ``c-ttv2`` (Rasch et al., Nat. Commun. 2024, "chopped TTv2"): the update onto A is multiplied
  by random signs (choppers, one per input and output line, flipped with ``in_chop_prob`` after
  a row's read and ``out_chop_prob`` after a full sweep); the read is sign-corrected before it
  enters H (H += ±r·transfer_lr/g, steps where |H| >= 1). The granularity g is
  ``buffer_granularity``·dw_min(A), times ``auto_granularity``/(rows·transfer_every) when set.
* ``agad`` (Rasch et al. 2024, AGAD): as c-ttv2 with regular chopper periods of
  n = max(ceil(1/in_chop_prob), 2) reads; H accumulates the read minus the mean of the previous
  chopper period (a running mean with weight ``tail_weightening``/n), so A's drift and offsets
  cancel; no writes during the first n sweeps.

With ``auto_scale`` (c-ttv2, agad) the pulse-count learning rate of A is
fast_lr·BL·dw_min(A)/(m_x·m_d), m_x and m_d running means of the per-sample max |x| and |d|
(momentum ``auto_momentum``/batch).

Randomness, counter-based (``xpusim.numerics.gauss``): A's update of sample s is pulse call
s·(R+1) and the write of read r of that cycle call s·(R+1)+1+r (R reads per transfer); the read
noise of output j in read t = s·R + r is draw t·n + j of ``keys[3]``; chopper flips use uniform
t of ``keys[4]`` (inputs) and t·n + j of ``keys[5]`` (outputs).

numba's on-disk cache does not see edits in ``pulsed.py`` from ``transfer_batch``, which
compiles ``pulsed.rows_update`` in: clear ``__pycache__/*.nb[ic]`` after changing it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from xpusim.numerics import gauss

from .pulsed import abs_max, rows_update, scratch

TIKI_TAKA, TTV2, CTTV2, AGAD = 1, 2, 3, 4
ALGORITHMS = {"tiki-taka": TIKI_TAKA, "ttv2": TTV2, "c-ttv2": CTTV2, "agad": AGAD}
# ``tp`` (transfer parameters) layout
(P_ALGO, P_EVERY, P_MBATCH, P_NREADS, P_FAST_LR, P_SCALE_FAST, P_TLR, P_SCALE_TLR, P_TBL, P_TUM,
 P_THRES, P_STEP, P_MOM, P_FORGET, P_INCHOP, P_INCHOP_RANDOM, P_OUTCHOP, P_BUFG, P_AUTOG,
 P_NOBUF, P_AUTOSCALE, P_AUTOMOM, P_CORRECT, P_TAIL, P_CAP, P_BL, P_UBLM, P_UM, P_DWA, P_DWC,
 P_R_PERFECT, P_R_DAC, P_R_DAC_BITS, P_R_DAC_BOUND, P_R_ADC, P_R_ADC_BITS, P_R_ADC_BOUND,
 P_R_NOISE) = range(38)
N_TP = 38
# ``ts`` (transfer state scalars) layout
T_UPDATES, T_SLICE, T_COUNTER, T_MX, T_MD, T_COUNT_LR = range(6)
N_TS = 6
# ``stats_t`` layout: transfer reads (one-hot forward reads of A), buffer updates (elements)
R_READS, R_BUFFER = range(2)


@njit(cache=True, inline="always")
def _uniform(key, idx):
    return float(gauss.word(key, np.uint64(idx)) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def _running_max(current, new, momentum, m):
    """aihwkit ``updateAutoScale``: the first value, then an EMA with weight (1 - momentum)/m."""
    if current <= 0.0:
        return new
    if new <= 0.0:
        return current
    tau = (1.0 - momentum) / m
    return (1.0 - tau) * current + tau * new


@njit(cache=True)
def read_row(w, i, out, tp, key, base):
    """Row i of array w read with a one-hot input: DAC (the input 1.0), output noise
    (std ``P_R_NOISE``, folding in per-read weight noise), ADC clip and rounding."""
    n = out.size
    x = 1.0
    if tp[P_R_PERFECT] == 0.0 and tp[P_R_DAC] != 0.0:
        levels = 2.0 ** (tp[P_R_DAC_BITS] - 1.0) - 1.0
        bound = tp[P_R_DAC_BOUND]
        x = np.round(min(max(x, -bound), bound) * (levels / bound)) * (bound / levels)
    for j in range(n):
        v = w[i, j] * x
        if tp[P_R_PERFECT] == 0.0:
            if tp[P_R_NOISE] > 0.0:
                v += tp[P_R_NOISE] * gauss.normal(key, np.uint64(base + j), gauss.KI, gauss.WI,
                                                  gauss.FI)
            if tp[P_R_ADC] != 0.0:
                bound = tp[P_R_ADC_BOUND]
                st = 2.0 * bound / (2.0 ** tp[P_R_ADC_BITS] - 2.0)
                v = np.round(min(max(v, -bound), bound) * (1.0 / st)) * st
        out[j] = v


@njit(cache=True)
def transfer_batch(x, d, lr, tp, keys, dev_a, dev_c, buf, mean, past, in_chop, out_chop,
                   switched, ts, stats_a, stats_c, stats_t):
    """One batch of a Tiki-Taka-family rule on arrays ``dev_a`` (fast) and ``dev_c`` (slow);
    x (m, k), d (m, n), expected gradient step lr·xᵀd (module docstring). ``buf`` is the
    digital buffer H, ``mean``/``past`` AGAD's running means, ``in_chop``/``out_chop`` the
    chopper signs (1 = flipped), ``switched`` AGAD's per-row switch flags, ``ts`` the scalar
    state (updates, next row, sweeps, m_x, m_d, count lr)."""
    m, k = x.shape
    n = d.shape[1]
    algo = int(tp[P_ALGO])
    chopped = algo == CTTV2 or algo == AGAD
    n_reads = int(tp[P_NREADS])
    if tp[P_MBATCH] != 0.0:
        every = max(int(math.ceil(tp[P_EVERY] * m)), 0)
    else:
        every = max(int(np.round(tp[P_EVERY])), 0)
    dw_a = tp[P_DWA]
    dw_c = tp[P_DWC]
    xs = np.empty((1, k))  # one sample, chopper signs applied
    ds = np.empty((1, n))
    wd2 = np.empty((1, n))
    onehot2 = np.zeros((1, k))
    run_start = 0  # rules without choppers update A in runs of samples between transfers
    rd = np.empty(n)
    wd = np.empty(n)
    td, dact, xact, tx_buf, ev_i, ev_j, ev_cnt, ev_up = scratch(k, n)
    w_read = dev_a[1]  # A's apparent weights
    for s in range(m):
        if chopped and tp[P_AUTOSCALE] != 0.0:
            xmax = abs_max(x[s])
            dmax = abs_max(d[s])
            ts[T_MX] = _running_max(ts[T_MX], xmax, tp[P_AUTOMOM], m)
            ts[T_MD] = _running_max(ts[T_MD], dmax, tp[P_AUTOMOM], m)
        if chopped and tp[P_AUTOSCALE] != 0.0 and tp[P_FAST_LR] > 0.0:
            count_lr = tp[P_FAST_LR] * tp[P_BL] * dw_a
            if ts[T_MX] > 0.0 and ts[T_MD] > 0.0:
                count_lr /= ts[T_MX] * ts[T_MD]
            if tp[P_SCALE_FAST] != 0.0:
                count_lr *= lr
        elif tp[P_FAST_LR] > 0.0:
            count_lr = tp[P_FAST_LR] * lr if tp[P_SCALE_FAST] != 0.0 else tp[P_FAST_LR]
        else:
            count_lr = lr
        ts[T_COUNT_LR] = count_lr
        if chopped:
            for i in range(k):
                xs[0, i] = -x[s, i] if in_chop[i] else x[s, i]
            for j in range(n):
                ds[0, j] = -d[s, j] if out_chop[j] else d[s, j]
            rows_update(xs, ds, 0, 1, count_lr, dw_a, int(tp[P_BL]), tp[P_UBLM] != 0.0,
                        tp[P_UM] != 0.0, keys, s * (n_reads + 1), 1, dev_a, dev_a, False, td,
                        dact, xact, tx_buf, ev_i, ev_j, ev_cnt, ev_up, stats_a)
        ts[T_UPDATES] += 1.0
        tlr = tp[P_TLR] * lr if tp[P_SCALE_TLR] != 0.0 else tp[P_TLR]
        transfer_now = every > 0 and int(ts[T_UPDATES]) % every == 0 and tlr != 0.0
        if not chopped and (transfer_now or s == m - 1):  # count_lr is the same each sample
            rows_update(x, d, run_start, s + 1, count_lr, dw_a, int(tp[P_BL]),
                        tp[P_UBLM] != 0.0, tp[P_UM] != 0.0, keys, run_start * (n_reads + 1),
                        n_reads + 1, dev_a, dev_a, False, td, dact, xact, tx_buf, ev_i, ev_j,
                        ev_cnt, ev_up, stats_a)
            run_start = s + 1
        if not transfer_now:
            continue
        start = int(ts[T_SLICE])
        n_t = min(n_reads, k)
        bg = tp[P_BUFG] if tp[P_BUFG] > 0.0 else 1.0
        if tp[P_AUTOG] > 0.0:
            bg *= dw_a * tp[P_AUTOG] / (k * abs(tp[P_EVERY]))
        else:
            bg *= dw_a
        if tp[P_CORRECT] != 0.0:
            bg *= dw_c / dw_a
            lr_scale = abs(tlr) / ts[T_COUNT_LR] / bg
        else:
            lr_scale = abs(tlr) / bg
        max_steps = tp[P_TBL]
        for r in range(n_t):
            i = (start + r) % k
            t = s * n_reads + r
            read_row(w_read, i, rd, tp, keys[3], t * n)
            stats_t[R_READS] += 1.0
            write = True
            c_lr = tp[P_STEP] * dw_c
            if algo == TIKI_TAKA:
                for j in range(n):
                    wd[j] = rd[j]
                c_lr = tlr
            elif algo == TTV2:
                g = tp[P_THRES] * dw_c
                nz = 0
                for j in range(n):
                    omega = buf[i, j] + rd[j] * abs(tlr)
                    st = max(min(math.trunc(omega / g), max_steps), -max_steps)
                    if st != 0.0:
                        nz += 1
                        if tp[P_FORGET] != 0.0:
                            omega *= tp[P_MOM]
                        else:
                            omega -= (1.0 - tp[P_MOM]) * st * g
                    buf[i, j] = omega
                    wd[j] = st
                stats_t[R_BUFFER] += n
                write = nz > 0
            elif algo == CTTV2:
                nz = 0
                for j in range(n):
                    omega = 0.0 if tp[P_NOBUF] != 0.0 else buf[i, j]
                    val = rd[j] * lr_scale
                    if in_chop[i] != out_chop[j]:
                        val = -val
                    omega += val
                    st = 0.0
                    if abs(omega) >= 1.0:
                        st = max(min(math.trunc(omega), max_steps), -max_steps)
                        if tp[P_FORGET] != 0.0:
                            omega *= tp[P_MOM]
                        else:
                            omega -= (1.0 - tp[P_MOM]) * st
                        nz += 1
                    buf[i, j] = omega
                    wd[j] = st
                stats_t[R_BUFFER] += n
                write = nz > 0
                if tp[P_INCHOP] > 0.0:
                    if tp[P_INCHOP_RANDOM] != 0.0:
                        if _uniform(keys[4], t) < tp[P_INCHOP]:
                            in_chop[i] = 1 - in_chop[i]
                    else:
                        period = max(int(math.ceil(1.0 / tp[P_INCHOP])), 2)
                        if int(ts[T_COUNTER]) % period + 1 == period:
                            in_chop[i] = 1 - in_chop[i]
                if i == k - 1 and tp[P_OUTCHOP] > 0.0:
                    for j in range(n):
                        if _uniform(keys[5], t * n + j) < tp[P_OUTCHOP]:
                            out_chop[j] = 1 - out_chop[j]
            else:  # AGAD
                period = 2
                if tp[P_INCHOP] > 0.0:
                    period = max(int(math.ceil(1.0 / tp[P_INCHOP])), 2)
                current = int(ts[T_COUNTER]) % period + 1
                sm = min(tp[P_TAIL] / period, 1.0)
                prev_switched = switched[i] != 0
                switched[i] = 0
                cap = max_steps * tp[P_CAP]
                nz = 0
                for j in range(n):
                    val = rd[j]
                    mu_past = past[i, j]
                    if prev_switched:
                        mu_past = mean[i, j]
                        past[i, j] = mu_past
                    dw = val - mu_past
                    if in_chop[i] != out_chop[j]:
                        dw = -dw
                    omega = buf[i, j] + dw * lr_scale
                    st = 0.0
                    if abs(omega) >= 1.0:
                        st = max(min(math.trunc(omega), max_steps), -max_steps)
                        if tp[P_FORGET] != 0.0:
                            omega *= tp[P_MOM]
                        else:
                            omega -= (1.0 - tp[P_MOM]) * st
                            if cap > 0.0:
                                omega = min(max(omega, -cap), cap)
                        nz += 1
                    buf[i, j] = omega
                    wd[j] = st
                    mean[i, j] = mean[i, j] * (1.0 - sm) + val * sm
                stats_t[R_BUFFER] += n
                write = nz > 0 and ts[T_COUNTER] > period
                switch = current == period
                if tp[P_INCHOP_RANDOM] != 0.0 and _uniform(keys[4], t) < tp[P_INCHOP]:
                    switch = True
                if switch:
                    in_chop[i] = 1 - in_chop[i]
                    switched[i] = 1
            if write:
                onehot2[0, i] = 1.0
                for j in range(n):
                    wd2[0, j] = wd[j]
                rows_update(onehot2, wd2, 0, 1, c_lr, dw_c, int(tp[P_TBL]), tp[P_TUM] != 0.0,
                            tp[P_TUM] != 0.0, keys, s * (n_reads + 1) + 1 + r, 1, dev_c, dev_c,
                            False, td, dact, xact, tx_buf, ev_i, ev_j, ev_cnt, ev_up, stats_c)
                onehot2[0, i] = 0.0
            if chopped and i == k - 1:
                ts[T_COUNTER] += 1.0
        ts[T_SLICE] = float((start + n_t) % k)
