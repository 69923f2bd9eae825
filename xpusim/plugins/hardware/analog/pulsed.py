"""In-situ update kernels (numba): stochastic pulse trains, coincidences, the device zoo.

One call updates one crossbar array for a whole batch, sample by sample, as aihwkit's pulsed
weight updater does (``rpu_weight_updater.cpp``, ``sparse_bit_line_maker.cpp``):

* **Update management** per sample (aihwkit ``UpdateParameters``, REFERENCES E12): with
  k = lr·max|x|·max|d| / dw_min, the pulse train has BL = min(ceil(k), BL_max) slots when
  ``ublm`` (update BL management) is on, else BL_max; x_i fires in each slot with probability
  |x_i|·B and d_j with |d_j|·A, A = B = sqrt(lr / (dw_min·BL)), and with ``um`` (update
  management) A·sqrt(max|x|/d'), B·sqrt(d'/max|x|), d' = max|d| (times BL_max/k when k > BL_max).
  Each coincidence of an x slot and a d slot moves device (i, j) one step, up when x_i and d_j
  have the same sign (the expected change is lr·x_i·d_j).
* **Trains**: a probability p (rounded to 2^-16) becomes a BL-bit word by comparing, in every
  slot at once, a 16-bit uniform built MSB first from random words (a slot is decided at the
  first bit where its uniform and p differ; the loop stops once every slot is decided). The
  words come from the counter-based stream of ``xpusim.numerics.gauss`` (``word``), so value v
  of call u takes words (u·(k+n) + v)·W + t (W = 8, two 32-bit halves a word, for BL <= 32,
  else W = 16), whatever order the values are visited in.
* **Devices** (one ``step`` per pulse, cycle-to-cycle normal z per pulse, then clipped to the
  device's bounds; aihwkit's C++ update-once functions, REFERENCES E13 and the device docs):
  constant-step ``w ± s(1 + σz)``; linear-step ``w ± (γ w + s)(1 + σz)`` (multiplicative noise)
  or ``w ± (γ w + s(1 + σz))``, γ the per-device slope (soft bounds: γ = -s/bound), with an
  optional reference r read as w - r; exp-step
  ``w ± max(1 - A e^{±g z'}, 0) s (1 + σz)``, z' = 2a w/(b_max - b_min) + b (or the additive
  noise σ(|Δw| + σ_add + σ_slope |w|)z); pow-step ``w ± s ((b_max - w)/range)^γ`` up,
  ``((w - b_min)/range)^γ`` down; piecewise-step: s times the linear interpolation of a table
  of step factors over [b_min, b_max]. Write noise: the apparent weight read by the arrays is
  the hidden one plus σ_w dw_min z', redrawn each time a device is touched.

Randomness: ``keys`` = (trains, cycle-to-cycle, write noise, spare) stream keys from the
device's Generator; normal p of device (i, j) in call u is draw ((u·k + i)·n + j)·64 + p of the
cycle-to-cycle stream, the write noise draw (u·k + i)·n + j of its stream.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from xpusim.numerics import gauss

# device models
CONSTANT, LINEAR, EXP, POW, PIECEWISE = 0, 1, 2, 3, 4
MODELS = {"constant-step": CONSTANT, "linear-step": LINEAR, "soft-bounds": LINEAR,
          "exp-step": EXP, "pow-step": POW, "piecewise-step": PIECEWISE}
# per-array constants (``consts`` vector)
(C_MODEL, C_STD, C_WNOISE, C_MULT, C_ES_A, C_ES_B, C_ES_AUP, C_ES_ADOWN, C_ES_GUP, C_ES_GDOWN,
 C_STD_ADD, C_STD_SLOPE) = range(12)
N_CONSTS = 12
# statistics accumulated by every call (``stats`` vector)
S_UP, S_DOWN, S_SLOTS, S_CALLS = range(4)
N_STATS = 4
PROB_BITS = 16
MAX_PULSES = 64  # stream positions reserved per device and call (BL <= 64)


DIRECT_BL = 16  # trains of at most this many slots compare 16-bit uniforms slot by slot


@njit(cache=True, inline="always")
def _train(p, bl, key, base):
    """BL-bit Bernoulli(p) train from the stream ``key`` at word ``base`` (module docstring)."""
    q = min(math.floor(p * 65536.0 + 0.5), 65536.0) if p < 2.0 else 65536.0
    mask = (np.uint64(1) << np.uint64(bl)) - np.uint64(1) if bl < 64 else ~np.uint64(0)
    res = np.uint64(0)
    if bl <= DIRECT_BL:  # slot t fires when 16-bit lane t % 4 of word t // 4 is below q
        uq = np.uint64(q)  # branch-free: q = 0 fires nothing, q = 2^16 every slot
        for w in range((bl + 3) >> 2):
            r = gauss.word(key, np.uint64(base + w))
            for lane in range(min(4, bl - 4 * w)):
                hit = ((r >> np.uint64(16 * lane)) & np.uint64(0xFFFF)) < uq
                res |= np.uint64(hit) << np.uint64(4 * w + lane)
        return res
    if q <= 0.0:
        return res
    if q >= 65536.0:
        return mask
    qi = int(q)
    und = mask
    r = np.uint64(0)
    for step in range(PROB_BITS):
        if bl <= 32:
            if step & 1 == 0:
                r = gauss.word(key, np.uint64(base + (step >> 1)))
                rt = r & np.uint64(0xFFFFFFFF)
            else:
                rt = r >> np.uint64(32)
        else:
            rt = gauss.word(key, np.uint64(base + step))
        if (qi >> (PROB_BITS - 1 - step)) & 1:
            res |= und & ~rt
            und &= rt
        else:
            und &= ~rt
        if und == np.uint64(0):
            break
    return res


@njit(cache=True, inline="always")
def _lanes(r, uq, shift):
    """Four slots from one word: bit shift + t set where 16-bit lane t of r is below uq."""
    res = np.uint64((r & np.uint64(0xFFFF)) < uq) << shift
    res |= np.uint64(((r >> np.uint64(16)) & np.uint64(0xFFFF)) < uq) << (shift + np.uint64(1))
    res |= np.uint64(((r >> np.uint64(32)) & np.uint64(0xFFFF)) < uq) << (shift + np.uint64(2))
    res |= np.uint64((r >> np.uint64(48)) < uq) << (shift + np.uint64(3))
    return res


@njit(cache=True, inline="always")
def _trains_words(vals, scale, key, row, words, out, mask, n_words):
    """``_trains`` for trains of at most 4·n_words slots, n_words a constant 1, 2 or 4 in the
    caller's branch (a fixed loop unrolls; unused slots are masked off)."""
    for v in range(vals.size):
        p = abs(np.float64(vals[v])) * scale
        uq = np.uint64(np.int64(math.floor(min(p, 1.0) * 65536.0 + 0.5)))
        base = np.uint64((row + v) * words)
        res = np.uint64(0)
        for w in range(n_words):
            res |= _lanes(gauss.word(key, base + np.uint64(w)), uq, np.uint64(4 * w))
        out[v] = res & mask


