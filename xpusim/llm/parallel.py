"""Parallel layouts: data (dp), tensor (tp), sequence (sp) and pipeline (pp, interleaved with
vp virtual stages) parallelism, micro-batches, activation recomputation (none, selective,
full), ZeRO stages 0-3 (3 = FSDP), FlashAttention and communication/compute overlap; the
communication and the memory of every layout, per device.

Everything is vectorised over a ``Layouts`` struct of arrays so a search prices thousands of
layouts at once. Placement: tensor-parallel groups are innermost (consecutive devices), then
pipeline stages, then data-parallel replicas.

Collectives are hierarchical (``_collective``): a group of G devices spaced ``stride`` apart
has g_in members in each node (``devices_per_node``) and spans g_out = G / g_in nodes; a ring
all-reduce of B bytes runs inside the node over the intra-node links and between nodes over
each device's own network port with B / g_in bytes:
    2 (g_in-1)/g_in B / bw_in + 2 (g_out-1)/g_out (B/g_in) / bw_out + 2 (g_in-1) lat_in
    + 2 (g_out-1) lat_out,
each bandwidth times its ``*_achievable_fraction``; all-gather and reduce-scatter are half of
that. On a ``torus`` interconnect (TPU pods) the node is the torus: a group spanning k of its
dimensions (k = log_side(g_in), at most 3) runs bidirectional rings on 2k links of
``link_bandwidth_gbs`` each.

Per micro-batch and block (Megatron-LM, Shoeybi et al. 2019; Korthikanti et al. 2022): 2
all-reduces of the activations forward (1 with a parallel block), as many backward, and again
as many when the block is recomputed in full; with sequence parallelism each becomes a
reduce-scatter + all-gather (same volume). Pipeline: one send forward and one backward per
micro-batch and virtual stage, split over the tp devices (Narayanan et al. 2021's scatter/gather).
Data parallelism (ZeRO stage 0/1): one gradient all-reduce per step; stage 2: a gradient
reduce-scatter per micro-batch and a parameter all-gather per step; stage 3: per micro-batch
two parameter all-gathers (forward, backward) and a gradient reduce-scatter (Rajbhandari et al.
2020). With ``overlap`` the data-parallel traffic hides behind the backward pass (stage 3:
behind the micro-batch's compute), except the first bucket; tensor- and pipeline-parallel
traffic is never overlapped.
Pipeline: 1F1B, step time = (micro-batches + (pp - 1) / vp) x time per micro-batch
(Narayanan et al. 2021: interleaving divides the bubble by vp).

Memory per device (busiest, first stage; Rajbhandari et al. 2020; Korthikanti et al. 2022):
weights and gradients in the compute format, optimizer states 12 B/param (fp32 master + Adam
m, v; 8 B when training in fp32); ZeRO divides the optimizer (>= 1), gradients (>= 2) and
weights (3) by dp, and stage 3 holds two blocks' gathered weights. Activations per block and
micro-batch are summed tensor by tensor (``activation_bytes``): the 34 s b h + 5 a s^2 b of
Korthikanti et al. for a GPT block, generalised to the model's widths, without the dropout
masks of a model without dropout, without the s x s tensors under FlashAttention or selective
recomputation, the norm/residual tensors split by tp under sequence parallelism; with full
recomputation only each block's input is kept (+ one block's full set as working space). The
first stage holds min(micro-batches, pp) micro-batches in flight, times 1 + (pp-1)/(pp vp)
with interleaving.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from xpusim.core.errors import XpusimError
from xpusim.core.specs import Interconnect

from .model import Transformer

DEFAULT_INTERCONNECT = Interconnect(
    intra_node_bandwidth_gbs=100.0, inter_node_bandwidth_gbs=12.5, devices_per_node=8,
    intra_node_latency_us=2.0, inter_node_latency_us=5.0, intra_node_energy_pj_per_byte=8.0,
    inter_node_energy_pj_per_byte=80.0)
"""Used (and said so in the output) when a spec has no ``[interconnect]`` table.
assumption: a PCIe-5-class 100 GB/s node fabric and 100 Gb/s Ethernet/InfiniBand per device."""

OPTIMIZER_BYTES_MIXED = 12.0   # fp32 master + Adam m + v (ZeRO paper, K = 12)
OPTIMIZER_BYTES_FP32 = 8.0     # Adam m + v when the weights are already fp32

RECOMPUTE = ("none", "selective", "full")
"""Activation recomputation: nothing; the attention core (Q.K^T, softmax, P.V: Korthikanti et
al. 2022's selective recomputation); the whole block (its input kept, the forward run again)."""
NONE, SELECTIVE, FULL = range(3)

MICRO_BATCHES = (1, 2, 4, 8, 16, 32)
"""Micro-batch sizes the search tries."""
VIRTUAL_STAGES = (1, 2, 4)
"""Virtual pipeline stages per device the search tries (1 = plain 1F1B)."""


class LayoutError(XpusimError):
    """A parallel layout that is malformed or does not fit the devices."""


@attrs.frozen
class Layout:
    """One parallel layout (what ``--parallel dp=..,tp=..,pp=..`` describes)."""

    dp: int
    tp: int
    pp: int
    micro_batch: int = 1
    recompute: str = "full"
    zero: int = 1
    sp: bool = False
    vp: int = 1
    flash: bool = False
    overlap: bool = False

    @property
    def devices(self) -> int:
        return self.dp * self.tp * self.pp

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def describe(self) -> str:
        """``dp=8,tp=8,pp=35,mb=1,recompute=full,zero=1,...`` (what ``--parallel`` reads)."""
        return (f"dp={self.dp},tp={self.tp},pp={self.pp},mb={self.micro_batch},"
                f"recompute={self.recompute},zero={self.zero},sp={str(self.sp).lower()},"
                f"vp={self.vp},flash={str(self.flash).lower()},"
                f"overlap={str(self.overlap).lower()}")


_BOOL = ("true", "false", "1", "0", "yes", "no")
LAYOUT_KEYS = ("dp", "tp", "pp", "mb", "micro_batch", "recompute", "zero", "fsdp", "sp", "vp",
               "flash", "overlap", "search")
PLACEMENT_KEYS = ("dp", "tp", "pp")


def _value(key: str, value: Any) -> Any:
    """One ``--parallel`` value, normalised (recompute a name, zero a stage, flags bools)."""
    text = str(value).strip().lower()
    if key == "recompute":
        if isinstance(value, bool) or text in _BOOL:
            return "full" if (value if isinstance(value, bool) else text in ("true", "1", "yes")
                              ) else "none"
        if text not in RECOMPUTE:
            raise LayoutError(f"--parallel: recompute must be none, selective or full (or "
                              f"true/false), found {value!r}")
        return text
    if key in ("sp", "flash", "overlap", "fsdp", "search"):
        if isinstance(value, bool):
            return value
        if text not in _BOOL:
            raise LayoutError(f"--parallel: {key} must be true or false, found {value!r}")
        return text in ("true", "1", "yes")
    if key == "zero":
        if isinstance(value, bool) or text in ("true", "false", "yes", "no"):
            return 1 if (value if isinstance(value, bool) else text in ("true", "yes")) else 0
        if text not in ("0", "1", "2", "3"):
            raise LayoutError(f"--parallel: zero must be a ZeRO stage 0-3 (or true/false), "
                              f"found {value!r}")
        return int(text)
    try:
        number = int(text)
    except ValueError:
        raise LayoutError(f"--parallel: {key} must be a whole number, found {value!r}") from None
    if number < 1:
        raise LayoutError(f"--parallel: {key} must be >= 1, found {number}")
    return number


def parse_items(text: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """The keys a ``--parallel`` string (or mapping) gives, normalised; ``fsdp=true`` is
    ``zero=3`` and ``mb`` is ``micro_batch``; ``a|b`` gives the values a search may take (a
    tuple)."""
    if text is None:
        return {}
    if isinstance(text, Layout):
        return {k: v for k, v in text.to_dict().items()}
    raw: dict[str, Any] = {}
    if isinstance(text, Mapping):
        raw = dict(text)
    else:
        for part in filter(None, (p.strip() for p in str(text).split(","))):
            key, sep, value = part.partition("=")
            if not sep or key.strip() not in LAYOUT_KEYS:
                raise LayoutError(f"--parallel {text!r}: expected keys dp, tp, pp, mb, recompute, "
                                  f"zero, fsdp, sp, vp, flash, overlap as KEY=VALUE, found "
                                  f"{part!r}")
            raw[key.strip()] = value
    items: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in LAYOUT_KEYS:
            raise LayoutError(f"--parallel: unknown key {key!r} (keys: {', '.join(LAYOUT_KEYS)})")
        name = "micro_batch" if key == "mb" else key
        kind = key if key != "micro_batch" else "mb"
        if isinstance(value, str) and "|" in value:
            items[name] = tuple(dict.fromkeys(_value(kind, v) for v in value.split("|")))
        elif isinstance(value, (tuple, list)):
            items[name] = tuple(dict.fromkeys(_value(kind, v) for v in value))
        else:
            items[name] = _value(kind, value)
    if items.pop("fsdp", False):
        if items.get("zero", 3) != 3:
            raise LayoutError("--parallel: fsdp=true is zero=3; drop one of them")
        items["zero"] = 3
    return items


def is_placement(items: Mapping[str, Any]) -> bool:
    """Whether the keys describe one layout (dp, tp or pp given, no ``search=true``, no
    alternatives) rather than what a search holds fixed."""
    return (any(k in items for k in PLACEMENT_KEYS) and not items.get("search")
            and not any(isinstance(v, tuple) for v in items.values()))


def parse_layout(text: str | Mapping[str, Any] | Layout, devices: int | None = None) -> Layout:
    """``"dp=64,tp=8,pp=4[,mb=1][,recompute=full][,zero=1][,sp=..][,vp=..][,flash=..]
    [,overlap=..]"``; a missing dp is inferred from ``devices``, other keys take the
    ``Layout`` defaults."""
    if isinstance(text, Layout):
        return text
    items = parse_items(text)
    items.pop("search", None)
    for key, value in items.items():
        if isinstance(value, tuple):
            raise LayoutError(f"--parallel: {key}={'|'.join(map(str, value))} lists alternatives; "
                              f"a layout takes one value (alternatives are for a search)")
    tp, pp = int(items.get("tp", 1)), int(items.get("pp", 1))
    if "dp" not in items:
        if devices is None or devices % (tp * pp):
            raise LayoutError(f"--parallel: give dp, or a device count divisible by tp x pp "
                              f"({tp} x {pp})")
        items["dp"] = devices // (tp * pp)
    items["tp"], items["pp"] = tp, pp
    layout = Layout(**items)
    if devices is not None and layout.devices != devices:
        raise LayoutError(f"--parallel: dp x tp x pp = {layout.dp} x {layout.tp} x {layout.pp} = "
                          f"{layout.devices}, but --devices is {devices}")
    return layout


FIELDS = ("dp", "tp", "pp", "mb", "rc", "zero", "sp", "vp", "flash", "overlap")


@attrs.frozen
class Layouts:
    """Many layouts as arrays (the search's unit of work); ``rc`` indexes ``RECOMPUTE``."""

    dp: np.ndarray
    tp: np.ndarray
    pp: np.ndarray
    mb: np.ndarray
    rc: np.ndarray
    zero: np.ndarray
    sp: np.ndarray
    vp: np.ndarray
    flash: np.ndarray
    overlap: np.ndarray

    @classmethod
    def of(cls, layouts: list[Layout]) -> Layouts:
        cols = {f: [] for f in FIELDS}
        for x in layouts:
            for f, v in zip(FIELDS, (x.dp, x.tp, x.pp, x.micro_batch,
                                     RECOMPUTE.index(x.recompute), x.zero, x.sp, x.vp, x.flash,
                                     x.overlap)):
                cols[f].append(v)
        return cls(**{f: np.array(v, dtype=bool if f in ("sp", "flash", "overlap")
                                  else np.int64) for f, v in cols.items()})

    @property
    def recompute(self) -> np.ndarray:
        """True where anything is recomputed (selective or full)."""
        return self.rc > NONE

    def __len__(self) -> int:
        return int(self.dp.size)

    def __getitem__(self, i: int) -> Layout:
        return Layout(int(self.dp[i]), int(self.tp[i]), int(self.pp[i]), int(self.mb[i]),
                      RECOMPUTE[int(self.rc[i])], int(self.zero[i]), bool(self.sp[i]),
                      int(self.vp[i]), bool(self.flash[i]), bool(self.overlap[i]))

    def select(self, mask: np.ndarray) -> Layouts:
        return Layouts(*(getattr(self, f)[mask] for f in FIELDS))

    @classmethod
    def concat(cls, parts: list[Layouts]) -> Layouts:
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in FIELDS))


