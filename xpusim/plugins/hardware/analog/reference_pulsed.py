"""NumPy twins of the in-situ kernels (``pulsed.py``, ``transfer.py``), written independently:
trains for all values at once, coincidences as bit counts of an outer AND, pulses applied to
every touched device in lockstep (pulse p of all devices that receive more than p)."""

from __future__ import annotations

import numpy as np

from xpusim.numerics import gauss
from xpusim.numerics.reference import _GOLDEN, _mix_words, _slow_normal

from . import pulsed as P
from . import transfer as T


def words_at(key, idx):
    """Words ``idx`` (uint64 array) of the SplitMix64 stream ``key``."""
    idx = np.asarray(idx, dtype=np.uint64)
    flat = idx.reshape(-1)  # arrays: NumPy wraps uint64 products silently, scalars warn
    return _mix_words(np.uint64(key) + (flat + np.uint64(1)) * np.uint64(_GOLDEN)).reshape(
        idx.shape)


def normals_at(key, idx):
    """Float64 standard normals number ``idx`` of stream ``key`` (as ``gauss.normal``)."""
    idx = np.asarray(idx, dtype=np.uint64)
    r = words_at(key, idx >> np.uint64(1))
    h = np.where(idx & np.uint64(1), r >> np.uint64(32), r & np.uint64(0xFFFFFFFF))
    li = (h & np.uint64(0xFF)).astype(np.intp)
    sign = ((h >> np.uint64(8)) & np.uint64(1)).astype(bool)
    mag = h >> np.uint64(9)
    x = mag.astype(np.float64) * gauss.WI[li]
    x = np.where(sign, -x, x)
    flat_h, flat_x = h.reshape(-1), x.reshape(-1)
    for s in np.flatnonzero(mag.reshape(-1) >= gauss.KI[li.reshape(-1)]):
        flat_x[s] = _slow_normal(int(flat_h[s]), gauss.KI, gauss.WI, gauss.FI)
    return flat_x.reshape(x.shape)


def uniforms_at(key, idx):
    return (words_at(key, idx) >> np.uint64(11)).astype(np.float64) / 2.0 ** 53


