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
PART_OTHER, PART_ATTENTION = 0, 1
"""``part`` column: PART_ATTENTION marks the rows of the attention core (the score products,
softmax and dropout of the probabilities, forward, recomputed and backward), which a software
stack may price with a measured attention kernel instead (``stacks.py``)."""
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
            fmt: tuple[int, str] | None = None, mult=1, part: int = PART_OTHER) -> None:
        bits, name = fmt if fmt is not None else self.formats(prim, phase)
        self.rows.append((PHASE[phase], PRIMITIVE[prim], m, n, k, bits, format_code(name), scope,
                          kind, mult, part))

    def stack(self) -> dict[str, np.ndarray]:
        """Columns of shape (rows, layouts)."""
        names = ("phase", "primitive", "m", "n", "k", "bits", "fmt", "scope", "kind", "mult",
                 "part")
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
        "attn": model.attn_width / tp,       # concatenated heads: the out-projection's input
        "ffn": model.ffn_hidden / tp,
        "vocab": model.vocab / tp,
        "hid": model.d_model / tp,
    }


def _ffn_in(model: Transformer, sh) -> np.ndarray:
    """Output width of the MLP's input projection (gate and up fused for SwiGLU)."""
    return (model.ffn_matrices - 1) * sh["ffn"]


def _act_arrays(model: Transformer) -> int:
    return 3 if model.ffn_kind == "swiglu" else 2


DROPOUT_ARRAYS, DROPOUT_OPS = 3, 2
"""Dropout forward: read x, write y and the mask; a random draw and a multiply per element
(assumption: counted like the elementwise layers of ``xpusim.core.layers``)."""
DROPOUT_BWD_ARRAYS, DROPOUT_BWD_OPS = 3, 1
CAST_ARRAYS, CAST_OPS = 3, 2
"""fp8 cast of a 16-bit tensor: two 8-bit halves read, one 8-bit byte written; scale and
amax per element (Transformer Engine's cast kernels)."""
FP32_LOSS = (("F", 3, 1, False), ("F", 3, SOFTMAX_OPS + 1, True), ("B", 1, 0, True),
             ("B", 4, SOFTMAX_OPS, True), ("B", 3, 1, False))
"""A softmax cross-entropy on 16-bit logits run in fp32 (torch.autocast's fp32 ops; Megatron-LM's
``output.float()``), pass by pass over the logits, as (phase, arrays, ops per element, fp32):
the cast up (a 16-bit read and an fp32 write: 3 arrays of 16 bits), log-softmax (its max/sum
pass and its output pass: 2 reads, 1 write), the negative log-likelihood's zero-filled gradient
(1 write), the log-softmax gradient (gradient and output read, a sum pass, 1 write) and the
cast back (an fp32 read and a 16-bit write). assumption: one pass per kernel, each reading and
writing its operands once (PyTorch's CUDA softmax kernels for rows of ~50k elements)."""
CAUSAL_BLOCK = 128
"""FlashAttention's key block: with a causal mask the blocks above the diagonal are skipped
and each query row attends (s + 128) / 2 keys on average (Dao 2023, FlashAttention-2 tiles
of 128)."""


class Options:
    """Per-layout switches of a block's rows (arrays over layouts, broadcast):
    ``rc`` recomputation (0 none, 1 selective, 2 full), ``sp`` sequence parallelism (norms,
    residual adds and dropouts split over tp), ``flash`` FlashAttention (the s x s scores never
    reach memory, causal blocks are skipped, the backward recomputes Q.K^T); ``fp8`` (one value)
    prices the weight GEMMs' fp8 casts."""

    def __init__(self, model: Transformer, nl: int, seq: int, tp, recompute, sp, flash, fp8,
                 train: bool = True):
        rc = np.asarray(recompute)
        if rc.dtype == bool:
            rc = np.where(rc, 2, 0)
        self.rc = np.broadcast_to(rc.astype(np.int64), (nl,))
        self.sp = np.broadcast_to(np.asarray(sp, dtype=bool), (nl,))
        self.flash = np.broadcast_to(np.asarray(flash, dtype=bool), (nl,))
        self.fp8 = bool(fp8)
        self.rep = np.where(self.sp, np.asarray(tp, dtype=np.float64), 1.0)
        self.std = (~self.flash).astype(np.float64)
        self.fl = self.flash.astype(np.float64)
        self.skv = np.where(self.flash, (seq + min(CAUSAL_BLOCK, seq)) / 2.0, float(seq))
        self.dropout = model.dropout and train