def micro_batches(model: Transformer, ly: Layouts, batch_sequences: int | None = None):
    """Micro-batches per step per pipeline (ceil: a batch not divisible is padded)."""
    bs = batch_sequences or model.batch_sequences
    return np.ceil(bs / (ly.dp * ly.mb)).astype(np.int64)


def layers_per_stage(model: Transformer, ly: Layouts) -> np.ndarray:
    return np.ceil(model.layers / ly.pp).astype(np.int64)


def params_per_device(model: Transformer, ly: Layouts) -> np.ndarray:
    """Parameters on the busiest device: its stage's blocks and the embedding/head matrices
    split by tp; norms and positions replicated."""
    ls = layers_per_stage(model, ly)
    return (ls * model.layer_params() + model.embedding_params()) / ly.tp \
        + (model.block_norms * ls + 1) * model.norm_params() + model.position_params()


# ---------------------------------------------------------------------------------------------
# Collectives
# ---------------------------------------------------------------------------------------------


def _split(ic: Interconnect, group, stride) -> tuple[np.ndarray, np.ndarray]:
    """Members of a group in one node (g_in) and nodes it spans (g_out)."""
    g = np.asarray(group, dtype=np.float64)
    s = np.asarray(stride, dtype=np.float64)
    per_node = np.maximum(np.floor(ic.devices_per_node / s), 1.0)
    g_in = np.minimum(g, per_node)
    return g_in, np.ceil(g / g_in)