def trains(p, bl, key, base):
    """Bernoulli trains for every probability in ``p`` (uint64 words, BL bits each): a slot
    fires when its 16-bit uniform, read MSB first from the stream, is below round(p 2^16)."""
    p = np.asarray(p, np.float64)
    with np.errstate(invalid="ignore"):
        q = np.where(p < 2.0, np.floor(p * 65536.0 + 0.5), 65536.0).astype(np.int64)
    base = np.asarray(base, np.uint64)
    mask = np.uint64((1 << bl) - 1) if bl < 64 else ~np.uint64(0)
    if bl <= P.DIRECT_BL:  # slot t: 16-bit lane t % 4 of word t // 4 below q
        res = np.zeros(p.shape, np.uint64)
        for t in range(bl):
            lane = (words_at(key, base + np.uint64(t // 4)) >> np.uint64(16 * (t % 4))) \
                & np.uint64(0xFFFF)
            res |= (lane < q.astype(np.uint64)).astype(np.uint64) << np.uint64(t)
        res = np.where(q >= 65536, mask, res)
        return np.where(q <= 0, np.uint64(0), res)
    und = np.full(p.shape, mask, np.uint64)
    res = np.zeros(p.shape, np.uint64)
    for step in range(16):
        if bl <= 32:
            w = words_at(key, base + np.uint64(step >> 1))
            rt = (w >> np.uint64(32)) if step & 1 else (w & np.uint64(0xFFFFFFFF))
        else:
            rt = words_at(key, base + np.uint64(step))
        one = ((q >> (15 - step)) & 1).astype(bool)
        res = np.where(one, res | (und & ~rt), res)
        und = np.where(one, und & rt, und & ~rt)
    res = np.where(q >= 65536, mask, res)
    return np.where(q <= 0, np.uint64(0), res)


def step(w, up, su, sd, lo, hi, gu, gd, ref, c, pwu, pwd, z):
    """One pulse on every device of the arrays (twin of ``pulsed.step``, vectorised)."""
    model, std = int(c[P.C_MODEL]), c[P.C_STD]
    sg = np.where(up, 1.0, -1.0)
    s = np.where(up, su, sd)
    if model == P.CONSTANT:
        w = w + sg * s * (1.0 + std * z)
    elif model == P.LINEAR:
        v = w + ref
        g = np.where(up, gu, gd)
        if c[P.C_MULT] != 0:
            v = v + sg * (g * v + s) * (1.0 + std * z)
        else:
            v = v + sg * (g * v + s * (1.0 + std * z))
        return np.minimum(np.maximum(v, lo), hi) - ref
    elif model == P.EXP:
        span = hi - lo
        ok = span > 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            zz = 2.0 * w / span * c[P.C_ES_A] + c[P.C_ES_B]
            y_up = np.maximum(1.0 - c[P.C_ES_AUP] * np.exp(c[P.C_ES_GUP] * zz), 0.0)
            y_dn = np.maximum(1.0 - c[P.C_ES_ADOWN] * np.exp(-c[P.C_ES_GDOWN] * zz), 0.0)
            dw = np.where(up, y_up * su, -y_dn * sd)
        if c[P.C_STD_ADD] > 0 or c[P.C_STD_SLOPE] > 0:
            new = w + dw + std * (np.abs(dw) + c[P.C_STD_ADD] + c[P.C_STD_SLOPE] * np.abs(w)) * z
        else:
            new = w + dw * (1.0 + std * z)
        w = np.where(ok, new, w)
    elif model == P.POW:
        span = hi - lo
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(up, (hi - w) / span, (w - lo) / span)
            new = w + sg * s * frac ** np.where(up, gu, gd) * (1.0 + std * z)
        return np.where(span == 0, w, np.minimum(np.maximum(new, lo), hi))
    else:
        ns = pwu.size - 1
        if ns <= 0:
            f = np.where(up, pwu[0] if pwu.size else 1.0, pwd[0] if pwd.size else 1.0)
        else:
            ok = hi > lo
            ws = np.maximum((w - lo) / np.where(ok, hi - lo, 1.0) * ns, 0.0)
            idx = np.minimum(np.floor(ws).astype(np.int64), ns - 1)
            t = np.minimum(ws - idx, 1.0)
            f = np.where(up, (1.0 - t) * pwu[idx] + t * pwu[idx + 1],
                         (1.0 - t) * pwd[idx] + t * pwd[idx + 1])
            f = np.where(ok, f, np.where(up, pwu[0], pwd[0]))
        w = w + sg * s * f * (1.0 + std * z)
    return np.minimum(np.maximum(w, lo), hi)


def _pulse_all(dev, cnt, up, key_c2c, key_wn, base, widx):
    """Apply cnt[i, j] pulses to every device in lockstep; redraw touched apparent weights."""
    w, w_app, su, sd, lo, hi, gu, gd, ref, c, pwu, pwd = dev
    for p in range(int(cnt.max(initial=0))):
        sel = cnt > p
        z = normals_at(key_c2c, base[sel] + np.uint64(p)) if c[P.C_STD] > 0 else 0.0
        w[sel] = step(w[sel], up[sel], su[sel], sd[sel], lo[sel], hi[sel], gu[sel], gd[sel],
                      ref[sel], c, pwu, pwd, z)
    if c[P.C_WNOISE] > 0:
        touched = cnt > 0
        w_app[touched] = w[touched] + c[P.C_WNOISE] * normals_at(key_wn, widx[touched])


def sample_update(xs, ds, lr, dw_gran, bl_max, ublm, um, keys, u, dev, stats, dev_m=None):
    """Twin of ``pulsed.sample_update`` (without its scratch arrays); ``dev_m``: one-sided."""
    xs = np.asarray(xs, np.float64)
    ds = np.asarray(ds, np.float64)
    k, n = xs.size, ds.size
    xmax = np.abs(xs).max(initial=0.0)
    dmax = np.abs(ds).max(initial=0.0)
    if lr <= 0 or xmax == 0 or dmax == 0:
        return
    kval = lr * xmax * dmax / dw_gran
    bl = min(int(np.ceil(kval)), bl_max) if ublm else bl_max
    a = b = np.sqrt(lr / (dw_gran * bl))
    if um:
        dval = dmax * (bl_max / kval if kval > bl_max else 1.0)
        a, b = a * np.sqrt(xmax / dval), b * np.sqrt(dval / xmax)
    words = 8 if bl <= 32 else 16
    row = u * (k + n)
    td = trains(np.abs(ds) * a, bl, keys[0], (row + k + np.arange(n)) * words)
    tx = trains(np.abs(xs) * b, bl, keys[0], (row + np.arange(k)) * words)
    stats[P.S_SLOTS] += bl
    stats[P.S_CALLS] += 1
    cnt = np.bitwise_count(tx[:, None] & td[None, :]).astype(np.int64)
    up = (xs > 0)[:, None] == (ds > 0)[None, :]
    flat = ((u * k + np.arange(k))[:, None] * n + np.arange(n)[None, :]).astype(np.uint64)
    base = flat * np.uint64(P.MAX_PULSES)
    if dev_m is None:
        _pulse_all(dev, cnt, up, keys[1], keys[2], base, flat)
    else:
        _pulse_all(dev, np.where(up, cnt, 0), np.ones_like(up), keys[1], keys[2], base, flat)
        _pulse_all(dev_m, np.where(up, 0, cnt), np.ones_like(up), keys[1], keys[2], base, flat)
    stats[P.S_UP] += cnt[up].sum()
    stats[P.S_DOWN] += cnt[~up].sum()


def pulse_batch(x, d, lr, dw_gran, bl_max, ublm, um, keys, dev, dev_m, one_sided, stats):
    for s in range(x.shape[0]):
        sample_update(x[s], d[s], lr, dw_gran, bl_max, ublm, um, keys, s, dev, stats,
                      dev_m if one_sided else None)


def apply_counts(counts, keys, dev, stats):
    k, n = counts.shape
    flat = np.arange(k * n, dtype=np.uint64).reshape(k, n)
    cnt = np.abs(counts).astype(np.int64)
    _pulse_all(dev, cnt, counts > 0, keys[1], keys[2], flat * np.uint64(1 << 20), flat)
    stats[P.S_UP] += cnt[counts > 0].sum()
    stats[P.S_DOWN] += cnt[counts < 0].sum()


def decay(dev, scale, bias, key_wn):
    w, w_app, su, sd, lo, hi, gu, gd, ref, c, pwu, pwd = dev
    w[...] = np.minimum(np.maximum((w - bias) * scale + bias, lo), hi)
    if c[P.C_WNOISE] > 0:
        w_app[...] = w + c[P.C_WNOISE] * normals_at(key_wn, np.arange(w.size).reshape(w.shape))


def read_row(w, i, out, tp, key, base):
    x = 1.0
    if tp[T.P_R_PERFECT] == 0 and tp[T.P_R_DAC] != 0:
        levels = 2.0 ** (tp[T.P_R_DAC_BITS] - 1) - 1
        bound = tp[T.P_R_DAC_BOUND]
        x = np.round(np.clip(x, -bound, bound) * (levels / bound)) * (bound / levels)
    v = w[i] * x
    if tp[T.P_R_PERFECT] == 0:
        if tp[T.P_R_NOISE] > 0:
            v = v + tp[T.P_R_NOISE] * normals_at(key, base + np.arange(out.size))
        if tp[T.P_R_ADC] != 0:
            bound = tp[T.P_R_ADC_BOUND]
            st = 2.0 * bound / (2.0 ** tp[T.P_R_ADC_BITS] - 2.0)
            v = np.round(np.clip(v, -bound, bound) * (1.0 / st)) * st
    out[...] = v


def transfer_batch(x, d, lr, tp, keys, dev_a, dev_c, buf, mean, past, in_chop, out_chop,
                   switched, ts, stats_a, stats_c, stats_t):
    """Twin of ``transfer.transfer_batch``: the same cycle, vectorised over rows/outputs."""
    m, k = x.shape
    n = d.shape[1]
    algo = int(tp[T.P_ALGO])
    chopped = algo in (T.CTTV2, T.AGAD)
    reads = int(tp[T.P_NREADS])
    every = (max(int(np.ceil(tp[T.P_EVERY] * m)), 0) if tp[T.P_MBATCH]
             else max(int(np.round(tp[T.P_EVERY])), 0))
    dw_a, dw_c = tp[T.P_DWA], tp[T.P_DWC]
    rd = np.empty(n)
    for s in range(m):
        xs, ds = x[s].astype(np.float64), d[s].astype(np.float64)
        if chopped and tp[T.P_AUTOSCALE]:
            for slot, new in ((T.T_MX, np.abs(xs).max()), (T.T_MD, np.abs(ds).max())):
                if ts[slot] <= 0:
                    ts[slot] = new
                elif new > 0:
                    tau = (1.0 - tp[T.P_AUTOMOM]) / m
                    ts[slot] = (1.0 - tau) * ts[slot] + tau * new
        if chopped and tp[T.P_AUTOSCALE] and tp[T.P_FAST_LR] > 0:
            count_lr = tp[T.P_FAST_LR] * tp[T.P_BL] * dw_a
            if ts[T.T_MX] > 0 and ts[T.T_MD] > 0:
                count_lr /= ts[T.T_MX] * ts[T.T_MD]
            count_lr = count_lr * lr if tp[T.P_SCALE_FAST] else count_lr
        elif tp[T.P_FAST_LR] > 0:
            count_lr = tp[T.P_FAST_LR] * lr if tp[T.P_SCALE_FAST] else tp[T.P_FAST_LR]
        else:
            count_lr = lr
        ts[T.T_COUNT_LR] = count_lr
        if chopped:
            xs = np.where(in_chop != 0, -xs, xs)
            ds = np.where(out_chop != 0, -ds, ds)
        sample_update(xs, ds, count_lr, dw_a, int(tp[T.P_BL]), bool(tp[T.P_UBLM]),
                      bool(tp[T.P_UM]), keys, s * (reads + 1), dev_a, stats_a)
        ts[T.T_UPDATES] += 1
        if every <= 0 or int(ts[T.T_UPDATES]) % every:
            continue
        tlr = tp[T.P_TLR] * lr if tp[T.P_SCALE_TLR] else tp[T.P_TLR]
        if tlr == 0:
            continue
        start, n_t = int(ts[T.T_SLICE]), min(reads, k)
        bg = tp[T.P_BUFG] if tp[T.P_BUFG] > 0 else 1.0
        bg *= dw_a * tp[T.P_AUTOG] / (k * abs(tp[T.P_EVERY])) if tp[T.P_AUTOG] > 0 else dw_a
        if tp[T.P_CORRECT]:
            bg *= dw_c / dw_a
            lr_scale = abs(tlr) / ts[T.T_COUNT_LR] / bg
        else:
            lr_scale = abs(tlr) / bg
        max_steps = tp[T.P_TBL]
        for r in range(n_t):
            i = (start + r) % k
            t = s * reads + r
            read_row(dev_a[1], i, rd, tp, keys[3], t * n)
            stats_t[T.R_READS] += 1
            c_lr = tp[T.P_STEP] * dw_c
            if algo == T.TIKI_TAKA:
                wd, write, c_lr = rd.copy(), True, tlr
            elif algo == T.TTV2:
                g = tp[T.P_THRES] * dw_c
                omega = buf[i] + rd * abs(tlr)
                st = np.clip(np.trunc(omega / g), -max_steps, max_steps)
                taken = omega * tp[T.P_MOM] if tp[T.P_FORGET] else omega - (
                    1 - tp[T.P_MOM]) * st * g
                buf[i] = np.where(st != 0, taken, omega)
                wd, write = st, bool((st != 0).any())
                stats_t[T.R_BUFFER] += n
            elif algo == T.CTTV2:
                flip = in_chop[i] != out_chop
                val = np.where(flip, -rd * lr_scale, rd * lr_scale)
                omega = (0.0 if tp[T.P_NOBUF] else buf[i]) + val
                big = np.abs(omega) >= 1
                st = np.where(big, np.clip(np.trunc(omega), -max_steps, max_steps), 0.0)
                taken = omega * tp[T.P_MOM] if tp[T.P_FORGET] else omega - (1 - tp[T.P_MOM]) * st
                buf[i] = np.where(big, taken, omega)
                wd, write = st, bool(big.any())
                stats_t[T.R_BUFFER] += n
                if tp[T.P_INCHOP] > 0:
                    if tp[T.P_INCHOP_RANDOM]:
                        if uniforms_at(keys[4], t) < tp[T.P_INCHOP]:
                            in_chop[i] = 1 - in_chop[i]
                    else:
                        period = max(int(np.ceil(1 / tp[T.P_INCHOP])), 2)
                        if int(ts[T.T_COUNTER]) % period + 1 == period:
                            in_chop[i] = 1 - in_chop[i]
                if i == k - 1 and tp[T.P_OUTCHOP] > 0:
                    flips = uniforms_at(keys[5], t * n + np.arange(n)) < tp[T.P_OUTCHOP]
                    out_chop[flips] = 1 - out_chop[flips]
            else:
                period = max(int(np.ceil(1 / tp[T.P_INCHOP])), 2) if tp[T.P_INCHOP] > 0 else 2
                current = int(ts[T.T_COUNTER]) % period + 1
                sm = min(tp[T.P_TAIL] / period, 1.0)
                if switched[i]:
                    past[i] = mean[i]
                switched[i] = 0
                dw = rd - past[i]
                dw = np.where(in_chop[i] != out_chop, -dw, dw)
                omega = buf[i] + dw * lr_scale
                big = np.abs(omega) >= 1
                st = np.where(big, np.clip(np.trunc(omega), -max_steps, max_steps), 0.0)
                if tp[T.P_FORGET]:
                    taken = omega * tp[T.P_MOM]
                else:
                    taken = omega - (1 - tp[T.P_MOM]) * st
                    cap = max_steps * tp[T.P_CAP]
                    if cap > 0:
                        taken = np.clip(taken, -cap, cap)
                buf[i] = np.where(big, taken, omega)
                mean[i] = mean[i] * (1 - sm) + rd * sm
                wd, write = st, bool(big.any()) and ts[T.T_COUNTER] > period
                stats_t[T.R_BUFFER] += n
                switch = current == period
                if tp[T.P_INCHOP_RANDOM] and uniforms_at(keys[4], t) < tp[T.P_INCHOP]:
                    switch = True
                if switch:
                    in_chop[i] = 1 - in_chop[i]
                    switched[i] = 1
            if write:
                onehot = np.zeros(k)
                onehot[i] = 1.0
                sample_update(onehot, wd, c_lr, dw_c, int(tp[T.P_TBL]), bool(tp[T.P_TUM]),
                              bool(tp[T.P_TUM]), keys, s * (reads + 1) + 1 + r, dev_c, stats_c)
            if chopped and i == k - 1:
                ts[T.T_COUNTER] += 1
        ts[T.T_SLICE] = float((start + n_t) % k)