def _attention_core(r: Rows, model: Transformer, sh, b, seq, phase: str, kind: int,
                    o: Options) -> None:
    """Q.K^T, scale + mask + softmax (+ dropout), P.V for ``b`` sequences."""
    dh = model.d_head
    heads = sh["heads"] * b  # one product per sequence and head
    A = PART_ATTENTION
    r.add(phase, "matmul", seq, o.skv, dh, kind=kind, mult=heads, part=A)          # Q . K^T
    r.add(phase, "elementwise", heads * seq * o.skv * o.std, 2, SOFTMAX_OPS + 1, kind=kind,
          part=A)
    r.add(phase, "elementwise", heads * seq * o.skv * o.fl, 0, SOFTMAX_OPS + 1, kind=kind,
          part=A)
    if o.dropout:
        r.add(phase, "elementwise", heads * seq * o.skv * o.std, DROPOUT_ARRAYS, DROPOUT_OPS,
              kind=kind, part=A)
        r.add(phase, "elementwise", heads * seq * o.skv * o.fl, 0, DROPOUT_OPS, kind=kind,
              part=A)
    r.add(phase, "matmul", seq, dh, o.skv, kind=kind, mult=heads, part=A)          # P . V


def _cast(r: Rows, phase: str, elements, o: Options, kind: int = KIND_NORMAL) -> None:
    if o.fp8:
        r.add(phase, "elementwise", elements, CAST_ARRAYS, CAST_OPS, kind=kind,
              fmt=r.formats("mvm", phase))


def _forward_block(r: Rows, model: Transformer, sh, tokens, b, seq, phase: str,
                   kind: int, o: Options | None = None) -> None:
    h = model.d_model
    o = o or Options(model, r.nl, seq, 1, 0, False, False, False)
    ew = tokens * h / o.rep  # a d_model-wide tensor, split over tp under sequence parallelism
    r.add(phase, "elementwise", ew, NORM_ARRAYS, NORM_OPS, kind=kind)
    _cast(r, phase, tokens * h, o, kind)
    r.add(phase, "mvm", tokens, sh["qkv"], h, kind=kind)
    _attention_core(r, model, sh, b, seq, phase, kind, o)
    _cast(r, phase, tokens * sh["attn"], o, kind)
    r.add(phase, "mvm", tokens, h, sh["attn"], kind=kind)                   # out-proj
    if o.dropout:
        r.add(phase, "elementwise", ew, DROPOUT_ARRAYS, DROPOUT_OPS, kind=kind)
    if not model.parallel_block:
        r.add(phase, "elementwise", ew, ADD_ARRAYS, ADD_OPS, kind=kind)
        r.add(phase, "elementwise", ew, NORM_ARRAYS, NORM_OPS, kind=kind)
        _cast(r, phase, tokens * h, o, kind)
    r.add(phase, "mvm", tokens, _ffn_in(model, sh), h, kind=kind)
    r.add(phase, "elementwise", tokens * sh["ffn"], _act_arrays(model), ACT_OPS, kind=kind)
    _cast(r, phase, tokens * sh["ffn"], o, kind)
    r.add(phase, "mvm", tokens, h, sh["ffn"], kind=kind)                    # MLP out
    if o.dropout:
        r.add(phase, "elementwise", ew, DROPOUT_ARRAYS, DROPOUT_OPS, kind=kind)
    # residual add (a parallel block adds both branches at once: one more array)
    r.add(phase, "elementwise", ew, ADD_ARRAYS + (1 if model.parallel_block else 0), ADD_OPS,
          kind=kind)


def _weight_gemms(model: Transformer, sh) -> list[tuple]:
    """(n, k) of every weight GEMM of a block: output width, input width."""
    h = model.d_model
    return [(sh["qkv"], h), (h, sh["attn"]), (_ffn_in(model, sh), h), (h, sh["ffn"])]


