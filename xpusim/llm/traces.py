"""Analytic traces of a transformer: the same rows a functional run of the same model records,
built from shapes (``tests/llm/test_functional_vs_analytic.py`` holds the two equal for
gpt-nano, primitive by primitive and phase by phase).

Rows follow ``xpusim.core.trace``: products are (m x k) . (k x n) (``mvm`` forward, ``mvm_t``
error propagation with ``n`` the layer input and ``k`` its output, ``update`` the weight change,
``matmul`` a product of two activations, one per sequence and head: ``mult`` of them);
``elementwise`` rows have ``m`` elements, ``n`` arrays touched and ``k`` ops per element, with
the per-element ops and arrays of the layer types in ``xpusim.core.layers``. Formats come from
the backend's own ``Device.operand_format``.

Everything here is vectorised over *layouts*: ``tp`` (tensor-parallel degree), ``b`` (sequences
per micro-batch) are arrays, and each builder returns column arrays of shape (rows, layouts),
so thousands of layouts are priced in one cost-kernel call. Rows are per device (one
tensor-parallel shard), per micro-batch and per *unit*: ``scope`` LAYER (one transformer block)
or HEAD (embedding + final norm + output layer + loss, once per micro-batch). The caller
multiplies by the unit counts (``count``) to build a whole-run trace.

A block, as the functional graph runs it (Megatron-style tensor parallelism: Q/K/V and MLP-in
split by columns, out-projection and MLP-out by rows; attention heads split across ``tp``;
norms and residual adds replicated):

    forward   norm, QKV, Q.Kᵀ, scale + mask + softmax, P.V, out-proj, add, norm, MLP in (gate
              and up fused for SwiGLU), activation, MLP out, add
    backward  the branch sums of the two residual streams, mvm_t and update of every weight
              matrix, dP, dV, softmax backward, dQ, dK, activation and norm backward (and the
              norms' gain updates); the forward again first (phase train-backward, primitive
              mvm/matmul) when activation recomputation is on

Assumptions (also listed in every estimate's output): attention scores are computed for the
full s x s matrix (no causal skipping, as the GEMM-based kernels of GPT-3/Megatron did).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xpusim.core.formats import format_code
from xpusim.core.layers import activation as act_layer
from xpusim.core.layers import norm as norm_layer
from xpusim.core.loss import LOSS_ARRAYS, LOSS_OPS
from xpusim.core.optim import Adam
from xpusim.core.trace import GEMM_PRIMITIVES, PHASE, PRIMITIVE, Trace

from .model import Transformer

LAYER, HEAD = 0, 1
KIND_NORMAL, KIND_RECOMPUTE = 0, 1
RECOMPUTED = 2  # added to a whole-run trace's layer column for recomputed forward rows

SOFTMAX_OPS = act_layer.SOFTMAX_OPS
ACT_OPS = act_layer.FORWARD_OPS["gelu"]
NORM_ARRAYS, NORM_OPS = norm_layer.FORWARD_ARRAYS, norm_layer.FORWARD_OPS
NORM_BWD_ARRAYS, NORM_BWD_OPS = norm_layer.BACKWARD_ARRAYS, norm_layer.BACKWARD_OPS
ADD_ARRAYS, ADD_OPS = 3, 1       # residual add: two reads, one write
OPT_ARRAYS = Adam.arrays_per_element   # fp32 states: read w, g, m, v; write w, m, v
OPT_OPS = Adam.ops_per_element
OPT_BITS = 32

Formats = Callable[[str, str], tuple[int, str]]
"""``operand_format(primitive, phase) -> (bits, format name)``, as ``Device.operand_format``."""


class Rows:
    """Accumulates rows whose m, n, k (and ``mult``: repetitions within the unit) may be
    arrays over layouts (broadcast on ``stack``)."""

    def __init__(self, formats: Formats, nlayouts: int):
        self.formats = formats
        self.nl = nlayouts
        self.rows: list[tuple] = []

    def add(self, phase: str, prim: str, m, n, k, scope: int = LAYER, kind: int = KIND_NORMAL,
            fmt: tuple[int, str] | None = None, mult=1) -> None:
        bits, name = fmt if fmt is not None else self.formats(prim, phase)
        self.rows.append((PHASE[phase], PRIMITIVE[prim], m, n, k, bits, format_code(name), scope,
                          kind, mult))

    def stack(self) -> dict[str, np.ndarray]:
        """Columns of shape (rows, layouts)."""
        names = ("phase", "primitive", "m", "n", "k", "bits", "fmt", "scope", "kind", "mult")
        shape = (len(self.rows), self.nl)
        cols = {c: np.empty(shape, dtype=np.float64 if c in ("m", "n", "k", "mult")
                            else np.int64) for c in names}
        for i, row in enumerate(self.rows):
            for c, v in zip(names, row):
                cols[c][i] = v  # numpy broadcasts scalars and per-layout arrays alike
        for c in ("m", "n", "k", "mult"):
            cols[c] = np.maximum(np.rint(cols[c]), 0).astype(np.int64)
        return cols


def _shards(model: Transformer, tp: np.ndarray) -> dict[str, np.ndarray]:
    tp = np.asarray(tp, dtype=np.float64)
    return {
        "heads": model.heads / tp,
        "kv": np.ceil(model.kv_heads / tp),  # KV heads are replicated when tp > kv_heads
        "qkv": (model.heads / tp + 2 * np.ceil(model.kv_heads / tp)) * model.d_head,
        "ffn": model.ffn_hidden / tp,
        "vocab": model.vocab / tp,
        "hid": model.d_model / tp,
    }


def _ffn_in(model: Transformer, sh) -> np.ndarray:
    """Output width of the MLP's input projection (gate and up fused for SwiGLU)."""
    return (model.ffn_matrices - 1) * sh["ffn"]


