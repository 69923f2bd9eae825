"""Compute cycles of one GEMM on one systolic array, exactly as SCALE-Sim 3.0 counts them.

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

from __future__ import annotations

from numba import njit

DATAFLOW = {"ws": 0, "os": 1, "is": 2}
"""Dataflow codes as ``compute_cycles`` and the cost kernel take them."""


@njit(cache=True)
def compute_cycles(M, N, K, rows, cols, dataflow_code):
    """SCALE-Sim 3.0 compute cycles of an (M x K) . (K x N) GEMM on a rows x cols array.

    ``dataflow_code``: 0 = ws, 1 = os, 2 = is (``DATAFLOW``). Returns an int (0 for an empty
    GEMM); see the module docstring for the folds, fill and drain it counts.
    """
    if M <= 0 or N <= 0 or K <= 0:
        return 0
    R = rows
    C = cols
    if dataflow_code == 0:
        folds = ((K + R - 1) // R) * ((N + C - 1) // C)
        per_fold = 2 * R + C + M - 2
    elif dataflow_code == 1:
        folds = ((M + R - 1) // R) * ((N + C - 1) // C)
        per_fold = R + C + K - 2
    else:
        folds = ((K + R - 1) // R) * ((M + C - 1) // C)
        per_fold = 2 * R + C + N - 2
    return folds * per_fold - 1
