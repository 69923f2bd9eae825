"""Analytic traces of a transformer: the same rows a functional run records, built from shapes.

Rows follow ``xpusim.core.trace``: GEMMs are (m x k) . (k x n) (``mvm`` forward, ``mvm_t``
error propagation with ``n`` the layer input and ``k`` its output, ``update`` the weight
gradient / local weight change); ``elementwise`` rows have ``m`` elements, ``n`` arrays touched
and ``k`` ops per element. Formats come from the backend's own ``Device.operand_format``.

Everything here is vectorised over *layouts*: ``tp`` (tensor-parallel degree), ``b`` (sequences
per micro-batch) are arrays, and each builder returns column arrays of shape (rows, layouts),
so thousands of layouts are priced in one cost-kernel call. Rows are per device (one
tensor-parallel shard), per micro-batch and per *unit*: ``scope`` LAYER (one transformer block)
or HEAD (embedding + output layer + loss, once per micro-batch). The caller multiplies by the
unit counts (``count``) to build a whole-run trace.

Modelled per block (Megatron-style tensor parallelism: Q/K/V and MLP-in split by columns,
out-projection and MLP-out by rows; attention heads split across ``tp``):

    forward   QKV, scores Q.K^T, softmax, probs.V, out-proj, MLP in (x2 for SwiGLU gate),
              activation, MLP out, 2 norms + 2 residual adds
    backward  mvm_t for every weight GEMM; two GEMMs for each of the two attention products;
              elementwise backward of softmax, activation and norms; full recompute of the
              forward (phase train-backward, primitive mvm) when activation recomputation is on
    update    one ``update`` row per weight GEMM (weight gradient)

Assumptions (also listed in every estimate's output): attention scores are computed for the
full s x s matrix (no causal skipping, as the GEMM-based kernels of GPT-3/Megatron did); norms,
softmax and activations each take a fixed small number of ops per element (below).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xpusim.core.formats import format_code
from xpusim.core.optim import Adam
from xpusim.core.trace import GEMM_PRIMITIVES, PHASE, PRIMITIVE, Trace

from .model import Transformer

LAYER, HEAD = 0, 1
KIND_NORMAL, KIND_RECOMPUTE = 0, 1

SOFTMAX_OPS = 5        # max, subtract, exp, sum, divide
ACT_OPS = 8            # GELU tanh approximation ~8 ops; SwiGLU: SiLU + product
NORM_OPS = 4           # per element of the two norms and two residual adds (averaged)
NORM_ARRAYS = 10       # 2 norms (read + write) + 2 residual adds (2 reads + 1 write)
OPT_ARRAYS = Adam.arrays_per_element   # fp32 states: read w, g, m, v; write w, m, v
OPT_OPS = Adam.ops_per_element
OPT_BITS = 32

Formats = Callable[[str, str], tuple[int, str]]
"""``operand_format(primitive, phase) -> (bits, format name)``, as ``Device.operand_format``."""


class Rows:
    """Accumulates rows whose m, n, k may be arrays over layouts (broadcast on ``stack``)."""

    def __init__(self, formats: Formats, nlayouts: int):
        self.formats = formats
        self.nl = nlayouts
        self.rows: list[tuple] = []

    def add(self, phase: str, prim: str, m, n, k, scope: int = LAYER, kind: int = KIND_NORMAL,
            fmt: tuple[int, str] | None = None) -> None:
        bits, name = fmt if fmt is not None else self.formats(prim, phase)
        self.rows.append((PHASE[phase], PRIMITIVE[prim], m, n, k, bits, format_code(name), scope,
                          kind))

    def stack(self) -> dict[str, np.ndarray]:
        """Columns of shape (rows, layouts)."""
        names = ("phase", "primitive", "m", "n", "k", "bits", "fmt", "scope", "kind")
        shape = (len(self.rows), self.nl)
        cols = {c: np.empty(shape, dtype=np.float64 if c in "mnk" else np.int64) for c in names}
        for i, row in enumerate(self.rows):
            for c, v in zip(names, row):
                cols[c][i] = v  # numpy broadcasts scalars and per-layout arrays alike
        for c in ("m", "n", "k"):
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


def _forward_block(r: Rows, model: Transformer, sh, tokens, seq, phase: str, kind: int) -> None:
    h, dh = model.d_model, model.d_head
    r.add(phase, "mvm", tokens, sh["qkv"], h, kind=kind)
    r.add(phase, "mvm", sh["heads"] * tokens, seq, dh, kind=kind)           # Q . K^T
    r.add(phase, "elementwise", sh["heads"] * tokens * seq, 2, SOFTMAX_OPS, kind=kind)
    r.add(phase, "mvm", sh["heads"] * tokens, dh, seq, kind=kind)           # P . V
    r.add(phase, "mvm", tokens, h, sh["hid"], kind=kind)                    # out-proj
    r.add(phase, "mvm", tokens, (model.ffn_matrices - 1) * sh["ffn"], h, kind=kind)
    r.add(phase, "elementwise", tokens * sh["ffn"], model.ffn_matrices, ACT_OPS, kind=kind)
    r.add(phase, "mvm", tokens, h, sh["ffn"], kind=kind)                    # MLP out
    r.add(phase, "elementwise", tokens * h, NORM_ARRAYS, NORM_OPS, kind=kind)


def _weight_gemms(model: Transformer, sh) -> list[tuple]:
    """(n, k) of every weight GEMM of a block: output width, input width."""
    h = model.d_model
    return [(sh["qkv"], h), (h, sh["hid"]), ((model.ffn_matrices - 1) * sh["ffn"], h),
            (h, sh["ffn"])]


def training_rows(model: Transformer, formats: Formats, tp, b, *, recompute=False,
                  backward: bool = True, seq: int | None = None) -> dict[str, np.ndarray]:
    """Rows of one micro-batch of ``b`` sequences through one block (scope LAYER) and through
    the embedding + output head + loss (scope HEAD), on one tensor-parallel shard.

    ``recompute`` (bool or bool array over layouts) adds a forward recompute in the backward
    phase (rows of kind RECOMPUTE; their m is zeroed where recompute is off). ``backward=False``
    is the local-learning what-if: no error propagation; each weight gets a local ``update``
    from its own input and output, plus an elementwise local-signal pass.
    """
    tp, b = np.atleast_1d(tp), np.atleast_1d(b)
    nl = max(tp.size, b.size)
    seq = seq or model.seq_len
    tokens = b.astype(np.float64) * seq
    sh = _shards(model, tp)
    h = model.d_model
    r = Rows(formats, nl)
    F, B, U = "train-forward", "train-backward", "train-update"
    _forward_block(r, model, sh, tokens, seq, F, KIND_NORMAL)
    if backward:
        rec = np.broadcast_to(np.asarray(recompute, dtype=bool), (nl,))
        _forward_block(r, model, sh, tokens * rec, seq, B, KIND_RECOMPUTE)
        for n, k in _weight_gemms(model, sh):
            r.add(B, "mvm_t", tokens, k, n)
        for _ in range(2):  # dS -> dQ, dK ; dO -> dP, dV
            r.add(B, "mvm_t", sh["heads"] * tokens, model.d_head, seq)
            r.add(B, "mvm_t", sh["heads"] * tokens, seq, model.d_head)
        r.add(B, "elementwise", sh["heads"] * tokens * seq, 3, SOFTMAX_OPS - 1)
        r.add(B, "elementwise", tokens * sh["ffn"], model.ffn_matrices + 1, ACT_OPS)
        r.add(B, "elementwise", tokens * h, NORM_ARRAYS + 2, 2 * NORM_OPS)
    else:
        r.add(U, "elementwise", tokens * h, 2, NORM_OPS)  # the local learning signal
    for n, k in _weight_gemms(model, sh):
        r.add(U, "update", tokens, n, k)
    # head: embedding gather, output projection, softmax + cross-entropy
    r.add(F, "elementwise", tokens * h, 2, 1, scope=HEAD)
    r.add(F, "mvm", tokens, sh["vocab"], h, scope=HEAD)
    r.add(F, "elementwise", tokens * sh["vocab"], 2, SOFTMAX_OPS + 1, scope=HEAD)
    if backward:
        r.add(B, "elementwise", tokens * sh["vocab"], 2, 2, scope=HEAD)
        r.add(B, "mvm_t", tokens, h, sh["vocab"], scope=HEAD)
        r.add(U, "elementwise", tokens * h, 2, 1, scope=HEAD)        # embedding-gradient scatter
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
    r = Rows(formats, nl)
    P = "inference"
    r.add(P, "mvm", bsz, sh["qkv"], h)
    r.add(P, "mvm", sh["heads"] * bsz, context, dh)
    r.add(P, "elementwise", 2 * bsz * context * sh["kv"] * dh, 1, 0)        # KV-cache read
    r.add(P, "elementwise", sh["heads"] * bsz * context, 2, SOFTMAX_OPS)
    r.add(P, "mvm", sh["heads"] * bsz, dh, context)
    r.add(P, "mvm", bsz, h, sh["hid"])
    r.add(P, "mvm", bsz, (model.ffn_matrices - 1) * sh["ffn"], h)
    r.add(P, "elementwise", bsz * sh["ffn"], model.ffn_matrices, ACT_OPS)
    r.add(P, "mvm", bsz, h, sh["ffn"])
    r.add(P, "elementwise", bsz * h, NORM_ARRAYS, NORM_OPS)
    r.add(P, "elementwise", bsz * h, 2, 1, scope=HEAD)
    r.add(P, "mvm", bsz, sh["vocab"], h, scope=HEAD)
    r.add(P, "elementwise", bsz * sh["vocab"], 1, 3, scope=HEAD)             # sampling
    return r.stack()


def prefill_rows(model: Transformer, formats: Formats, tp, batch, prompt: int
                 ) -> dict[str, np.ndarray]:
    """The prompt of ``prompt`` tokens for ``batch`` sequences: forward only, phase inference."""
    tp, batch = np.atleast_1d(tp), np.atleast_1d(batch)
    nl = max(tp.size, batch.size)
    sh = _shards(model, tp)
    tokens = batch.astype(np.float64) * prompt
    r = Rows(formats, nl)
    _forward_block(r, model, sh, tokens, prompt, "inference", KIND_NORMAL)
    r.add("inference", "elementwise", tokens * model.d_model, 2, 1, scope=HEAD)
    r.add("inference", "mvm", batch, sh["vocab"], model.d_model, scope=HEAD)  # last position
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
    """One layout's rows as a ``Trace`` with ``count`` (per row) repetitions; rows with a zero
    count or size are dropped. ``layer`` holds the scope (0 block rows, 1 head rows)."""
    sel = (count > 0) & (cols["m"][:, layout] > 0)
    return Trace.from_columns({
        "phase": cols["phase"][sel, layout], "layer": cols["scope"][sel, layout],
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
    """2 x MACs of every product row, recompute excluded (forward ``mvm`` and ``matmul`` rows
    recorded in the backward phase are recomputation: hardware work, not model work)."""
    recompute = (trace.column("phase") == PHASE["train-backward"]) & \
        np.isin(trace.column("primitive"), [PRIMITIVE["mvm"], PRIMITIVE["matmul"]])
    return float(_gemm_flops(trace)[~recompute].sum())
