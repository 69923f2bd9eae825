"""NumPy twins of the systolic cost kernels (``cost.compute_cycles``, ``cost.price``).

Written from the docstrings, not from the kernels: ``compute_cycles`` folds the GEMM as
SCALE-Sim does, ``price`` is vectorised over the rows (the kernel loops over them).
"""

from __future__ import annotations

import numpy as np

from . import cost as c


def _cdiv(a, b):
    return -(-np.asarray(a) // np.asarray(b))


def compute_cycles(M, N, K, rows, cols, dataflow_code):
    """Twin of ``cost.compute_cycles``, for scalars or arrays: folds x (fill + stream + drain)
    - 1; 0 for an empty GEMM, -1 where the count would reach ``cost.COUNT_LIMIT``."""
    M, N, K, R, C, df = np.broadcast_arrays(*(np.asarray(v, dtype=np.int64) for v in
                                              (M, N, K, rows, cols, dataflow_code)))
    # per dataflow: (dimension along the array rows, along the columns, streamed steps, fill)
    #   ws: weights K x N pinned, M input rows stream, the tile shifts in over R cycles;
    #   os: outputs M x N pinned, K reduction steps stream, no fill;
    #   is: inputs K x M pinned, N weight columns stream.
    along_rows = np.where(df == 1, M, K)
    along_cols = np.where(df == 2, M, N)
    steps = np.choose(df, [M, K, N])
    fill_rows = np.where(df == 1, 1, 2)
    live = (M > 0) & (N > 0) & (K > 0)
    fold_r = _cdiv(np.maximum(along_rows, 1), R)
    fold_c = _cdiv(np.maximum(along_cols, 1), C)
    per_fold = fill_rows * R.astype(float) + C.astype(float) + steps.astype(float) - 2.0
    big = fold_r.astype(float) * fold_c.astype(float) * per_fold >= c.COUNT_LIMIT
    safe = np.where(big, 0, 1)  # zero factors where the exact count would overflow
    cycles = np.where(big, -1, (safe * fold_r) * fold_c * (safe * (fill_rows * R + C + steps)
                                                          - 2) - 1)
    return np.where(live, cycles, 0)[()]


def _sram_requests(M, N, K, R, C, df):
    """SCALE-Sim's (input reads, weight reads, accumulator writes) for one array's share."""
    live = (M > 0) & (N > 0) & (K > 0)
    mk, kn, mn = M * K, K * N, M * N
    col_folds_n, row_folds_k = _cdiv(N, C), _cdiv(K, R)
    inp = np.where(df == 2, mk, mk * col_folds_n)
    wts = np.choose(df, [kn, kn * _cdiv(M, R), kn * _cdiv(M, C)])
    acc = np.where(df == 1, mn, mn * row_folds_k)
    return tuple(np.where(live, x, 0).astype(np.float64) for x in (inp, wts, acc))


def price(phase, primitive, m, n, k, bits, fmt, count, activity, params, time_s, energy_j,
          extras):
    """Twin of ``cost.price`` (see its module docstring)."""
    p = params
    R, C, A = int(p[c.ROWS]), int(p[c.COLS]), int(p[c.ARRAYS])
    df = int(p[c.DF])
    clock, bw = p[c.CLOCK], p[c.BW]
    ibuf, wbuf, obuf = p[c.IBUF], p[c.WBUF], p[c.OBUF]
    acc_b = p[c.ACC_BITS] / 8.0
    slots = float(R * C * A)
    prim = primitive.astype(np.int64)
    reps = count.astype(np.float64)
    b = np.maximum(bits.astype(np.int64), 1)
    nb = b / 8.0
    f = fmt.astype(np.int64)
    time_s[:] = -1.0

    gemm = np.isin(prim, [c.P_MVM, c.P_MVM_T, c.P_UPDATE, c.P_MATMUL])
    mat = prim == c.P_MATMUL
    ok = gemm & (p[c.UNPRICEABLE + f] <= 0.0)
    upd = prim == c.P_UPDATE
    M = np.where(upd, k, m).astype(np.int64)
    N = n.astype(np.int64)
    K = np.where(upd, m, k).astype(np.int64)
    dfv = np.full(M.shape, df)
    slices = _cdiv(b, int(p[c.MAC_BITS]))
    passes = (slices * slices).astype(np.float64)
    q, r = N // A, N % A
    big = np.where(r > 0, q + 1, q)
    sim = compute_cycles(M, big, K, R, C, dfv)
    ccyc = sim.astype(np.float64) * passes
    req = [np.zeros(M.shape) for _ in range(3)]
    for share, arrays in ((q + 1, r), (q, A - r)):
        got = _sram_requests(M, share, K, R, C, dfv)
        for j in range(3):
            req[j] += np.where(arrays > 0, arrays * got[j], 0.0)
    inp_rd, w_rd, acc_wr = req
    Mf, Nf, Kf = M.astype(float), N.astype(float), K.astype(float)
    macs = Mf * Nf * Kf
    a_b, b_b, o_b = Mf * Kf * nb, Kf * Nf * nb, Mf * Nf * nb
    # DRAM reads: cheapest of the three loop orders.
    cols_all = np.minimum(Nf, float(C * A))
    with np.errstate(divide="ignore", invalid="ignore"):
        fold_cols = _cdiv(big, C).astype(float)
        if df == 0:
            ra = fold_cols
            rb = np.where(Kf * cols_all * nb <= wbuf, 1.0,
                          np.maximum(1.0, np.ceil(Mf * cols_all * acc_b / obuf)))
        elif df == 1:
            ra = fold_cols
            rb = _cdiv(M, R).astype(float)
        else:
            ra = np.maximum(1.0, np.ceil(np.minimum(Mf, C) * Nf * acc_b / obuf))
            rb = _cdiv(M, C).astype(float)
    a_fit, b_fit = a_b <= ibuf, b_b <= wbuf
    rb_st = rb if df == 0 else np.ones_like(rb)
    ra_st = ra if df == 2 else np.ones_like(ra)
    x = a_b * np.where(a_fit, 1.0, ra) + b_b * np.where(b_fit, 1.0, rb)
    y = a_b + b_b * np.where(b_fit, 1.0, np.maximum(rb_st, np.ceil(a_b / ibuf)))
    z = b_b + a_b * np.where(a_fit, 1.0, np.maximum(ra_st, np.ceil(b_b / wbuf)))
    streamed = np.minimum(np.minimum(x, y), z)
    resident = np.where(upd, a_b + b_b <= ibuf,
                        np.where(mat, a_b + b_b + o_b <= ibuf, a_b + o_b <= ibuf))
    dram_rd = np.where(upd | mat, np.where(resident, 0.0, streamed),
                       np.where(resident, b_b * np.where(b_fit, 1.0, rb_st), streamed))
    dram_wr = np.where(upd | ~resident, o_b, 0.0)
    dram = dram_rd + dram_wr
    sram_rd = (inp_rd + w_rd) * nb + acc_wr * acc_b + dram_wr
    sram_wr = acc_wr * acc_b + o_b + dram_rd
    cyc = np.maximum(ccyc, dram / bw * clock)
    float_mult = p[c.MULT_F + f]
    e_mult = np.where(float_mult > 0, float_mult, p[c.E_INT8_MULT] * (b / 8.0) ** 2)
    e_add = np.where(float_mult > 0, p[c.E_FP32_ADD], p[c.E_INT32_ADD] * p[c.ACC_BITS] / 32.0)
    empty = gemm & ((M <= 0) | (N <= 0) | (K <= 0))
    time_s[ok & empty] = 0.0
    refused = (sim < 0) | (macs * passes >= c.COUNT_LIMIT)  # counts beyond int64: time -1
    g = ok & ~empty & ~refused
    time_s[g] = (cyc / clock * reps)[g]
    energy_j[g, 0] = (macs * e_mult * reps)[g]
    energy_j[g, 1] = (macs * passes * e_add * reps)[g]
    energy_j[g, 2] = ((sram_rd + sram_wr) * p[c.E_SRAM] * reps)[g]
    energy_j[g, 3] = (dram * p[c.E_DRAM] * reps)[g]
    for j, v in enumerate((cyc, ccyc, cyc - ccyc, macs, cyc * slots, passes, sram_rd, sram_wr,
                           dram)):
        extras[g, j] = (v * reps)[g]

    # Vector unit: elementwise / reduce.
    ops = m.astype(float) * k.astype(float)
    v = np.isin(prim, [c.P_ELEMENTWISE, c.P_REDUCE]) & (ops < c.COUNT_LIMIT)
    moved = m.astype(float) * n.astype(float) * nb
    written = np.where(n >= 2, m.astype(float) * nb, 0.0)
    vcyc = _cdiv(m.astype(np.int64) * k.astype(np.int64), int(p[c.LANES])).astype(float)
    on_chip = moved <= ibuf
    vdram = np.where(on_chip, 0.0, moved)
    vrd = np.where(on_chip, moved - written, 0.0)
    vwr = np.where(on_chip, written, 0.0)
    vcycles = np.maximum(vcyc, vdram / bw * clock)
    time_s[v] = (vcycles / clock * reps)[v]
    energy_j[v, 2] = ((vrd + vwr) * p[c.E_SRAM] * reps)[v]
    energy_j[v, 3] = (vdram * p[c.E_DRAM] * reps)[v]
    energy_j[v, 4] = (ops * p[c.E_VEC] * reps)[v]
    for j, val in ((0, vcycles), (1, vcyc), (2, vcycles - vcyc), (4, vcycles * slots),
                   (6, vrd), (7, vwr), (8, vdram), (9, ops)):
        extras[v, j] = (val * reps)[v]

    # Weight writes from DRAM into the weight buffer.
    w = prim == c.P_WRITE
    wb = m.astype(float) * k.astype(float) * n.astype(float) * nb
    wcyc = wb / bw * clock
    time_s[w] = (wcyc / clock * reps)[w]
    energy_j[w, 2] = (wb * p[c.E_SRAM] * reps)[w]
    energy_j[w, 3] = (wb * p[c.E_DRAM] * reps)[w]
    for j, val in ((0, wcyc), (2, wcyc), (4, wcyc * slots), (7, wb), (8, wb)):
        extras[w, j] = (val * reps)[w]