def training_rows(model: Transformer, formats: Formats, tp, b, *, recompute=False,
                  backward: bool = True, seq: int | None = None, sp=False, flash=False,
                  fp8: bool = False, loss: str = "rows") -> dict[str, np.ndarray]:
    """Rows of one micro-batch of ``b`` sequences through one block (scope LAYER) and through
    the embedding + final norm + output head + loss (scope HEAD), on one tensor-parallel shard.

    ``recompute`` (bool: full or none, or an int array over layouts: 0 none, 1 selective, 2
    full) adds the recomputed forward in the backward phase (rows of kind RECOMPUTE; their m is
    zeroed where it is off); ``sp``, ``flash`` (bool arrays) and ``fp8`` as in ``Options``.
    ``backward=False`` is the local-learning what-if: no error propagation; each weight gets
    a local ``update`` from its own input and output, plus an elementwise local-signal pass.
    ``loss="fp32"`` replaces the one fused pass over the logits by the passes of a softmax
    cross-entropy run in fp32 (``FP32_LOSS``).
    With every switch off, the rows are the functional graph's (the equality test).
    """
    tp, b = np.atleast_1d(tp), np.atleast_1d(b)
    nl = max(tp.size, b.size, np.size(recompute), np.size(sp), np.size(flash))
    seq = seq or model.seq_len
    bf = b.astype(np.float64)
    tokens = bf * seq
    sh = _shards(model, tp)
    h = model.d_model
    r = Rows(formats, nl)
    o = Options(model, nl, seq, tp, recompute, sp, flash, fp8)
    ew = tokens * h / o.rep
    F, B, U = "train-forward", "train-backward", "train-update"
    _forward_block(r, model, sh, tokens, bf, seq, F, KIND_NORMAL, o)
    gemms = _weight_gemms(model, sh)
    if backward:
        full = (o.rc == 2).astype(np.float64)
        _forward_block(r, model, sh, tokens * full, bf * full, seq, B, KIND_RECOMPUTE, o)
        selective = ((o.rc == 1) & ~o.flash).astype(np.float64)
        _attention_core(r, model, sh, bf * selective, seq, B, KIND_RECOMPUTE, o)
        # in the functional graph's order: MLP out, activation, MLP in, norm, out-proj,
        # attention products, QKV, norm; the two residual streams' error sums
        for _ in range(2):
            r.add(B, "elementwise", ew, ADD_ARRAYS, ADD_OPS)
        if o.dropout:
            for _ in range(2):
                r.add(B, "elementwise", ew, DROPOUT_BWD_ARRAYS, DROPOUT_BWD_OPS)
        for n, k in reversed(gemms[2:]):
            _cast(r, B, tokens * n, o)                                    # the error, to fp8
            r.add(B, "mvm_t", tokens, k, n)
            r.add(U, "update", tokens, n, k)
        r.add(B, "elementwise", tokens * sh["ffn"], act_layer.BACKWARD_ARRAYS + (
            1 if model.ffn_kind == "swiglu" else 0), act_layer.BACKWARD_OPS
            if model.ffn_kind != "swiglu" else ACT_OPS)
        for n, k in reversed(gemms[:2]):
            _cast(r, B, tokens * n, o)
            r.add(B, "mvm_t", tokens, k, n)
            r.add(U, "update", tokens, n, k)
        heads = sh["heads"] * bf
        dh = model.d_head
        A = PART_ATTENTION
        # FlashAttention's backward runs Q.K^T and the softmax again inside the kernel
        r.add(B, "matmul", seq, o.skv, dh, kind=KIND_RECOMPUTE, mult=heads * o.fl, part=A)
        r.add(B, "elementwise", heads * seq * o.skv * o.fl, 0, SOFTMAX_OPS + 1,
              kind=KIND_RECOMPUTE, part=A)
        r.add(B, "matmul", seq, o.skv, dh, mult=heads, part=A)            # dP = dO . V^T
        r.add(B, "matmul", seq, dh, o.skv, mult=heads, part=A)            # dV = P^T . dO
        r.add(B, "elementwise", heads * seq * o.skv * o.std, 3, SOFTMAX_OPS, part=A)
        r.add(B, "elementwise", heads * seq * o.skv * o.fl, 0, SOFTMAX_OPS, part=A)
        if o.dropout:
            r.add(B, "elementwise", heads * seq * o.skv * o.std, DROPOUT_BWD_ARRAYS,
                  DROPOUT_BWD_OPS, part=A)
        r.add(B, "matmul", seq, dh, o.skv, mult=heads, part=A)            # dQ = dS . K
        r.add(B, "matmul", seq, dh, o.skv, mult=heads, part=A)            # dK = dS^T . Q
        for _ in range(model.block_norms):
            r.add(B, "elementwise", ew, NORM_BWD_ARRAYS, NORM_BWD_OPS)
    else:
        r.add(U, "elementwise", tokens * h, 2, NORM_OPS)  # the local learning signal
        for n, k in gemms:
            r.add(U, "update", tokens, n, k)
    # head: embedding gather (+ learned positions), final norm, output layer, loss
    _head_forward(r, model, sh, tokens, tokens, F)
    if loss == "fp32":
        half = formats("mvm", F)
        for phase, arrays, ops, wide in FP32_LOSS:
            if phase == "B" and not backward:
                continue
            r.add(B if phase == "B" else F, "elementwise", tokens * sh["vocab"], arrays, ops,
                  scope=HEAD, fmt=(32, "fp32") if wide else half)
    else:
        r.add(F, "elementwise", tokens * sh["vocab"], LOSS_ARRAYS, LOSS_OPS, scope=HEAD)
    if backward:
        r.add(B, "mvm_t", tokens, h, sh["vocab"], scope=HEAD)
        r.add(B, "elementwise", tokens * h, NORM_BWD_ARRAYS, NORM_BWD_OPS, scope=HEAD)
        r.add(B, "elementwise", tokens * h, 2, 1, scope=HEAD)        # embedding scatter
        if model.learned_positions:
            r.add(B, "reduce", tokens * h, 1, 1, scope=HEAD)
    r.add(U, "update", tokens, sh["vocab"], h, scope=HEAD)
    return r.stack()