def _intra_bandwidth(ic: Interconnect, g_in: np.ndarray) -> np.ndarray:
    """B/s per device of a collective among g_in devices of one node (or one torus)."""
    eff = ic.intra_node_achievable_fraction
    if ic.topology == "torus":
        dims = np.clip(np.ceil(np.log(np.maximum(g_in, 1.0)) / np.log(ic.torus_side) - 1e-9),
                       1, 3)
        return 2.0 * dims * ic.link_bandwidth_gbs * 1e9 * eff
    return np.full_like(g_in, ic.intra_node_bandwidth_gbs * 1e9 * eff)


@attrs.frozen
class Traffic:
    """Time (s) of a collective and the bytes each device sends inside and between nodes."""

    time: np.ndarray
    intra_bytes: np.ndarray
    inter_bytes: np.ndarray

    def energy(self, ic: Interconnect) -> np.ndarray:
        """Link energy (J) per device."""
        return (self.intra_bytes * ic.intra_node_energy_pj_per_byte
                + self.inter_bytes * ic.inter_node_energy_pj_per_byte) * 1e-12

    def __mul__(self, k) -> Traffic:
        return Traffic(self.time * k, self.intra_bytes * k, self.inter_bytes * k)

    __rmul__ = __mul__

    def __add__(self, other: Traffic) -> Traffic:
        return Traffic(self.time + other.time, self.intra_bytes + other.intra_bytes,
                       self.inter_bytes + other.inter_bytes)