def _act_arrays(model: Transformer) -> int:
    return 3 if model.ffn_kind == "swiglu" else 2


def _forward_block(r: Rows, model: Transformer, sh, tokens, b, seq, phase: str,
                   kind: int) -> None:
    h, dh = model.d_model, model.d_head
    heads = sh["heads"] * b  # one product per sequence and head
    r.add(phase, "elementwise", tokens * h, NORM_ARRAYS, NORM_OPS, kind=kind)
    r.add(phase, "mvm", tokens, sh["qkv"], h, kind=kind)
    r.add(phase, "matmul", seq, seq, dh, kind=kind, mult=heads)            # Q . K^T
    r.add(phase, "elementwise", heads * seq * seq, 2, SOFTMAX_OPS + 1, kind=kind)
    r.add(phase, "matmul", seq, dh, seq, kind=kind, mult=heads)            # P . V
    r.add(phase, "mvm", tokens, h, sh["hid"], kind=kind)                    # out-proj
    r.add(phase, "elementwise", tokens * h, ADD_ARRAYS, ADD_OPS, kind=kind)
    r.add(phase, "elementwise", tokens * h, NORM_ARRAYS, NORM_OPS, kind=kind)
    r.add(phase, "mvm", tokens, _ffn_in(model, sh), h, kind=kind)
    r.add(phase, "elementwise", tokens * sh["ffn"], _act_arrays(model), ACT_OPS, kind=kind)
    r.add(phase, "mvm", tokens, h, sh["ffn"], kind=kind)                    # MLP out
    r.add(phase, "elementwise", tokens * h, ADD_ARRAYS, ADD_OPS, kind=kind)


def _weight_gemms(model: Transformer, sh) -> list[tuple]:
    """(n, k) of every weight GEMM of a block: output width, input width."""
    h = model.d_model
    return [(sh["qkv"], h), (h, sh["hid"]), (_ffn_in(model, sh), h), (h, sh["ffn"])]