@njit(cache=True, inline="always")
def _trains(vals, scale, bl, key, row, words, out):
    """out[v] = the train of every value v of ``vals`` (as ``_train``: probability |v|·scale,
    words from (row + v)·``words``; a zero value never fires). Trains of at most 16 slots in
    one contiguous pass without data-dependent branches: it vectorises, and costs less than
    skipping the zeros."""
    if bl > DIRECT_BL:
        for v in range(vals.size):
            x = abs(np.float64(vals[v]))
            out[v] = _train(x * scale, bl, key, (row + v) * words) if x != 0.0 else np.uint64(0)
        return
    mask = (np.uint64(1) << np.uint64(bl)) - np.uint64(1)
    if bl <= 4:
        _trains_words(vals, scale, key, row, words, out, mask, 1)
    elif bl <= 8:
        _trains_words(vals, scale, key, row, words, out, mask, 2)
    else:
        _trains_words(vals, scale, key, row, words, out, mask, 4)


@njit(cache=True, inline="always")
def _popcount(x):
    """Bits set in a uint64 (SWAR; LLVM lowers it to the popcnt instruction)."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True, inline="always")
def step(w, up, su, sd, lo, hi, gu, gd, ref, model, std, mult, es_a, es_b, es_aup, es_adown,
         es_gup, es_gdown, std_add, std_slope, f_pw, z):
    """One pulse on one device (module docstring); returns the new, clipped weight. Scalars
    only (an array argument costs a reference count per call); ``f_pw`` is the piecewise-step
    factor at w."""
    if model == CONSTANT:
        if up:
            w += su * (1.0 + std * z)
        else:
            w -= sd * (1.0 + std * z)
    elif model == LINEAR:
        w += ref
        if mult:
            if up:
                w += (gu * w + su) * (1.0 + std * z)
            else:
                w -= (gd * w + sd) * (1.0 + std * z)
        else:
            if up:
                w += gu * w + su * (1.0 + std * z)
            else:
                w -= gd * w + sd * (1.0 + std * z)
        w = min(max(w, lo), hi)
        return w - ref
    elif model == EXP:
        b_diff = hi - lo
        if b_diff > 0.0:
            zz = 2.0 * w / b_diff * es_a + es_b
            if up:
                dw = max(1.0 - es_aup * math.exp(es_gup * zz), 0.0) * su
            else:
                dw = -max(1.0 - es_adown * math.exp(-es_gdown * zz), 0.0) * sd
            if std_add > 0.0 or std_slope > 0.0:
                w += dw + std * (abs(dw) + std_add + std_slope * abs(w)) * z
            else:
                w += dw * (1.0 + std * z)
    elif model == POW:
        rng = hi - lo
        if rng == 0.0:
            return w
        if up:
            w += su * ((hi - w) / rng) ** gu * (1.0 + std * z)
        else:
            w -= sd * ((w - lo) / rng) ** gd * (1.0 + std * z)
    else:  # PIECEWISE
        if up:
            w += su * f_pw * (1.0 + std * z)
        else:
            w -= sd * f_pw * (1.0 + std * z)
    return min(max(w, lo), hi)


@njit(cache=True, inline="always")
def run_pulses(v, cnt, up, su, sd, lo, hi, gu, gd, ref, model, std, mult, es_a, es_b, es_aup,
               es_adown, es_gup, es_gdown, std_add, std_slope, key_c2c, base):
    """``cnt`` pulses on one device (every model but piecewise-step); scalars only. Normal p is
    draw base + p of ``key_c2c``."""
    for p in range(cnt):
        z = gauss.normal(key_c2c, np.uint64(base + p), gauss.KI, gauss.WI, gauss.FI) \
            if std > 0.0 else 0.0
        v = step(v, up, su, sd, lo, hi, gu, gd, ref, model, std, mult, es_a, es_b, es_aup,
                 es_adown, es_gup, es_gdown, std_add, std_slope, 1.0, z)
    return v


@njit(cache=True)
def apply_events(w, w_app, su, sd, lo, hi, gu, gd, ref, c, pwu, pwd, ev_i, ev_j, ev_cnt,
                 ev_up, nev, select, key_c2c, key_wn, base_scale, u, k, n):
    """Apply coincidence events e < nev: ev_cnt[e] pulses to device (ev_i[e], ev_j[e]), up where
    ev_up[e]; ``select`` = 1 / 0 applies only the up / down events, as up pulses (one side of a
    one-sided pair), -1 all. Normal p of device (i, j) in call u is draw
    ((u·k + i)·n + j)·base_scale + p of ``key_c2c``, its write noise draw (u·k + i)·n + j."""
    model = int(c[C_MODEL])
    std = c[C_STD]
    noisy = std > 0.0
    wn = c[C_WNOISE]
    mult = c[C_MULT] != 0.0
    es_a, es_b, es_aup, es_adown = c[C_ES_A], c[C_ES_B], c[C_ES_AUP], c[C_ES_ADOWN]
    es_gup, es_gdown, std_add, std_slope = c[C_ES_GUP], c[C_ES_GDOWN], c[C_STD_ADD], \
        c[C_STD_SLOPE]
    ns = pwu.size - 1
    if model == CONSTANT and wn == 0.0:  # the common device: read only what it needs
        for e in range(nev):
            up = ev_up[e] != 0
            if select == 1 and not up or select == 0 and up:
                continue
            if select >= 0:
                up = True
            i = ev_i[e]
            j = ev_j[e]
            v = w[i, j]
            s_step = su[i, j] if up else -sd[i, j]
            b_lo, b_hi = lo[i, j], hi[i, j]
            base = ((u * k + i) * n + j) * base_scale
            for p in range(ev_cnt[e]):
                z = gauss.normal(key_c2c, np.uint64(base + p), gauss.KI, gauss.WI, gauss.FI) \
                    if noisy else 0.0
                v = min(max(v + s_step * (1.0 + std * z), b_lo), b_hi)
            w[i, j] = v
        return
    for e in range(nev):
        up = ev_up[e] != 0
        if select == 1 and not up or select == 0 and up:
            continue
        if select >= 0:
            up = True
        i = ev_i[e]
        j = ev_j[e]
        v = w[i, j]
        s_up, s_dn, b_lo, b_hi = su[i, j], sd[i, j], lo[i, j], hi[i, j]
        g_up, g_dn, r = gu[i, j], gd[i, j], ref[i, j]
        flat = (u * k + i) * n + j
        base = flat * base_scale
        for p in range(ev_cnt[e]):
            z = gauss.normal(key_c2c, np.uint64(base + p), gauss.KI, gauss.WI, gauss.FI) \
                if noisy else 0.0
            f_pw = 1.0
            if model == PIECEWISE:
                if ns <= 0 or b_hi <= b_lo:
                    f_pw = (pwu[0] if up else pwd[0]) if pwu.size > 0 else 1.0
                else:
                    ws = max((v - b_lo) / (b_hi - b_lo) * ns, 0.0)
                    idx = min(int(math.floor(ws)), ns - 1)
                    t = min(ws - idx, 1.0)
                    f_pw = ((1.0 - t) * pwu[idx] + t * pwu[idx + 1] if up
                            else (1.0 - t) * pwd[idx] + t * pwd[idx + 1])
            v = step(v, up, s_up, s_dn, b_lo, b_hi, g_up, g_dn, r, model, std, mult, es_a,
                     es_b, es_aup, es_adown, es_gup, es_gdown, std_add, std_slope, f_pw, z)
        w[i, j] = v
        if wn > 0.0:
            w_app[i, j] = v + wn * gauss.normal(key_wn, np.uint64(flat), gauss.KI, gauss.WI,
                                                gauss.FI)


@njit(cache=True, inline="always")
def abs_max(v):
    """max |v| of a contiguous vector, exactly: for float32 an integer max over the bits with
    the sign cleared (it vectorises; a float max does not), else four independent chains."""
    n = v.size
    if v.itemsize == 4:
        bits = v.view(np.uint32)
        b = np.uint32(0)
        for i in range(n):
            b = max(b, bits[i] & np.uint32(0x7FFFFFFF))
        cell = np.empty(1, np.uint32)
        cell[0] = b
        return np.float64(cell.view(np.float32)[0])
    m0 = m1 = m2 = m3 = 0.0
    for i in range(0, n - 3, 4):
        m0 = max(m0, abs(np.float64(v[i])))
        m1 = max(m1, abs(np.float64(v[i + 1])))
        m2 = max(m2, abs(np.float64(v[i + 2])))
        m3 = max(m3, abs(np.float64(v[i + 3])))
    for i in range(n - n % 4, n):
        m0 = max(m0, abs(np.float64(v[i])))
    return max(max(m0, m1), max(m2, m3))


@njit(cache=True, inline="always")
def _pair_normal(key, wbase, p, rw):
    """(normal 2·wbase + p of stream ``key``, its word), as ``gauss.normal`` draws it: an even p
    hashes a new word, an odd p takes the upper half of ``rw``, the word of pulse p - 1, so a
    device's pulses cost one hash per two."""
    if p & 1 == 0:
        rw = gauss.word(key, wbase + np.uint64(p >> 1))
        h = rw & np.uint64(0xFFFFFFFF)
    else:
        h = rw >> np.uint64(32)
    return gauss.normal32(h, gauss.KI, gauss.WI, gauss.FI), rw