def collective(ic: Interconnect, nbytes, group, stride, kind: str = "all-reduce") -> Traffic:
    """A hierarchical ring ``all-reduce`` (or ``all-gather`` / ``reduce-scatter``: half the
    traffic and steps) of ``nbytes`` per device over ``group`` devices ``stride`` apart."""
    half = 0.5 if kind in ("all-gather", "reduce-scatter") else 1.0
    b = np.asarray(nbytes, dtype=np.float64)
    g_in, g_out = _split(ic, group, stride)
    f_in = np.where(g_in > 1, 2.0 * (g_in - 1) / g_in, 0.0) * half
    f_out = np.where(g_out > 1, 2.0 * (g_out - 1) / g_out, 0.0) * half
    bw_in = _intra_bandwidth(ic, g_in)
    bw_out = ic.inter_node_bandwidth_gbs * 1e9 * ic.inter_node_achievable_fraction
    intra = f_in * b
    inter = f_out * b / g_in
    t = intra / bw_in + inter / bw_out \
        + 2.0 * half * (np.maximum(g_in - 1, 0) * ic.intra_node_latency_us
                        + np.maximum(g_out - 1, 0) * ic.inter_node_latency_us) * 1e-6
    return Traffic(t, intra, inter)


def send(ic: Interconnect, nbytes, crosses_nodes) -> Traffic:
    """A point-to-point send of ``nbytes`` per device, inside a node or across the network."""
    b = np.asarray(nbytes, dtype=np.float64)
    out = np.asarray(crosses_nodes, dtype=bool)
    bw = np.where(out, ic.inter_node_bandwidth_gbs * ic.inter_node_achievable_fraction,
                  ic.intra_node_bandwidth_gbs * ic.intra_node_achievable_fraction) * 1e9
    if ic.topology == "torus":  # a neighbour: one link
        bw = np.where(out, bw, ic.link_bandwidth_gbs * 1e9 * ic.intra_node_achievable_fraction)
    lat = np.where(out, ic.inter_node_latency_us, ic.intra_node_latency_us) * 1e-6
    return Traffic(b / bw + lat, np.where(out, 0.0, b), np.where(out, b, 0.0))


