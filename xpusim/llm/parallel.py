"""Parallel layouts: data (dp), tensor (tp) and pipeline (pp) parallelism, micro-batches,
activation recomputation and optimizer-state sharding; communication and memory per device.

Everything is vectorised over a ``Layouts`` struct of arrays so a search prices thousands of
layouts at once. Placement: tensor-parallel groups are innermost (consecutive devices), then
pipeline stages, then data-parallel replicas; a group stays on the fast intra-node links when it
fits in ``devices_per_node`` devices, else it crosses the network.

Communication (ring algorithms; Megatron-LM tensor parallelism, Shoeybi et al. 2019):
  all-reduce of B bytes over G devices: 2 (G-1)/G x B / bw + 2 (G-1) x latency
  per block and micro-batch: 2 all-reduces of the activations forward, 2 backward (+2 when the
  forward is recomputed); pipeline: one point-to-point send of the activations per stage
  boundary forward and one backward; data parallel: one all-reduce of the gradients per step
  (reduce-scatter + all-gather with optimizer sharding: the same volume), not overlapped.
Pipeline: 1F1B schedule, step time = (micro-batches + pp - 1) x time per micro-batch
(Narayanan et al. 2021, bubble fraction (pp-1)/m).

Memory per device (Rajbhandari et al. 2020, ZeRO; Korthikanti et al. 2022):
  weights and gradients in the compute format, optimizer states 12 B/param (fp32 master + Adam
  m, v; 8 B when training in fp32), divided by dp with optimizer sharding;
  activations per block and micro-batch s b h (10 + 24/tp + 5 a s/(h tp)) bytes at 16 bits
  (scaled by bits/16), 2 s b h bytes when recomputed (+ one block's full set as working space);
  the first pipeline stage holds min(micro-batches, pp) micro-batches in flight.
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


class LayoutError(XpusimError):
    """A parallel layout that is malformed or does not fit the devices."""


@attrs.frozen
class Layout:
    """One parallel layout (what ``--parallel dp=..,tp=..,pp=..`` describes)."""

    dp: int
    tp: int
    pp: int
    micro_batch: int = 1
    recompute: bool = True
    zero: bool = True

    @property
    def devices(self) -> int:
        return self.dp * self.tp * self.pp

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


LAYOUT_KEYS = {"dp": int, "tp": int, "pp": int, "mb": int, "micro_batch": int,
               "recompute": bool, "zero": bool}


def parse_layout(text: str | Mapping[str, Any], devices: int | None = None) -> Layout:
    """``"dp=64,tp=8,pp=4[,mb=1][,recompute=true][,zero=true]"``; a missing dp is inferred
    from ``devices``."""
    if isinstance(text, Layout):
        return text
    items: dict[str, Any] = dict(text) if isinstance(text, Mapping) else {}
    if isinstance(text, str):
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or key not in LAYOUT_KEYS:
                raise LayoutError(f"--parallel {text!r}: expected keys dp, tp, pp, mb, recompute, "
                                  f"zero as KEY=VALUE, found {part!r}")
            value = value.strip().lower()
            if LAYOUT_KEYS[key] is bool:
                if value not in ("true", "false", "1", "0", "yes", "no"):
                    raise LayoutError(f"--parallel: {key} must be true or false, found {value!r}")
                items[key] = value in ("true", "1", "yes")
            else:
                try:
                    items[key] = int(value)
                except ValueError:
                    raise LayoutError(f"--parallel: {key} must be a whole number, "
                                      f"found {value!r}") from None
    if "mb" in items:
        items["micro_batch"] = items.pop("mb")
    tp, pp = int(items.get("tp", 1)), int(items.get("pp", 1))
    if "dp" not in items:
        if devices is None or devices % (tp * pp):
            raise LayoutError(f"--parallel: give dp, or a device count divisible by tp x pp "
                              f"({tp} x {pp})")
        items["dp"] = devices // (tp * pp)
    layout = Layout(dp=int(items["dp"]), tp=tp, pp=pp,
                    micro_batch=int(items.get("micro_batch", 1)),
                    recompute=bool(items.get("recompute", True)),
                    zero=bool(items.get("zero", True)))
    for key in ("dp", "tp", "pp", "micro_batch"):
        if getattr(layout, key) < 1:
            raise LayoutError(f"--parallel: {key} must be >= 1, found {getattr(layout, key)}")
    if devices is not None and layout.devices != devices:
        raise LayoutError(f"--parallel: dp x tp x pp = {layout.dp} x {layout.tp} x {layout.pp} = "
                          f"{layout.devices}, but --devices is {devices}")
    return layout


@attrs.frozen
class Layouts:
    """Many layouts as arrays (the search's unit of work)."""

    dp: np.ndarray
    tp: np.ndarray
    pp: np.ndarray
    mb: np.ndarray
    recompute: np.ndarray
    zero: np.ndarray

    @classmethod
    def of(cls, layouts: list[Layout]) -> Layouts:
        return cls(*(np.array([getattr(x, f) for x in layouts]) for f in
                     ("dp", "tp", "pp", "micro_batch", "recompute", "zero")))

    def __len__(self) -> int:
        return int(self.dp.size)

    def __getitem__(self, i: int) -> Layout:
        return Layout(int(self.dp[i]), int(self.tp[i]), int(self.pp[i]), int(self.mb[i]),
                      bool(self.recompute[i]), bool(self.zero[i]))

    def select(self, mask: np.ndarray) -> Layouts:
        return Layouts(*(getattr(self, f)[mask] for f in
                         ("dp", "tp", "pp", "mb", "recompute", "zero")))


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
        + (2 * ls + 1) * model.norm_params() + model.position_params()


def _link(ic: Interconnect, group_span: np.ndarray):
    intra = group_span <= ic.devices_per_node
    bw = np.where(intra, ic.intra_node_bandwidth_gbs, ic.inter_node_bandwidth_gbs) * 1e9
    lat = np.where(intra, ic.intra_node_latency_us, ic.inter_node_latency_us) * 1e-6
    pj = np.where(intra, ic.intra_node_energy_pj_per_byte, ic.inter_node_energy_pj_per_byte)
    return bw, lat, pj * 1e-12


def allreduce(nbytes, group, bw, lat):
    """(time s, bytes sent per device) of a ring all-reduce."""
    g = np.asarray(group, dtype=np.float64)
    frac = np.where(g > 1, 2.0 * (g - 1) / g, 0.0)
    return frac * nbytes / bw + 2.0 * np.maximum(g - 1, 0) * lat, frac * nbytes


def communication(model: Transformer, ly: Layouts, ic: Interconnect, act_bits: int,
                  grad_bits: int, seq: int | None = None) -> dict[str, np.ndarray]:
    """Per-layout communication: time per micro-batch (tp, pp), per step (dp), and bytes sent
    per device with their energy per byte."""
    seq = seq or model.seq_len
    act = ly.mb * seq * model.d_model * act_bits / 8.0
    bw, lat, e_tp = _link(ic, ly.tp)
    n_ar = np.where(ly.recompute, 6, 4)
    t1, b1 = allreduce(act, ly.tp, bw, lat)
    tp_time = n_ar * t1 * layers_per_stage(model, ly)
    tp_bytes = n_ar * b1 * layers_per_stage(model, ly)
    bw, lat, e_pp = _link(ic, ly.tp * ly.pp)
    pp_time = np.where(ly.pp > 1, 2.0 * (act / bw + lat), 0.0)
    pp_bytes = np.where(ly.pp > 1, 2.0 * act, 0.0)
    bw, lat, e_dp = _link(ic, ly.tp * ly.pp * ly.dp)
    grads = params_per_device(model, ly) * grad_bits / 8.0
    dp_time, dp_bytes = allreduce(grads, ly.dp, bw, lat)
    return {"tp_s": tp_time, "pp_s": pp_time, "dp_s": dp_time,
            "tp_bytes": tp_bytes, "pp_bytes": pp_bytes, "dp_bytes": dp_bytes,
            "tp_j_per_byte": e_tp, "pp_j_per_byte": e_pp, "dp_j_per_byte": e_dp}


def training_memory(model: Transformer, ly: Layouts, weight_bits: int, act_bits: int,
                    local: bool = False, seq: int | None = None) -> dict[str, np.ndarray]:
    """Bytes per device on the busiest (first) pipeline stage."""
    seq = seq or model.seq_len
    p = params_per_device(model, ly)
    wbytes = weight_bits / 8.0
    opt_per = OPTIMIZER_BYTES_FP32 if weight_bits >= 32 else OPTIMIZER_BYTES_MIXED
    weights = p * wbytes
    grads = p * wbytes if not local else np.zeros_like(p)
    optimizer = p * opt_per / np.where(ly.zero, ly.dp, 1)
    s, b, h, a = seq, ly.mb, model.d_model, model.heads
    full = s * b * h * (10.0 + 24.0 / ly.tp + 5.0 * a * s / (h * ly.tp)) * act_bits / 16.0
    kept = np.where(ly.recompute, 2.0 * s * b * h * act_bits / 16.0, full)
    inflight = np.minimum(micro_batches(model, ly), ly.pp)
    if local:  # no backward pass: nothing is stored beyond the block being computed
        activations = full
    else:
        activations = layers_per_stage(model, ly) * inflight * kept \
            + np.where(ly.recompute, full, 0.0)
    total = weights + grads + optimizer + activations
    return {"weights_bytes": weights, "gradients_bytes": grads, "optimizer_bytes": optimizer,
            "activations_bytes": activations, "total_bytes": total}


def serving_memory(model: Transformer, tp, batch, context, weight_bits: int, kv_bits: int
                   ) -> dict[str, np.ndarray]:
    """Weights and KV cache per device of a tensor-parallel serving replica."""
    tp = np.asarray(tp, dtype=np.float64)
    weights = model.params * weight_bits / 8.0 / tp
    kv_heads = np.ceil(model.kv_heads / tp)
    kv = 2.0 * batch * context * model.layers * kv_heads * model.d_head * kv_bits / 8.0
    return {"weights_bytes": weights, "kv_cache_bytes": kv, "total_bytes": weights + kv}


def enumerate_layouts(model: Transformer, devices: int, *, micro_batches_options=(1, 2, 4, 8),
                      max_tp: int | None = None, even_batch: bool | None = None) -> Layouts:
    """Every dp x tp x pp = devices with tp dividing the heads, pp <= layers, each micro-batch
    size, recomputation on/off and optimizer sharding on/off. The global batch must split
    evenly over dp x micro-batch; when no layout allows that (``even_batch=None``), layouts
    with dp x micro-batch <= the batch are taken and the last micro-batch is padded."""
    if even_batch is None:
        try:
            return enumerate_layouts(model, devices, micro_batches_options=micro_batches_options,
                                     max_tp=max_tp, even_batch=True)
        except LayoutError:
            return enumerate_layouts(model, devices, micro_batches_options=micro_batches_options,
                                     max_tp=max_tp, even_batch=False)
    rows = []
    for tp in range(1, devices + 1):
        if devices % tp or model.heads % tp or (max_tp and tp > max_tp):
            continue
        rest = devices // tp
        for pp in range(1, min(rest, model.layers) + 1):
            if rest % pp:
                continue
            dp = rest // pp
            for mb in micro_batches_options:
                if (model.batch_sequences % (dp * mb) if even_batch
                        else dp * mb > model.batch_sequences):
                    continue
                for rc in (False, True):
                    for z in (False, True):
                        rows.append((dp, tp, pp, mb, rc, z))
    if not rows:
        raise LayoutError(f"no parallel layout of {devices} devices suits {model.name}: tp must "
                          f"divide its {model.heads} heads, pp <= {model.layers} layers, and "
                          f"dp x micro-batch divide its global batch of "
                          f"{model.batch_sequences} sequences; try another device count")
    a = np.array(rows, dtype=np.int64)
    return Layouts(a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4].astype(bool), a[:, 5].astype(bool))