@njit(cache=True)
def rows_update(x, d, s0, s1, lr, dw_gran, bl_max, ublm, um, keys, u0, u_step, dev, dev_m,
                one_sided, td, dact, xact, tx_buf, ev_i, ev_j, ev_cnt, ev_up, stats):
    """Update cycles of array ``dev`` for samples s0 <= s < s1 of x (m, k), d (m, n), in order,
    sample s as call number u0 + (s - s0)·u_step: update management, trains, coincidences,
    pulses (module docstring). One call for many samples: the arrays are unpacked once (each
    pass of an array costs reference counts). ``one_sided``: a pair of unidirectional arrays
    w = dev - dev_m; a coincidence that would lower w raises dev_m instead (aihwkit
    OneSidedRPUDevice). ``td``, ``dact`` (n), ``xact``, ``tx_buf`` (k) and the ``ev_*`` (k n)
    are scratch (``scratch``)."""
    k = x.shape[1]
    n = d.shape[1]
    if lr <= 0.0:
        return
    w1, a1, su1, sd1, lo1, hi1, gu1, gd1, rf1, c1, pu1, pd1 = dev
    model = int(c1[C_MODEL])
    direct = not one_sided and model != PIECEWISE  # apply in the pair loop, no event list
    constant = direct and model == CONSTANT and c1[C_WNOISE] == 0.0
    linear = direct and model == LINEAR and c1[C_WNOISE] == 0.0
    std = c1[C_STD]
    wn = c1[C_WNOISE]
    mult = c1[C_MULT] != 0.0
    es_a, es_b, es_aup, es_adown = c1[C_ES_A], c1[C_ES_B], c1[C_ES_AUP], c1[C_ES_ADOWN]
    es_gup, es_gdown, std_add, std_slope = c1[C_ES_GUP], c1[C_ES_GDOWN], c1[C_STD_ADD], \
        c1[C_STD_SLOPE]
    key1 = keys[1]
    for s in range(s0, s1):
        xs = x[s]
        ds = d[s]
        u = u0 + (s - s0) * u_step
        xmax = abs_max(xs)
        dmax = abs_max(ds)
        if xmax == 0.0 or dmax == 0.0:
            continue
        kval = lr * xmax * dmax / dw_gran
        bl = bl_max
        if ublm:
            bl = min(int(math.ceil(kval)), bl_max)
        a = math.sqrt(lr / (dw_gran * bl))
        b = a
        if um:
            dval = dmax
            if kval > bl_max:
                dval *= bl_max / kval
            a *= math.sqrt(xmax / dval)
            b *= math.sqrt(dval / xmax)
        words = 8 if bl <= 32 else 16
        row = u * (k + n)
        _trains(ds, a, bl, keys[0], row + k, words, td)
        nd = 0
        for j in range(n):  # keep the outputs whose trains fire (compacted in place)
            t = td[j]
            dact[nd] = j
            td[nd] = t
            nd += t != np.uint64(0)
        stats[S_SLOTS] += bl
        stats[S_CALLS] += 1
        if nd == 0:
            continue
        _trains(xs, b, bl, keys[0], row, words, tx_buf)  # the same for the inputs
        na = 0
        for i in range(k):
            t = tx_buf[i]
            xact[na] = i
            tx_buf[na] = t
            na += t != np.uint64(0)
        cnt_buf = ev_cnt[k * n:k * n + n]  # past the events: one row's counts (ev_cnt: k n + 3 n)
        nev = 0
        n_up = 0
        n_down = 0
        hit = ev_cnt[k * n + n:k * n + 2 * n]  # past the events: the coinciding outputs
        d_pos = ev_cnt[k * n + 2 * n:]  # 1 where d_j > 0, in the order of dact
        for jj in range(nd):
            d_pos[jj] = ds[dact[jj]] > 0
        for ii in range(na):
            i = xact[ii]
            tx = tx_buf[ii]
            sx = np.int64(xs[i] > 0)
            nh = 0
            for jj in range(nd):  # vectorised popcounts, then the coincidences, branch-free
                c = _popcount(tx & td[jj])
                cnt_buf[jj] = c
                hit[nh] = jj
                nh += c != 0
            ui = np.uint64(i)  # unsigned indices: no wraparound arithmetic per access
            for hh in range(nh):
                jj = np.uint64(hit[hh])
                cnt = cnt_buf[jj]
                j = dact[jj]
                uj = np.uint64(j)
                upi = np.int64(sx == d_pos[jj])
                up = upi != 0
                n_up += cnt * upi
                n_down += cnt - cnt * upi
                if constant:  # the common device: only its steps and bounds are read
                    base = ((u * k + i) * n + j) * MAX_PULSES
                    v = w1[ui, uj]
                    s_u, s_d = su1[ui, uj], sd1[ui, uj]
                    s_step = s_u if up else -s_d
                    b_lo, b_hi = lo1[ui, uj], hi1[ui, uj]
                    wbase = np.uint64(base >> 1)
                    rw = np.uint64(0)
                    for p in range(cnt):
                        z = 0.0
                        if std > 0.0:
                            z, rw = _pair_normal(key1, wbase, p, rw)
                        v = min(max(v + s_step * (1.0 + std * z), b_lo), b_hi)
                    w1[ui, uj] = v
                    continue
                if linear:  # soft bounds and linear steps: slope, step, bounds, reference
                    base = ((u * k + i) * n + j) * MAX_PULSES
                    r = rf1[ui, uj]
                    v = w1[ui, uj] + r
                    g_u, g_d, s_u, s_d = gu1[ui, uj], gd1[ui, uj], su1[ui, uj], sd1[ui, uj]
                    g = g_u if up else -g_d
                    s_step = s_u if up else -s_d
                    b_lo, b_hi = lo1[ui, uj], hi1[ui, uj]
                    wbase = np.uint64(base >> 1)
                    rw = np.uint64(0)
                    for p in range(cnt):
                        z = 0.0
                        if std > 0.0:
                            z, rw = _pair_normal(key1, wbase, p, rw)
                        if mult:
                            v = min(max(v + (g * v + s_step) * (1.0 + std * z), b_lo), b_hi)
                        else:
                            v = min(max(v + (g * v + s_step * (1.0 + std * z)), b_lo), b_hi)
                    w1[ui, uj] = v - r
                    continue
                if direct:
                    flat = (u * k + i) * n + j
                    v = run_pulses(w1[i, j], cnt, up, su1[i, j], sd1[i, j], lo1[i, j], hi1[i, j],
                                   gu1[i, j], gd1[i, j], rf1[i, j], model, std, mult, es_a, es_b,
                                   es_aup, es_adown, es_gup, es_gdown, std_add, std_slope, keys[1],
                                   flat * MAX_PULSES)
                    w1[i, j] = v
                    if wn > 0.0:
                        a1[i, j] = v + wn * gauss.normal(keys[2], np.uint64(flat), gauss.KI,
                                                         gauss.WI, gauss.FI)
                    continue
                ev_i[nev] = i
                ev_j[nev] = j
                ev_cnt[nev] = cnt
                ev_up[nev] = up
                nev += 1
        stats[S_UP] += n_up
        stats[S_DOWN] += n_down
        if direct:
            continue
        if one_sided:
            w2, a2, su2, sd2, lo2, hi2, gu2, gd2, rf2, c2, pu2, pd2 = dev_m
            apply_events(w1, a1, su1, sd1, lo1, hi1, gu1, gd1, rf1, c1, pu1, pd1, ev_i, ev_j,
                         ev_cnt, ev_up, nev, 1, keys[1], keys[2], MAX_PULSES, u, k, n)
            apply_events(w2, a2, su2, sd2, lo2, hi2, gu2, gd2, rf2, c2, pu2, pd2, ev_i, ev_j,
                         ev_cnt, ev_up, nev, 0, keys[1], keys[2], MAX_PULSES, u, k, n)
        else:
            apply_events(w1, a1, su1, sd1, lo1, hi1, gu1, gd1, rf1, c1, pu1, pd1, ev_i, ev_j,
                         ev_cnt, ev_up, nev, -1, keys[1], keys[2], MAX_PULSES, u, k, n)


