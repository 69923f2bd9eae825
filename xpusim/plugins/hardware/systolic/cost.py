"""Systolic cost kernel: SCALE-Sim cycles, buffer-capacity DRAM traffic, energy by precision.

GEMM rows (``mvm``, ``mvm_t``: M = m batch, K = k reduction, N = n outputs; ``update``, the
weight gradient pre^T . post: M = k, N = n, K = m, the batch being the reduction):

* **Cycles.** ``compute_cycles`` (SCALE-Sim 3.0's compute cycles, exact; folds, fill and
  drain in its docstring), repeated for ``passes = ceil(bits / mac_bits)^2``
  (operands wider than the multipliers are split into mac_bits slices, every slice pair a
  pass: TPU v1 runs 16-bit operands at quarter speed). With ``num_arrays`` A > 1 the N output
  columns are split across the arrays as evenly as possible (shares of ceil(N/A) and
  floor(N/A)); the arrays run in parallel and the largest share sets the cycles. A format the
  multipliers cannot take (a float format when ``float_macs`` is false, ``analog``,
  ``spike``) makes the row unpriceable (time -1).
* **DRAM traffic** (bytes, operands at ``bits``; A = M x K inputs, B = K x N weights,
  O = M x N outputs):

  - Residency: a layer's activations live in the input (unified) buffer, as in TPU v1, when
    they fit (``matmul``, a product of two activations such as attention's, when both
    operands and the result fit; else they stream from and to DRAM): for ``mvm``/``mvm_t`` when A + O fit ``input_buffer`` (then neither touches
    DRAM), for ``update`` when A + B (activations and errors) fit it. Weights (B of
    ``mvm``/``mvm_t``) always come from DRAM; the weight gradient (O of ``update``) always
    goes to DRAM, where the weights live.
  - Re-fetch. An operand that fits its buffer is fetched once and re-streamed from SRAM.
    One that does not is re-fetched, by the cheapest of three loop orders:

    x. SCALE-Sim's order: the streamed operand is re-fetched per fold, ``ra`` times for A
       and ``rb`` times for B (table);
    y. A blocked to fit the input buffer (fetched once), B re-fetched per block:
       max(ceil(A / input_buffer), rb if ws);
    z. B blocked to fit the weight buffer (fetched once), A re-fetched per block:
       max(ceil(B / weight_buffer), ra if is).

    ==  ======================================  ===========================================
    df  ra (inputs A)                           rb (weights B)
    ==  ======================================  ===========================================
    ws  column folds ceil(ceil(N/A) / C)        1 if a K x min(N, C A) weight panel fits the
                                                weight buffer, else once per accumulator-
                                                sized block of M: ceil(M min(N, C A) acc_B
                                                / output_buffer)
    os  column folds ceil(ceil(N/A) / C)        row folds ceil(M / R)
    is  once per accumulator-sized block of     column folds ceil(M / C)
        N: ceil(min(M, C) N acc_B / out_buf)
    ==  ======================================  ===========================================

    Partial sums stay in the output (accumulator) buffer; where a fold's partial sums do not
    fit it, the other dimension is blocked so that they do, at the price of re-fetching the
    stationary operand per block. acc_B = accumulator_bits / 8. When the activations are
    resident only the weights are fetched: once, or ``rb`` times for ws (B-outer order,
    the resident inputs re-streamed from SRAM).
  - time = max(compute cycles / clock, DRAM bytes / bandwidth); ``stall_cycles`` = the
    difference in cycles (DRAM transfers overlap compute; only the excess stalls).
* **SRAM traffic** from the dataflow's reuse, SCALE-Sim's request counts per operand
  (``tests/systolic/scalesim_reference.csv`` holds them):

  - ws: input reads M K ceil(N/C), weight reads K N, accumulator writes M N ceil(K/R);
  - os: input reads M K ceil(N/C), weight reads K N ceil(M/R), accumulator writes M N
    (SCALE-Sim 3.0 adds R + C per fold to its os count, an artefact of its bookkeeping);
  - is: input reads M K, weight reads K N ceil(M/C), accumulator writes M N ceil(K/R);

  summed over the arrays' N shares. Operand reads are ``bits`` wide, accumulator writes
  acc_B wide and every accumulator write after a column's first is a read-modify-write
  (one acc_B read more). The finished outputs are read from the accumulators (acc_B each),
  requantized and written to the activation buffer (bits wide); data fetched from DRAM is
  written into SRAM, data written to DRAM is read out of it.
* **Energy** (J): ``mac`` = MACs x E_mult(format, bits); ``accumulate`` = MACs x passes x
  E_add; ``sram`` = (SRAM read + write bytes) x E_sram; ``dram`` = DRAM bytes x E_dram.

  - integer b-bit multiply: ``int8_mult_pj x (b/8)^2`` (array multiplier energy grows with
    the partial-product count; Horowitz's own 8-bit 0.2 pJ vs 32-bit 3.1 pJ, REFERENCES
    A6/A7, is 15.5 ~ (32/8)^2 = 16). Assumption: the multipliers are precision-scalable, so an
    int4 MAC costs a quarter of an int8 one.
  - float multiply: fp32 -> ``fp32_mult_pj``; others ``fp16_mult_pj x (p / 11)^2`` with p the
    significand bits including the hidden one (fp16 11, tf32 11, bf16 8, fp8-e4m3 4,
    fp8-e5m2 3, fp64 53 scaled from fp32's 24). Assumption: the significand multiplier
    dominates, scaling as its area, p^2.
  - accumulator addition per MAC and pass: integer ``int32_add_pj x accumulator_bits / 32``
    (REFERENCES A1-A3: 0.03 / 0.05 / 0.1 pJ at 8 / 16 / 32 bits, near linear); float
    operands accumulate in fp32, ``fp32_add_pj``.
  - static power x time is added by the core (``CostModel.static_power_w``).

``elementwise`` / ``reduce`` rows run on the vector unit: m elements x k ops = ``vector_ops``
at ``vector_lanes`` ops per cycle, n arrays of m ``bits``-wide values moved between the
vector unit and the buffers (the last of n >= 2 arrays written, the others read). When the
n arrays do not fit the input buffer they stream from and to DRAM instead (time = max(vector
cycles, DRAM bytes / bandwidth)): optimizer steps over large weight tensors. Energy:
``vector`` = ops x E_vector, plus sram (and dram) per byte.

``write`` rows: m x k x n weights of ``bits`` bits come from DRAM into the weight buffer:
DRAM bytes, SRAM writes, time at DRAM bandwidth (all of it counted as stall cycles: the
array computes nothing meanwhile).

Node scaling. Logic and SRAM energies (multiply, add, vector, SRAM per byte) are given at
``energy.reference_node_nm`` (Horowitz 2014: 45 nm, 0.9 V) and multiplied by
``f(process_nm) / f(reference_node_nm)`` with f the energy-per-operation fit of
A. Stillmaker and B. Baas, "Scaling equations for the accurate prediction of CMOS device
performance from 180 nm to 7 nm", Integration, the VLSI Journal 58 (2017) 74-81
(doi:10.1016/j.vlsi.2017.02.002): f = a Vdd^2 + b Vdd + c per node, bulk models for
180-65 nm and the high-performance (HP) fits for 45-7 nm. Coefficients as transcribed in
UCLA NanoCAD's nodeScale (github.com/wromaszkan/nodeScale, MIT), which also reproduce the
paper's corrigendum example (32 nm HP at 0.9 V: f = 0.4571). Assumption: each node runs at
the nominal Vdd in ``NODE_VDD`` (45 nm at Horowitz's 0.9 V). Nodes between table entries
interpolate f linearly in nm; nodes outside 7-180 nm clamp to the end values. Resulting
factors from 45 nm: 28 nm 0.509 (TPU v1), 22 nm 0.292 (edge-int8), 7 nm 0.068 (TPU v4).
DRAM energy per byte is not scaled (I/O and DRAM-array bound, not set by the logic node).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from xpusim.core.capabilities import Capabilities
from xpusim.core.formats import MAX_FORMATS, format_code
from xpusim.core.trace import PRIMITIVE
from xpusim.numerics.standard import FLOATS, INTS

DATAFLOW = {"ws": 0, "os": 1, "is": 2}
"""Dataflow codes as ``compute_cycles`` and the cost kernel take them."""

COUNT_LIMIT = 2.0 ** 62
"""Cycle and op counts at or above this are refused (the row is unpriceable): int64 holds
counts below 2**63, and the float estimate that guards the exact product is off by far less
than the margin."""


@njit(cache=True)
def cdiv(a, b):
    """ceil(a / b) for integers a >= 0, b > 0, without forming a + b - 1 (no overflow)."""
    return (a - 1) // b + 1 if a > 0 else 0


@njit(cache=True)
def compute_cycles(M, N, K, rows, cols, dataflow_code):
    """SCALE-Sim 3.0 compute cycles of an (M x K) . (K x N) GEMM on a rows x cols array;
    ``dataflow_code`` 0 = ws, 1 = os, 2 = is (``DATAFLOW``). Returns an int: 0 for an empty
    GEMM, -1 when the count would reach ``COUNT_LIMIT`` (no int64 overflow).

    Compute cycles of one GEMM on one systolic array, exactly as SCALE-Sim 3.0 counts them.

    A GEMM multiplies an M x K input (SCALE-Sim's ifmap) by a K x N weight matrix (its filter)
    into an M x N output (ofmap), on an array of R rows x C columns of MACs. SCALE-Sim maps the
    GEMM onto the array in *folds*: each fold pins one R x C tile of the stationary operand in the
    PEs and streams the other operand through. Per dataflow (``scalesim/compute/
    systolic_compute_{ws,os,is}.py``; GEMM mode converts ``M, N, K`` into an M-pixel, K-channel
    1 x 1 convolution with N filters, ``topology_utils.load_arrays_gemm``):

    ==========  ===========================  ============================  ==================
    dataflow    stationary in the PEs        folds F                       cycles per fold
    ==========  ===========================  ============================  ==================
    ws (0)      weights (K along rows,       ceil(K / R) x ceil(N / C)     2R + C + M - 2
                N along columns)
    os (1)      outputs (M along rows,       ceil(M / R) x ceil(N / C)     R + C + K - 2
                N along columns)
    is (2)      inputs (K along rows,        ceil(K / R) x ceil(M / C)     2R + C + N - 2
                M along columns)
    ==========  ===========================  ============================  ==================

    ``Total Cycles = F x cycles_per_fold - 1`` (0 when any of M, N, K is 0).

    Where the per-fold terms come from (SCALE-Sim's output demand matrix, one row per cycle):

    * ws / is: R cycles to shift the stationary tile in (the ``inter_fold_gap_prefix`` of the
      ifmap demand, and ``2R - 1`` null rows before the first output), T = M (ws) or N (is)
      cycles of streaming, then R - 1 cycles of fill down the rows and C - 1 of skew across the
      columns before the last partial sum drains out: 2R + C + T - 2.
    * os: the T = K reduction steps stream in (``T - 1`` null rows), the R x C outputs drain
      (R rows), skewed across C columns: R + C + K - 2. Fill of the stationary operand is free
      because the outputs start at zero in the PEs.

    SCALE-Sim runs the folds back to back without overlapping one fold's drain with the next
    fold's fill, and reports the index of the last output cycle, hence the ``- 1``. With
    ``InterfaceBandwidth = CALC`` its memory model adds no stalls, so this is its whole
    ``Total Cycles`` column (checked against 153 SCALE-Sim 3.0 runs in
    ``tests/systolic/scalesim_reference.csv``).

    Folds that cover part of the array (the ceil terms) cost the full per-fold time: that is the
    mapping inefficiency of small or odd GEMMs.
    """
    if M <= 0 or N <= 0 or K <= 0:
        return 0
    R = rows
    C = cols
    if dataflow_code == 0:
        folds_r, folds_c, fill_rows, stream = cdiv(K, R), cdiv(N, C), 2, M
    elif dataflow_code == 1:
        folds_r, folds_c, fill_rows, stream = cdiv(M, R), cdiv(N, C), 1, K
    else:
        folds_r, folds_c, fill_rows, stream = cdiv(K, R), cdiv(M, C), 2, N
    per_fold = float(fill_rows) * float(R) + float(C) + float(stream) - 2.0
    if float(folds_r) * float(folds_c) * per_fold >= COUNT_LIMIT:
        return -1
    return folds_r * folds_c * (fill_rows * R + C + stream - 2) - 1


COMPONENTS = ("mac", "accumulate", "sram", "dram", "vector")
EXTRAS = ("cycles", "compute_cycles", "stall_cycles", "macs", "mac_slots", "passes",
          "sram_read_bytes", "sram_write_bytes", "dram_bytes", "vector_ops")
"""Counters per row (all repetitions): ``cycles`` (array clock cycles the row takes),
``compute_cycles`` (SCALE-Sim cycles x passes, or vector-unit cycles), ``stall_cycles``
(cycles - compute_cycles: waiting on DRAM), ``mac_slots`` (cycles x rows x cols x arrays:
what the arrays could have done; utilization = macs / mac_slots), ``passes`` (operand-slice
passes, times repetitions)."""

NF = MAX_FORMATS
(ROWS, COLS, ARRAYS, DF, CLOCK, MAC_BITS, FLOAT_MACS, ACC_BITS, LANES, IBUF, WBUF, OBUF, BW,
 E_INT8_MULT, E_INT32_ADD, E_FP32_ADD, E_SRAM, E_DRAM, E_VEC, NODE_FACTOR) = range(20)
MULT_F = 20                # NF entries: J per float multiply by format code (0: not a float)
UNPRICEABLE = MULT_F + NF  # NF entries: 1 where no GEMM can run in that format
N_PARAMS = UNPRICEABLE + NF

P_MVM, P_MVM_T, P_UPDATE = PRIMITIVE["mvm"], PRIMITIVE["mvm_t"], PRIMITIVE["update"]
P_ELEMENTWISE, P_REDUCE, P_WRITE = (PRIMITIVE["elementwise"], PRIMITIVE["reduce"],
                                    PRIMITIVE["write"])
P_MATMUL = PRIMITIVE["matmul"]

SIGNIFICAND_BITS = {"fp16": 11, "tf32": 11, "bf16": 8, "fp8-e4m3": 4, "fp8-e5m2": 3}
"""Significand bits (hidden bit included) of the float formats scaled from fp16."""

# Stillmaker & Baas 2017 energy fits f = a V^2 + b V + c (see module docstring).
NODE_ENERGY_FIT = {
    180: (0.0, 24.64, -17.98), 130: (7.171, -6.709, 2.904), 90: (4.762, -4.781, 2.092),
    65: (3.755, -4.398, 1.975), 45: (1.018, -0.3107, 0.1539), 32: (0.8367, -0.4341, 0.1701),
    20: (0.373, -0.1582, 0.04104), 16: (0.2958, -0.1241, 0.03024),
    14: (0.2363, -0.09675, 0.02239), 10: (0.2068, -0.09311, 0.02375),
    7: (0.1776, -0.09097, 0.02447),
}
NODE_VDD = {180: 1.8, 130: 1.3, 90: 1.2, 65: 1.1, 45: 0.9, 32: 0.9, 20: 0.8, 16: 0.8,
            14: 0.8, 10: 0.75, 7: 0.7}
"""assumption: nominal core supply per node (45 nm at Horowitz's 0.9 V)."""


def node_energy(nm: float) -> float:
    """Stillmaker-Baas energy per operation (arbitrary units) at node ``nm``, nominal Vdd."""
    nodes = sorted(NODE_ENERGY_FIT)
    at = {n: _fit(n) for n in nodes}
    if nm <= nodes[0]:
        return at[nodes[0]]
    if nm >= nodes[-1]:
        return at[nodes[-1]]
    for lo, hi in zip(nodes, nodes[1:]):
        if lo <= nm <= hi:
            t = (nm - lo) / (hi - lo)
            return at[lo] + t * (at[hi] - at[lo])
    raise AssertionError(nm)  # pragma: no cover


def _fit(node: int) -> float:
    a, b, c = NODE_ENERGY_FIT[node]
    v = NODE_VDD[node]
    return a * v * v + b * v + c


def node_factor(process_nm: float, reference_nm: float = 45.0) -> float:
    """Factor taking a logic/SRAM energy from ``reference_nm`` to ``process_nm``."""
    return node_energy(process_nm) / node_energy(reference_nm)


def pack(p) -> np.ndarray:
    """The spec's numbers in SI units (J, B, B/s, Hz), in the order ``price`` reads them."""
    e, mem = p.energy, p.memory
    s = node_factor(p.process_nm, e.reference_node_nm)
    v = np.zeros(N_PARAMS)
    v[ROWS], v[COLS], v[ARRAYS] = p.array_rows, p.array_cols, p.num_arrays
    v[DF] = DATAFLOW[p.dataflow]
    v[CLOCK] = p.clock_mhz * 1e6
    v[MAC_BITS] = p.mac_bits
    v[FLOAT_MACS] = 1.0 if p.float_macs else 0.0
    v[ACC_BITS] = p.accumulator_bits
    v[LANES] = p.vector_lanes
    v[IBUF] = mem.input_buffer_kib * 1024.0
    v[WBUF] = mem.weight_buffer_kib * 1024.0
    v[OBUF] = mem.output_buffer_kib * 1024.0
    v[BW] = mem.dram_bandwidth_gbs * 1e9
    v[E_INT8_MULT] = e.int8_mult_pj * 1e-12 * s
    v[E_INT32_ADD] = e.int32_add_pj * 1e-12 * s
    v[E_FP32_ADD] = e.fp32_add_pj * 1e-12 * s
    v[E_SRAM] = e.sram_pj_per_byte * 1e-12 * s
    v[E_DRAM] = e.dram_pj_per_byte * 1e-12
    v[E_VEC] = e.vector_op_pj * 1e-12 * s
    v[NODE_FACTOR] = s
    for name, p_bits in SIGNIFICAND_BITS.items():
        v[MULT_F + format_code(name)] = e.fp16_mult_pj * 1e-12 * s * (p_bits / 11.0) ** 2
    v[MULT_F + format_code("fp32")] = e.fp32_mult_pj * 1e-12 * s
    v[MULT_F + format_code("fp64")] = e.fp32_mult_pj * 1e-12 * s * (53.0 / 24.0) ** 2
    # the array multiplies integers of any width, floats only with float MACs; formats of
    # other hardware (conductances, spikes, ...) cannot run on it
    v[UNPRICEABLE:UNPRICEABLE + NF] = 1.0
    for f in INTS + (FLOATS if p.float_macs else ()):
        v[UNPRICEABLE + format_code(f.name)] = 0.0
    return v


@njit(cache=True, parallel=True)
def price(phase, primitive, m, n, k, bits, fmt, count, activity, params, time_s, energy_j,
          extras):
    """Price every trace row (module docstring); time -1 marks an unpriceable row.

    No fastmath: the fold counts and buffer blocks are ceilings of quotients, which a
    reciprocal approximation (``arcp``) can push over an integer.
    """
    R = int(params[ROWS])
    C = int(params[COLS])
    A = int(params[ARRAYS])
    df = int(params[DF])
    clock = params[CLOCK]
    bw = params[BW]
    acc_b = params[ACC_BITS] / 8.0
    slots = float(R) * float(C) * float(A)
    for i in prange(phase.size):
        prim = primitive[i]
        reps = float(count[i])
        b = max(int(bits[i]), 1)
        nbytes = b / 8.0
        if prim == P_MVM or prim == P_MVM_T or prim == P_UPDATE or prim == P_MATMUL:
            f = fmt[i]
            if params[UNPRICEABLE + f] > 0.0:
                time_s[i] = -1.0
                continue
            if prim == P_UPDATE:
                M, N, K = int(k[i]), int(n[i]), int(m[i])
            else:
                M, N, K = int(m[i]), int(n[i]), int(k[i])
            if M <= 0 or N <= 0 or K <= 0:  # an empty GEMM moves and computes nothing
                time_s[i] = 0.0
                continue
            slices = (b + int(params[MAC_BITS]) - 1) // int(params[MAC_BITS])
            passes = slices * slices
            # N split across the arrays: r arrays take q + 1 columns, the others q.
            q = N // A
            r = N - q * A
            big = q + 1 if r > 0 else q
            # SCALE-Sim cycles of the largest share (defined in this module, so that numba's
            # cache, which tracks this file only, sees every edit of the formula).
            sim = compute_cycles(M, big, K, R, C, df)
            if sim < 0 or float(M) * float(N) * float(K) * float(passes) >= COUNT_LIMIT:
                time_s[i] = -1.0  # counts beyond int64: refused, never wrapped around
                continue
            ccycles = float(sim) * float(passes)
            # SRAM requests (elements), summed over the shares (q + 1) x r and q x (A - r).
            in_rd = 0.0
            w_rd = 0.0
            acc_wr = 0.0
            for j in range(2):
                share = q + 1 if j == 0 else q
                arrays = float(r if j == 0 else A - r)
                if share <= 0 or arrays <= 0 or M <= 0 or K <= 0:
                    continue
                mk = float(M) * float(K)
                kn = float(K) * float(share)
                mn = float(M) * float(share)
                if df == 0:
                    in_rd += arrays * mk * cdiv(share, C)
                    w_rd += arrays * kn
                    acc_wr += arrays * mn * cdiv(K, R)
                elif df == 1:
                    in_rd += arrays * mk * cdiv(share, C)
                    w_rd += arrays * kn * cdiv(M, R)
                    acc_wr += arrays * mn
                else:
                    in_rd += arrays * mk
                    w_rd += arrays * kn * cdiv(M, C)
                    acc_wr += arrays * mn * cdiv(K, R)
            macs = float(M) * float(N) * float(K)
            a_b = float(M) * float(K) * nbytes
            b_b = float(K) * float(N) * nbytes
            o_b = float(M) * float(N) * nbytes
            # DRAM reads: the cheapest of three loop orders (module docstring).
            a_fit = a_b <= params[IBUF]
            b_fit = b_b <= params[WBUF]
            a_blocks = float(math.ceil(a_b / params[IBUF]))
            b_blocks = float(math.ceil(b_b / params[WBUF]))
            cols_all = min(float(N), float(C * A))
            if df == 0:
                ra = float(cdiv(big, C))
                if float(K) * cols_all * nbytes <= params[WBUF]:
                    rb = 1.0
                else:
                    rb = max(1.0, float(math.ceil(float(M) * cols_all * acc_b / params[OBUF])))
            elif df == 1:
                ra = float(cdiv(big, C))
                rb = float(cdiv(M, R))
            else:
                ra = max(1.0, float(math.ceil(min(float(M), float(C)) * float(N) * acc_b
                                              / params[OBUF])))
                rb = float(cdiv(M, C))
            rb_stationary = rb if df == 0 else 1.0
            ra_stationary = ra if df == 2 else 1.0
            x = a_b * (1.0 if a_fit else ra) + b_b * (1.0 if b_fit else rb)
            y = a_b + b_b * (1.0 if b_fit else max(rb_stationary, a_blocks))
            z = b_b + a_b * (1.0 if a_fit else max(ra_stationary, b_blocks))
            streamed = min(x, min(y, z))
            if prim == P_UPDATE:
                dram_rd = 0.0 if a_b + b_b <= params[IBUF] else streamed
                dram_wr = o_b
            elif prim == P_MATMUL:  # both operands and the result are activations
                resident = a_b + b_b + o_b <= params[IBUF]
                dram_rd = 0.0 if resident else streamed
                dram_wr = 0.0 if resident else o_b
            elif a_b + o_b <= params[IBUF]:
                dram_rd = b_b * (1.0 if b_fit else rb_stationary)
                dram_wr = 0.0
            else:
                dram_rd = streamed
                dram_wr = o_b
            dram = dram_rd + dram_wr
            mn_all = float(M) * float(N)
            sram_rd = ((in_rd + w_rd) * nbytes + (acc_wr - mn_all) * acc_b + mn_all * acc_b
                       + dram_wr)
            sram_wr = acc_wr * acc_b + o_b + dram_rd
            cyc = max(ccycles, dram / bw * clock)
            if float(params[MULT_F + f]) > 0.0:
                e_mult = params[MULT_F + f]
                e_add = params[E_FP32_ADD]
            else:
                e_mult = params[E_INT8_MULT] * (b / 8.0) * (b / 8.0)
                e_add = params[E_INT32_ADD] * params[ACC_BITS] / 32.0
            time_s[i] = cyc / clock * reps
            energy_j[i, 0] = macs * e_mult * reps
            energy_j[i, 1] = macs * passes * e_add * reps
            energy_j[i, 2] = (sram_rd + sram_wr) * params[E_SRAM] * reps
            energy_j[i, 3] = dram * params[E_DRAM] * reps
            extras[i, 0] = cyc * reps
            extras[i, 1] = ccycles * reps
            extras[i, 2] = (cyc - ccycles) * reps
            extras[i, 3] = macs * reps
            extras[i, 4] = cyc * slots * reps
            extras[i, 5] = passes * reps
            extras[i, 6] = sram_rd * reps
            extras[i, 7] = sram_wr * reps
            extras[i, 8] = dram * reps
        elif prim == P_ELEMENTWISE or prim == P_REDUCE:
            ops = float(m[i]) * float(k[i])
            if ops >= COUNT_LIMIT:
                time_s[i] = -1.0
                continue
            ops_i = m[i] * k[i]
            arrays_n = float(n[i])
            moved = float(m[i]) * arrays_n * nbytes
            written = float(m[i]) * nbytes if arrays_n >= 2.0 else 0.0
            lanes = int(params[LANES])
            vcycles = float(cdiv(ops_i, lanes))
            if moved <= params[IBUF]:
                dram = 0.0
                sram_rd = moved - written
                sram_wr = written
            else:
                dram = moved
                sram_rd = 0.0
                sram_wr = 0.0
            cyc = max(vcycles, dram / bw * clock)
            time_s[i] = cyc / clock * reps
            energy_j[i, 2] = (sram_rd + sram_wr) * params[E_SRAM] * reps
            energy_j[i, 3] = dram * params[E_DRAM] * reps
            energy_j[i, 4] = ops * params[E_VEC] * reps
            extras[i, 0] = cyc * reps
            extras[i, 1] = vcycles * reps
            extras[i, 2] = (cyc - vcycles) * reps
            extras[i, 4] = cyc * slots * reps
            extras[i, 6] = sram_rd * reps
            extras[i, 7] = sram_wr * reps
            extras[i, 8] = dram * reps
            extras[i, 9] = ops * reps
        elif prim == P_WRITE:
            nb = float(m[i]) * float(k[i]) * float(n[i]) * nbytes
            cyc = nb / bw * clock
            time_s[i] = cyc / clock * reps
            energy_j[i, 2] = nb * params[E_SRAM] * reps
            energy_j[i, 3] = nb * params[E_DRAM] * reps
            extras[i, 0] = cyc * reps
            extras[i, 2] = cyc * reps
            extras[i, 4] = cyc * slots * reps
            extras[i, 7] = nb * reps
            extras[i, 8] = nb * reps
        else:
            time_s[i] = -1.0


def summarize(totals: dict[str, float]) -> dict[str, float]:
    """Ratios over the priced rows: utilization, stall share, achieved TOPS, TOPS/W, bytes/MAC.

    ``utilization`` = MACs / (cycles x rows x cols x arrays) (the fraction of MAC slots used
    over the whole time, stalls and vector work included); ``compute_utilization`` the same
    over compute cycles only (the array's mapping efficiency, stalls excluded).
    """
    macs = totals.get("macs", 0.0)
    slots = totals.get("mac_slots", 0.0)
    cycles = totals.get("cycles", 0.0)
    ccycles = totals.get("compute_cycles", 0.0)
    t, e = totals.get("time_s", 0.0), totals.get("energy_j", 0.0)
    ops = 2.0 * macs
    per_cycle = slots / cycles if cycles > 0 else 0.0
    return {
        "utilization": macs / slots if slots > 0 else 0.0,
        "compute_utilization": macs / (ccycles * per_cycle) if ccycles > 0 and per_cycle > 0
        else 0.0,
        "stall_fraction": totals.get("stall_cycles", 0.0) / cycles if cycles > 0 else 0.0,
        "tops": ops / t / 1e12 if t > 0 else 0.0,
        "tops_per_w": ops / e / 1e12 if e > 0 else 0.0,
        "dram_bytes_per_mac": totals.get("dram_bytes", 0.0) / macs if macs > 0 else 0.0,
        "sram_bytes_per_mac": (totals.get("sram_read_bytes", 0.0)
                               + totals.get("sram_write_bytes", 0.0)) / macs if macs > 0
        else 0.0,
    }


def gemm_report(params, M: int, N: int, K: int, bits: int | None = None,
                fmt: str | None = None, primitive: str = "mvm", count: int = 1) -> dict:
    """Price one GEMM (M x K) . (K x N) on ``params`` (a ``SystolicParams``): a flat dict of
    time, energy by component (J, dynamic only), every counter in ``EXTRAS`` and the
    ``summarize`` ratios (over dynamic energy). ``bits``/``fmt`` default to the weights'
    format. For ``update`` the trace row is (m, n, k) = (K, N, M): M x K = pre^T, K x N = post.
    """
    from .params import format_bits

    from xpusim.core.kernels import CostModel
    from xpusim.core.pricing import price_columns
    from xpusim.core.trace import Trace

    fmt = fmt or params.numerics.weights
    bits = bits or format_bits(fmt)
    mm, nn, kk = (K, N, M) if primitive == "update" else (M, N, K)
    trace = Trace()
    trace.add("inference", 0, primitive, mm, nn, kk, bits, fmt, count=count)
    model = CostModel(price=price, params=pack(params), components=COMPONENTS, extras=EXTRAS)
    rows = price_columns(model, trace.columns())
    e, x = rows.dynamic_j, rows.extras
    out = {"time_s": float(rows.time_s[0]), "energy_j": float(e.sum()),
           **{f"energy_{c}_j": float(e[0, j]) for j, c in enumerate(COMPONENTS)},
           **{name: float(x[0, j]) for j, name in enumerate(EXTRAS)}}
    out.update(summarize({**out}))
    return out


def capabilities(spec) -> Capabilities:
    """DRAM capacity, buffer SRAM and the peak of every operand format: rows x cols x arrays
    MACs per cycle over ``passes = ceil(bits / mac_bits)^2`` (what ``price`` charges), the
    format of the forward GEMM first."""
    from .device import _wider
    from .params import FLOAT_BITS, INT_BITS

    p = spec.params
    per_cycle = 2.0 * p.array_rows * p.array_cols * p.num_arrays * p.clock_mhz * 1e6
    names = [*INT_BITS, *(FLOAT_BITS if p.float_macs else ())]
    default = _wider(p.numerics.activations, p.numerics.weights)[1]
    order = ([default] if default in names else []) + [n for n in names if n != default]

    def peak(name: str) -> float:
        bits = {**INT_BITS, **FLOAT_BITS}[name]
        slices = -(-bits // p.mac_bits)
        return per_cycle / (slices * slices)

    m = p.memory
    return Capabilities(memory_bytes=m.dram_capacity_gib * 2.0 ** 30,
                        peak_ops_per_s={n: peak(n) for n in order},
                        onchip_bytes=(m.input_buffer_kib + m.weight_buffer_kib
                                      + m.output_buffer_kib) * 1024.0)