def optimizer_rows(params_per_device, formats: Formats, fp8: bool = False
                   ) -> dict[str, np.ndarray]:
    """One optimizer pass (Adam, fp32 states) over ``params_per_device`` weights, per step;
    with ``fp8``, the updated weights cast to fp8 once per step (and transposed for the
    backward GEMMs: two 8-bit copies written from the 16-bit read)."""
    p = np.atleast_1d(params_per_device)
    r = Rows(formats, p.size)
    r.add("train-update", "elementwise", p, OPT_ARRAYS, OPT_OPS, fmt=(OPT_BITS, "fp32"))
    if fp8:
        r.add("train-update", "elementwise", p, CAST_ARRAYS + 1, CAST_OPS,
              fmt=formats("mvm", "train-forward"))
    return r.stack()


def _decode_attention(r: Rows, model: Transformer, sh, seqs, context, phase: str,
                      flash: bool, kv_fmt: tuple[int, str] | None = None,
                      grouped: bool = True) -> None:
    """One new query per sequence against ``context`` cached keys and values: the query heads
    sharing a key/value head go together (m = heads per KV head), so each product reads its
    cached K or V once, as grouped-query decode kernels do; the scores stay on chip with
    ``flash`` (paged/flash-decoding kernels). ``kv_fmt``: the cache's format (the products
    read it as stored, e.g. an fp8 cache). ``grouped=False``: a kernel that reads the shared
    K and V once per query head (multi-head decode kernels run on a GQA/MQA model)."""
    dh = model.d_head
    group = sh["heads"] / sh["kv"] if grouped else 1.0
    products = (sh["kv"] if grouped else sh["heads"]) * seqs
    r.add(phase, "matmul", group, context, dh, mult=products, fmt=kv_fmt)  # q . K^T
    r.add(phase, "elementwise", sh["heads"] * seqs * context, 0 if flash else 2,
          SOFTMAX_OPS + 1)
    r.add(phase, "matmul", group, dh, context, mult=products, fmt=kv_fmt)  # p . V


def decode_rows(model: Transformer, formats: Formats, tp, batch, context, *,
                flash: bool = False, fp8: bool = False, kv_fmt: tuple[int, str] | None = None,
                grouped_kv: bool = True) -> dict[str, np.ndarray]:
    """One generated token for ``batch`` sequences attending to ``context`` cached tokens:
    one block (LAYER) and the output head (HEAD), on one tensor-parallel shard. The cached
    keys and values are read by the attention products (``_decode_attention``)."""
    return iteration_rows(model, formats, tp, batch, context, 0.0, 1.0, flash=flash, fp8=fp8,
                          kv_fmt=kv_fmt, grouped_kv=grouped_kv)