@njit(cache=True)
def scratch(k, n):
    """Scratch arrays of ``rows_update``: td, dact, xact, tx_buf, ev_i, ev_j, ev_cnt, ev_up."""
    return (np.empty(n, np.uint64), np.empty(n, np.int64), np.empty(k, np.int64),
            np.empty(k, np.uint64), np.empty(k * n, np.int64), np.empty(k * n, np.int64),
            np.empty(k * n + 3 * n, np.int64), np.empty(k * n, np.int8))


@njit(cache=True)
def pulse_batch(x, d, lr, dw_gran, bl_max, ublm, um, keys, dev, dev_m, one_sided, stats):
    """Update array ``dev`` (with ``dev_m``: a one-sided pair) with every sample of x (m, k),
    d (m, n) in order (call u = sample); the expected change is lr xᵀd. ``stats`` accumulates
    (up pulses, down pulses, slots, calls)."""
    m, k = x.shape
    n = d.shape[1]
    td, dact, xact, tx_buf, ev_i, ev_j, ev_cnt, ev_up = scratch(k, n)
    rows_update(x, d, 0, m, lr, dw_gran, bl_max, ublm, um, keys, 0, 1, dev, dev_m, one_sided, td,
                dact, xact, tx_buf, ev_i, ev_j, ev_cnt, ev_up, stats)