def training_rows(model: Transformer, formats: Formats, tp, b, *, recompute=False,
                  backward: bool = True, seq: int | None = None) -> dict[str, np.ndarray]:
    """Rows of one micro-batch of ``b`` sequences through one block (scope LAYER) and through
    the embedding + final norm + output head + loss (scope HEAD), on one tensor-parallel shard.

    ``recompute`` (bool or bool array over layouts) adds a forward recompute in the backward
    phase (rows of kind RECOMPUTE; their m is zeroed where recompute is off). ``backward=False``
    is the local-learning what-if: no error propagation; each weight gets a local ``update``
    from its own input and output, plus an elementwise local-signal pass.
    """
    tp, b = np.atleast_1d(tp), np.atleast_1d(b)
    nl = max(tp.size, b.size)
    seq = seq or model.seq_len
    bf = b.astype(np.float64)
    tokens = bf * seq
    sh = _shards(model, tp)
    h, dh = model.d_model, model.d_head
    heads = sh["heads"] * bf
    r = Rows(formats, nl)
    F, B, U = "train-forward", "train-backward", "train-update"
    _forward_block(r, model, sh, tokens, bf, seq, F, KIND_NORMAL)
    gemms = _weight_gemms(model, sh)
    if backward:
        rec = np.broadcast_to(np.asarray(recompute, dtype=bool), (nl,))
        _forward_block(r, model, sh, tokens * rec, bf * rec, seq, B, KIND_RECOMPUTE)
        # in the functional graph's order: MLP out, activation, MLP in, norm, out-proj,
        # attention products, QKV, norm; the two residual streams' error sums
        for _ in range(2):
            r.add(B, "elementwise", tokens * h, ADD_ARRAYS, ADD_OPS)
        for n, k in reversed(gemms[2:]):
            r.add(B, "mvm_t", tokens, k, n)
            r.add(U, "update", tokens, n, k)
        r.add(B, "elementwise", tokens * sh["ffn"], act_layer.BACKWARD_ARRAYS + (
            1 if model.ffn_kind == "swiglu" else 0), act_layer.BACKWARD_OPS
            if model.ffn_kind != "swiglu" else ACT_OPS)
        for n, k in reversed(gemms[:2]):
            r.add(B, "mvm_t", tokens, k, n)
            r.add(U, "update", tokens, n, k)
        r.add(B, "matmul", seq, seq, dh, mult=heads)                      # dP = dO . V^T
        r.add(B, "matmul", seq, dh, seq, mult=heads)                      # dV = P^T . dO
        r.add(B, "elementwise", heads * seq * seq, 3, SOFTMAX_OPS)
        r.add(B, "matmul", seq, dh, seq, mult=heads)                      # dQ = dS . K
        r.add(B, "matmul", seq, dh, seq, mult=heads)                      # dK = dS^T . Q
        for _ in range(2):
            r.add(B, "elementwise", tokens * h, NORM_BWD_ARRAYS, NORM_BWD_OPS)
    else:
        r.add(U, "elementwise", tokens * h, 2, NORM_OPS)  # the local learning signal
        for n, k in gemms:
            r.add(U, "update", tokens, n, k)
    # head: embedding gather (+ learned positions), final norm, output layer, loss
    _head_forward(r, model, sh, tokens, tokens, F)
    r.add(F, "elementwise", tokens * sh["vocab"], LOSS_ARRAYS, LOSS_OPS, scope=HEAD)
    if backward:
        r.add(B, "mvm_t", tokens, h, sh["vocab"], scope=HEAD)
        r.add(B, "elementwise", tokens * h, NORM_BWD_ARRAYS, NORM_BWD_OPS, scope=HEAD)
        r.add(B, "elementwise", tokens * h, 2, 1, scope=HEAD)        # embedding scatter
        if model.learned_positions:
            r.add(B, "reduce", tokens * h, 1, 1, scope=HEAD)
    r.add(U, "update", tokens, sh["vocab"], h, scope=HEAD)
    return r.stack()


def optimizer_rows(params_per_device, formats: Formats) -> dict[str, np.ndarray]:
    """One optimizer pass (Adam, fp32 states) over ``params_per_device`` weights, per step."""
    p = np.atleast_1d(params_per_device)
    r = Rows(formats, p.size)
    r.add("train-update", "elementwise", p, OPT_ARRAYS, OPT_OPS, fmt=(OPT_BITS, "fp32"))
    return r.stack()


def decode_rows(model: Transformer, formats: Formats, tp, batch, context) -> dict[str, np.ndarray]:
    """One generated token for ``batch`` sequences attending to ``context`` cached tokens:
    one block (LAYER) and the output head (HEAD), on one tensor-parallel shard.

    The KV cache read is its own elementwise row (2 x batch x context x kv heads x d_head
    values, one array, no arithmetic), so memory-bound backends pay for it explicitly.
    """
    tp, batch, context = np.atleast_1d(tp), np.atleast_1d(batch), np.atleast_1d(context)
    nl = max(tp.size, batch.size, context.size)
    sh = _shards(model, tp)
    h, dh = model.d_model, model.d_head
    bsz = batch.astype(np.float64)
    heads = sh["heads"] * bsz
    r = Rows(formats, nl)
    P = "inference"
    r.add(P, "elementwise", bsz * h, NORM_ARRAYS, NORM_OPS)
    r.add(P, "mvm", bsz, sh["qkv"], h)
    r.add(P, "elementwise", 2 * bsz * context * sh["kv"] * dh, 1, 0)        # KV-cache read
    r.add(P, "matmul", 1, context, dh, mult=heads)                          # q . K^T
    r.add(P, "elementwise", heads * context, 2, SOFTMAX_OPS + 1)
    r.add(P, "matmul", 1, dh, context, mult=heads)                          # p . V
    r.add(P, "mvm", bsz, h, sh["hid"])
    r.add(P, "elementwise", bsz * h, ADD_ARRAYS, ADD_OPS)
    r.add(P, "elementwise", bsz * h, NORM_ARRAYS, NORM_OPS)
    r.add(P, "mvm", bsz, _ffn_in(model, sh), h)
    r.add(P, "elementwise", bsz * sh["ffn"], _act_arrays(model), ACT_OPS)
    r.add(P, "mvm", bsz, h, sh["ffn"])
    r.add(P, "elementwise", bsz * h, ADD_ARRAYS, ADD_OPS)
    _head_forward(r, model, sh, bsz, bsz, P)
    r.add(P, "elementwise", bsz * sh["vocab"], 1, 3, scope=HEAD)             # sampling
    return r.stack()