def allreduce(nbytes, group, bw, lat):
    """(time s, bytes sent per device) of a flat ring all-reduce on links of ``bw`` B/s."""
    g = np.asarray(group, dtype=np.float64)
    frac = np.where(g > 1, 2.0 * (g - 1) / g, 0.0)
    return frac * nbytes / bw + 2.0 * np.maximum(g - 1, 0) * lat, frac * nbytes


def communication(model: Transformer, ly: Layouts, ic: Interconnect, act_bits: int,
                  grad_bits: int, weight_bits: int, seq: int | None = None) -> dict[str, Traffic]:
    """Raw (not yet overlapped) traffic per device: ``tp`` and ``pp`` per micro-batch, ``dp``
    per step (the ZeRO 0/1 gradient all-reduce, the stage-2 parameter all-gather), ``zero``
    per micro-batch (stage 2 gradient reduce-scatter, stage 3 gathers and reduce-scatter)."""
    seq = seq or model.seq_len
    ls = layers_per_stage(model, ly)
    act = ly.mb * seq * model.d_model * act_bits / 8.0
    per_dir = 1 if model.parallel_block else 2
    n_coll = np.where(ly.rc == FULL, 3 * per_dir, 2 * per_dir)
    tp = collective(ic, act, ly.tp, 1) * (n_coll * ls)
    crosses = ly.tp * ly.pp > ic.devices_per_node
    pp = send(ic, act / ly.tp, crosses) * np.where(ly.pp > 1, 2.0 * ly.vp, 0.0)
    p = params_per_device(model, ly)
    grads, weights = p * grad_bits / 8.0, p * weight_bits / 8.0
    stride = ly.tp * ly.pp
    allreduce_ = collective(ic, grads, ly.dp, stride)
    gather = collective(ic, weights, ly.dp, stride, "all-gather")
    scatter = collective(ic, grads, ly.dp, stride, "reduce-scatter")
    z0, z2, z3 = ly.zero <= 1, ly.zero == 2, ly.zero == 3
    dp = allreduce_ * z0 + gather * z2
    zero = scatter * (z2 | z3) + gather * (2.0 * z3)
    return {"tp": tp, "pp": pp, "dp": dp, "zero": zero}


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------