def iteration_rows(model: Transformer, formats: Formats, tp, batch, context, prefill_tokens,
                   prompt, *, flash: bool = True, fp8: bool = False,
                   kv_fmt: tuple[int, str] | None = None,
                   grouped_kv: bool = True) -> dict[str, np.ndarray]:
    """One iteration of a continuously batched server: ``batch`` running sequences each
    generate a token attending to ``context`` cached tokens, and ``prefill_tokens`` prompt
    tokens (chunks of new requests' prompts of ``prompt`` tokens) go through the same weight
    GEMMs (chunked prefill: m = batch + prefill_tokens), attending causally within their
    prompts. One block (LAYER) and the output head (HEAD), on one tensor-parallel shard;
    ``kv_fmt`` is the KV cache's format (default: the compute format)."""
    tp, batch, context = np.atleast_1d(tp), np.atleast_1d(batch), np.atleast_1d(context)
    pre = np.atleast_1d(prefill_tokens).astype(np.float64)
    prompt = np.atleast_1d(prompt).astype(np.float64)
    nl = max(tp.size, batch.size, context.size, pre.size, prompt.size)
    sh = _shards(model, tp)
    h, dh = model.d_model, model.d_head
    dec = batch.astype(np.float64)
    tok = dec + pre
    r = Rows(formats, nl)
    o = Options(model, nl, 1, tp, 0, False, flash, fp8, train=False)
    P = "inference"
    r.add(P, "elementwise", tok * h, NORM_ARRAYS, NORM_OPS)
    _cast(r, P, tok * h, o)
    r.add(P, "mvm", tok, sh["qkv"], h)
    kv_width = 2 * sh["kv"] * dh
    r.add(P, "elementwise", tok * kv_width, 1, 0, fmt=kv_fmt)                 # append K, V
    _decode_attention(r, model, sh, dec, context, P, flash, kv_fmt, grouped_kv)
    # the prompt chunk: each token attends to the prompt before it (causal, on average
    # half of it): per head, pre x prompt/2 scores
    half = prompt / 2.0
    r.add(P, "matmul", pre, half, dh, mult=sh["heads"])
    r.add(P, "elementwise", sh["heads"] * pre * half, 0 if flash else 2, SOFTMAX_OPS + 1)
    r.add(P, "matmul", pre, dh, half, mult=sh["heads"])
    _cast(r, P, tok * sh["attn"], o)
    r.add(P, "mvm", tok, h, sh["attn"])
    if not model.parallel_block:
        r.add(P, "elementwise", tok * h, ADD_ARRAYS, ADD_OPS)
        r.add(P, "elementwise", tok * h, NORM_ARRAYS, NORM_OPS)
        _cast(r, P, tok * h, o)
    r.add(P, "mvm", tok, _ffn_in(model, sh), h)
    r.add(P, "elementwise", tok * sh["ffn"], _act_arrays(model), ACT_OPS)
    _cast(r, P, tok * sh["ffn"], o)
    r.add(P, "mvm", tok, h, sh["ffn"])
    r.add(P, "elementwise", tok * h, ADD_ARRAYS + (1 if model.parallel_block else 0), ADD_OPS)
    # the running sequences and the prompts that finish this iteration are scored
    scored = dec + pre / prompt
    _head_forward(r, model, sh, tok, scored, P)
    r.add(P, "elementwise", scored * sh["vocab"], 1, 3, scope=HEAD)           # sampling
    return r.stack()


def _head_forward(r: Rows, model: Transformer, sh, tokens, scored, phase: str) -> None:
    """Embedding gather (+ positions) and final norm of ``tokens``, output layer of ``scored``."""
    h = model.d_model
    r.add(phase, "elementwise", tokens * h, 2, 0, scope=HEAD)
    if model.learned_positions:
        r.add(phase, "elementwise", tokens * h, ADD_ARRAYS, ADD_OPS, scope=HEAD)
    r.add(phase, "elementwise", tokens * h, NORM_ARRAYS, NORM_OPS, scope=HEAD)
    r.add(phase, "mvm", scored, sh["vocab"], h, scope=HEAD)


def prefill_rows(model: Transformer, formats: Formats, tp, batch, prompt: int, *,
                 flash: bool = False, fp8: bool = False) -> dict[str, np.ndarray]:
    """The prompt of ``prompt`` tokens for ``batch`` sequences: forward only, phase inference;
    the output layer scores the last position only."""
    tp, batch = np.atleast_1d(tp), np.atleast_1d(batch)
    nl = max(tp.size, batch.size)
    sh = _shards(model, tp)
    bf = batch.astype(np.float64)
    tokens = bf * prompt
    r = Rows(formats, nl)
    o = Options(model, nl, prompt, tp, 0, False, flash, fp8, train=False)
    _forward_block(r, model, sh, tokens, bf, prompt, "inference", KIND_NORMAL, o)
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