@njit(cache=True)
def apply_counts(counts, keys, dev, stats):
    """Apply |counts[i, j]| pulses (up where positive) to each device: the whole-step transfer
    of mixed-precision training. Normal p of device (i, j) is draw (i·n + j)·2^20 + p."""
    k, n = counts.shape
    ev_i = np.empty(k * n, np.int64)
    ev_j = np.empty(k * n, np.int64)
    ev_cnt = np.empty(k * n, np.int64)
    ev_up = np.empty(k * n, np.int8)
    nev = 0
    for i in range(k):
        for j in range(n):
            cv = counts[i, j]
            if cv == 0.0:
                continue
            ev_i[nev], ev_j[nev], ev_cnt[nev], ev_up[nev] = i, j, int(abs(cv)), cv > 0.0
            nev += 1
            if cv > 0.0:
                stats[S_UP] += abs(cv)
            else:
                stats[S_DOWN] += abs(cv)
    w, a, su, sd, lo, hi, gu, gd, rf, c, pu, pd = dev
    apply_events(w, a, su, sd, lo, hi, gu, gd, rf, c, pu, pd, ev_i, ev_j, ev_cnt, ev_up, nev, -1,
                 keys[1], keys[2], 1 << 20, 0, k, n)


@njit(cache=True)
def decay(dev, scale, bias, key_wn):
    """Leakage toward the reset value once per batch (aihwkit ``decayWeights``):
    w = (w - b)·scale + b, clipped; then the apparent weights are redrawn (write noise draw
    i·n + j of ``key_wn``)."""
    w, w_app, su, sd, lo, hi, gu, gd, ref, c, pwu, pwd = dev
    k, n = w.shape
    for i in range(k):
        for j in range(n):
            v = (w[i, j] - bias[i, j]) * scale[i, j] + bias[i, j]
            v = min(max(v, lo[i, j]), hi[i, j])
            w[i, j] = v
            if c[C_WNOISE] > 0.0:
                w_app[i, j] = v + c[C_WNOISE] * gauss.normal(key_wn, np.uint64(i * n + j),
                                                             gauss.KI, gauss.WI, gauss.FI)