def activation_bytes(model: Transformer, ly: Layouts, act_bits: int, seq: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(bytes kept per block and micro-batch for the backward pass, bytes of one block's full
    forward set): the tensors the backward pass reads, summed one by one."""
    s, b, h, t = float(seq), ly.mb.astype(np.float64), model.d_model, ly.tp.astype(np.float64)
    e = act_bits / 8.0                      # bytes per activation element
    sbh = s * b * h
    rep = np.where(ly.sp, t, 1.0)           # norm/residual tensors: split by tp under sp
    heads = model.heads / t
    kv = np.ceil(model.kv_heads / t)
    q_kv = s * b * (heads + 2 * kv) * model.d_head
    ffn_in = (model.ffn_matrices - 1) * model.ffn_hidden / t
    mask = 1.0 if model.dropout else 0.0    # dropout masks: one byte per element
    norms = model.block_norms
    causal = np.where(ly.flash, 0.0, 1.0)
    # attention core: scores' softmax output (and the dropout mask and output) per head
    core = causal * heads * s * s * b * (e + mask * (1.0 + e))
    # flash keeps the softmax statistics (fp32, one per row and head) instead
    lse = np.where(ly.flash, heads * s * b * 4.0, 0.0)
    blocks = (norms * sbh * e / rep          # norm inputs
              + norms * sbh * e / rep        # normed outputs (QKV and MLP inputs)
              + q_kv * e                     # Q, K, V
              + sbh * model.attn_width / h / t * e   # attention output (out-proj input)
              + 2 * mask * sbh / rep         # residual-branch dropout masks
              + s * b * ffn_in * e           # MLP-in output
              + s * b * model.ffn_hidden / t * e)    # activation output (MLP-out input)
    full = blocks + core + lse
    kept_rc = np.where(ly.rc == FULL, sbh * e / rep,
                       np.where(ly.rc == SELECTIVE, blocks + lse, full))
    return kept_rc, full


def training_memory(model: Transformer, ly: Layouts, weight_bits: int, act_bits: int,
                    local: bool = False, seq: int | None = None) -> dict[str, np.ndarray]:
    """Bytes per device on the busiest (first) pipeline stage."""
    seq = seq or model.seq_len
    p = params_per_device(model, ly)
    wbytes = weight_bits / 8.0
    opt_per = OPTIMIZER_BYTES_FP32 if weight_bits >= 32 else OPTIMIZER_BYTES_MIXED
    dp = ly.dp.astype(np.float64)
    block = model.layer_params() / ly.tp * wbytes
    weights = np.where(ly.zero == 3, p * wbytes / dp + 2.0 * block, p * wbytes)
    grads = np.where(ly.zero >= 2, p * wbytes / dp + block, p * wbytes)
    if local:
        grads = np.zeros_like(p)
    optimizer = p * opt_per / np.where(ly.zero >= 1, dp, 1.0)
    kept, full = activation_bytes(model, ly, act_bits, seq)
    inflight = np.minimum(micro_batches(model, ly), ly.pp) \
        * np.where(ly.vp > 1, 1.0 + (ly.pp - 1) / (ly.pp * ly.vp), 1.0)
    if local:  # no backward pass: nothing is stored beyond the block being computed
        activations = full
    else:
        activations = layers_per_stage(model, ly) * inflight * kept \
            + np.where(ly.rc == FULL, full, 0.0)
    total = weights + grads + optimizer + activations
    return {"weights_bytes": weights, "gradients_bytes": grads, "optimizer_bytes": optimizer,
            "activations_bytes": activations, "total_bytes": total}


def serving_memory(model: Transformer, tp, batch, context, weight_bits: int, kv_bits: int,
                   block_tokens: int = 1) -> dict[str, np.ndarray]:
    """Weights and KV cache per device of a tensor-parallel serving replica; the cache is
    allocated in blocks of ``block_tokens`` tokens per sequence (paged attention)."""
    tp = np.asarray(tp, dtype=np.float64)
    weights = model.params * weight_bits / 8.0 / tp
    kv_heads = np.ceil(model.kv_heads / tp)
    tokens = np.ceil(np.asarray(context, dtype=np.float64) / block_tokens) * block_tokens
    kv = 2.0 * batch * tokens * model.layers * kv_heads * model.d_head * kv_bits / 8.0
    return {"weights_bytes": weights, "kv_cache_bytes": kv, "total_bytes": weights + kv}


def kv_bytes_per_token(model: Transformer, tp: int, kv_bits: int) -> float:
    """KV-cache bytes one token of context holds on each device of a tp replica."""
    return 2.0 * model.layers * np.ceil(model.kv_heads / tp) * model.d_head * kv_bits / 8.0


# ---------------------------------------------------------------------------------------------
# The search space
# ---------------------------------------------------------------------------------------------


def enumerate_layouts(model: Transformer, devices: int, *, micro_batches_options=MICRO_BATCHES,
                      max_tp: int | None = None, even_batch: bool | None = None,
                      fixed: Mapping[str, Any] | None = None) -> Layouts:
    """Every dp x tp x pp = devices (tp dividing the heads, pp <= layers) with every
    micro-batch size, recomputation, ZeRO stage, sequence parallelism (tp > 1), interleaving
    (vp dividing the layers per stage, micro-batches a multiple of pp), FlashAttention and
    overlap on; keys in ``fixed`` (parsed ``--parallel`` items) are held at their value.

    The global batch must split evenly over dp x micro-batch; when no layout allows that
    (``even_batch=None``), layouts with dp x micro-batch <= the batch are taken and the last
    micro-batch is padded."""
    fixed = {k: v for k, v in dict(fixed or {}).items() if k != "search"}
    if even_batch is None:
        try:
            return enumerate_layouts(model, devices, micro_batches_options=micro_batches_options,
                                     max_tp=max_tp, even_batch=True, fixed=fixed)
        except LayoutError:
            return enumerate_layouts(model, devices, micro_batches_options=micro_batches_options,
                                     max_tp=max_tp, even_batch=False, fixed=fixed)
    def allowed(key: str, default):
        if key not in fixed:
            return tuple(default)
        v = fixed[key]
        return v if isinstance(v, tuple) else (v,)

    mbs = allowed("micro_batch", micro_batches_options)
    rcs = tuple(RECOMPUTE.index(r) for r in allowed("recompute", RECOMPUTE))
    zeros = allowed("zero", range(4))
    flashes = allowed("flash", (True,))
    overlaps = allowed("overlap", (True,))
    rows = []
    for tp in range(1, devices + 1):
        if devices % tp or model.heads % tp or (max_tp and tp > max_tp):
            continue
        if tp not in allowed("tp", (tp,)):
            continue
        sps = tuple(x for x in allowed("sp", (False, True)) if tp > 1 or not x)
        rest = devices // tp
        for pp in range(1, min(rest, model.layers) + 1):
            if rest % pp or pp not in allowed("pp", (pp,)):
                continue
            dp = rest // pp
            if dp not in allowed("dp", (dp,)):
                continue
            ls = -(-model.layers // pp)
            vps = tuple(v for v in allowed("vp", VIRTUAL_STAGES)
                        if v == 1 or (pp > 1 and ls % v == 0))
            for mb in mbs:
                if (model.batch_sequences % (dp * mb) if even_batch
                        else dp * mb > model.batch_sequences):
                    continue
                nm = -(-model.batch_sequences // (dp * mb))
                for vp in vps:
                    if vp > 1 and nm % pp:
                        continue
                    for rc in rcs:
                        for z in zeros:
                            for sp in sps:
                                for fl in flashes:
                                    for ov in overlaps:
                                        rows.append((dp, tp, pp, mb, rc, z, sp, vp, fl, ov))
    if not rows:
        raise LayoutError(f"no parallel layout of {devices} devices suits {model.name}: tp must "
                          f"divide its {model.heads} heads, pp <= {model.layers} layers, and "
                          f"dp x micro-batch divide its global batch of "
                          f"{model.batch_sequences} sequences"
                          + (f" (with {_fixed_text(fixed)} held)" if fixed else "")
                          + "; try another device count")
    a = np.array(rows, dtype=np.int64)
    return Layouts(*(a[:, i].astype(bool) if f in ("sp", "flash", "overlap") else a[:, i]
                     for i, f in enumerate(FIELDS)))


def _fixed_text(fixed: Mapping[str, Any]) -> str:
    def show(v: Any) -> str:
        if isinstance(v, tuple):
            return "|".join(show(x) for x in v)
        return str(v).lower() if isinstance(v, bool) else str(v)
    return ",".join(f"{k}={show(v)}" for k, v in fixed.items())