def _head_forward(r: Rows, model: Transformer, sh, tokens, scored, phase: str) -> None:
    """Embedding gather (+ positions) and final norm of ``tokens``, output layer of ``scored``."""
    h = model.d_model
    r.add(phase, "elementwise", tokens * h, 2, 0, scope=HEAD)
    if model.learned_positions:
        r.add(phase, "elementwise", tokens * h, ADD_ARRAYS, ADD_OPS, scope=HEAD)
    r.add(phase, "elementwise", tokens * h, NORM_ARRAYS, NORM_OPS, scope=HEAD)
    r.add(phase, "mvm", scored, sh["vocab"], h, scope=HEAD)


def prefill_rows(model: Transformer, formats: Formats, tp, batch, prompt: int
                 ) -> dict[str, np.ndarray]:
    """The prompt of ``prompt`` tokens for ``batch`` sequences: forward only, phase inference;
    the output layer scores the last position only."""
    tp, batch = np.atleast_1d(tp), np.atleast_1d(batch)
    nl = max(tp.size, batch.size)
    sh = _shards(model, tp)
    bf = batch.astype(np.float64)
    tokens = bf * prompt
    r = Rows(formats, nl)
    _forward_block(r, model, sh, tokens, bf, prompt, "inference", KIND_NORMAL)
    _head_forward(r, model, sh, tokens, bf, "inference")
    return r.stack()


def weight_write_rows(model: Transformer, formats: Formats, tp, phase: str
                      ) -> dict[str, np.ndarray]:
    """Writing every weight of one block (LAYER) and of the head (HEAD) into device storage:
    the analog what-if's programming (``write`` rows, m = 1, k x n weights)."""
    tp = np.atleast_1d(tp)
    sh = _shards(model, tp)
    r = Rows(formats, tp.size)
    for n, k in _weight_gemms(model, sh):
        r.add(phase, "write", 1, n, k)
    r.add(phase, "write", 1, sh["vocab"], model.d_model, scope=HEAD)
    return r.stack()


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Rows of several builders, stacked along the row axis."""
    return {c: np.concatenate([p[c] for p in parts], axis=0) for c in parts[0]}


def to_trace(cols: dict[str, np.ndarray], count: np.ndarray, layout: int = 0) -> Trace:
    """One layout's rows as a ``Trace`` with ``count`` (per row) units of work, each ``mult``
    repetitions; rows with a zero count or size are dropped. ``layer`` holds the scope (0
    block rows, 1 head rows), plus ``RECOMPUTED`` for a recomputed forward."""
    count = np.asarray(count) * cols["mult"][:, layout]
    sel = (count > 0) & (cols["m"][:, layout] > 0)
    layer = cols["scope"][sel, layout] + RECOMPUTED * (cols["kind"][sel, layout]
                                                       == KIND_RECOMPUTE)
    return Trace.from_columns({
        "phase": cols["phase"][sel, layout], "layer": layer,
        "primitive": cols["primitive"][sel, layout], "m": cols["m"][sel, layout],
        "n": cols["n"][sel, layout], "k": cols["k"][sel, layout],
        "bits": cols["bits"][sel, layout], "fmt": cols["fmt"][sel, layout],
        "count": np.asarray(count)[sel]})


def _gemm_flops(trace: Trace) -> np.ndarray:
    c = trace.columns()  # in float: whole-run MAC counts overflow int64
    gemm = np.isin(c["primitive"], [PRIMITIVE[p] for p in GEMM_PRIMITIVES])
    return np.where(gemm, 2.0 * c["m"].astype(np.float64) * c["n"] * c["k"] * c["count"], 0.0)


def hardware_flops(trace: Trace) -> float:
    """2 x MACs of every product row the hardware runs, recomputation included."""
    return float(_gemm_flops(trace).sum())


def model_flops(trace: Trace) -> float:
    """2 x MACs of every product row, recomputation excluded (rows ``to_trace`` marks with a
    layer of ``RECOMPUTED`` or more: hardware work, not model work)."""
    return float(_gemm_flops(trace)[trace.column("layer") < RECOMPUTED].sum())
