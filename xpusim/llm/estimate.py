"""LLM-scale estimates: training and serving time, energy, money, CO2, priced by the backend.

One cost model, two uses: the analytic rows of ``traces.py`` are priced by the spec's own cost
kernel (``CostModel.price``), exactly as a functional run's trace is; thousands of layouts are
priced in one call by concatenating their rows. Communication comes from the spec's
``[interconnect]`` table (``parallel.py``). Every modelling choice that is not in the spec is
listed under ``assumptions`` in the result.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import attrs
import numpy as np

from xpusim.core.capabilities import Capabilities
from xpusim.core.errors import CostError, XpusimError
from xpusim.core.plugins import get_plugin_manager
from xpusim.core.pricing import price_columns
from xpusim.core.specs import Interconnect
from xpusim.core.trace import PHASES, PRIMITIVES

from . import inputs, traces
from .model import Transformer, load_model
from .parallel import (DEFAULT_INTERCONNECT, FULL, SELECTIVE, Layout, LayoutError, Layouts,
                       collective, communication, is_placement, layers_per_stage, micro_batches,
                       params_per_device, parse_items, parse_layout, serving_memory,
                       training_memory)
from .stacks import FA_PRODUCTS, Stack, attention_flops, attention_speed, get_stack

DEFAULT_PUE = 1.1
"""Patterson et al. 2021 (Carbon Emissions and Large Neural Network Training): PUE 1.1 of the
data centre GPT-3 was trained in (Table 4); Google fleet average ~1.1."""
DEFAULT_GRID_KG_PER_KWH = 0.429
"""Patterson et al. 2021, Table 4: 0.429 kg CO2e/kWh, the grid GPT-3 was trained on."""
MEMORY_HEADROOM = 0.1
"""assumption: 10 % of device memory is lost to the framework, buffers and fragmentation."""



class OutOfMemoryError(XpusimError):
    """A layout or serving configuration that does not fit in device memory."""


# ---------------------------------------------------------------------------------------------
# Hardware: spec + cost model + formats, resolved once and cached
# ---------------------------------------------------------------------------------------------


@attrs.frozen(eq=False)
class Hardware:
    """A spec resolved once: its cost model, operand formats and declared capabilities."""

    spec: Any
    cost: Any
    formats: dict
    capabilities: Capabilities
    interconnect: Interconnect
    assumptions: tuple[str, ...]
    fp8: bool = False
    """Weight GEMMs in fp8, the rest in the 16-bit format (Transformer Engine's recipe)."""
    storage_bits: int = 16
    """Bits of weights and activations as stored (the 16-bit format under fp8)."""

    def fmt(self, primitive: str, phase: str) -> tuple[int, str]:
        return self.formats[(primitive, phase)]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def compute_format(self) -> str:
        return self.fmt("mvm", "train-forward")[1]

    @property
    def peak_flops(self) -> float | None:
        """Declared dense peak of the compute format (FLOP/s), None when undeclared."""
        return self.capabilities.peak(self.compute_format)

    @property
    def memory_bytes(self) -> float | None:
        return self.capabilities.memory_bytes

    @property
    def weight_capacity(self) -> float | None:
        return self.capabilities.weight_capacity


@functools.lru_cache(maxsize=4)
def _pm():
    return get_plugin_manager()


def _formats_of(pm, spec) -> dict:
    info = pm.backend(spec.backend)
    kernels = pm.compute_kernels(spec)
    device = info.device(spec, kernels, np.random.default_rng(0), primitives=info.primitives)
    return {(p, ph): tuple(device.operand_format(p, ph)) for p in PRIMITIVES for ph in PHASES}


GEMM_PRIMS = ("mvm", "mvm_t", "update")


def _fp8_formats(pm, name: str, overrides: tuple[str, ...], spec, formats: dict
                 ) -> tuple[dict, list[str]]:
    """``formats`` with the weight GEMMs in fp8: e4m3 forward, e5m2 for the error and weight
    gradients where the spec declares e5m2 (Micikevicius et al. 2022, FP8 Formats for Deep
    Learning: the HYBRID recipe)."""
    caps = pm.capabilities(spec)
    sets = caps.format_settings.get("fp8-e4m3")
    if sets is None:
        raise XpusimError(f"spec {name!r} declares no way to compute in fp8-e4m3 (it offers "
                          f"{', '.join(caps.format_settings) or 'none'}): fp8 training needs it")
    f8 = _formats_of(pm, pm.load_spec(name, [*overrides, *sets]))
    out = dict(formats)
    e5m2 = caps.peak("fp8-e5m2") is not None
    for (prim, phase), fmt in f8.items():
        if prim in GEMM_PRIMS:
            out[(prim, phase)] = (8, "fp8-e5m2") if (e5m2 and prim != "mvm") else fmt
    return out, ["fp8: weight GEMMs in fp8 (e4m3 forward" + (
        ", e5m2 error and weight gradients" if e5m2 else "") + "), attention and elementwise "
        f"work in {formats[('mvm', 'train-forward')][1]}; fp8 casts of every GEMM input (and, "
        "training, of the weights once per step) priced"]


def _mixed_precision(pm, name: str, overrides: tuple[str, ...], precision: str
                     ) -> tuple[Any, list[str]]:
    """The spec with the settings its backend declares for ``precision`` applied
    (``auto``: the first of bf16, fp16 it declares; ``spec``: as written)."""
    if precision == "fp8":
        precision = "auto"
    spec = pm.load_spec(name, list(overrides))
    if precision == "spec":
        return spec, []
    settings = pm.capabilities(spec).format_settings
    given = {o.split("=")[0].strip() for o in overrides}
    wanted = ("bf16", "fp16") if precision == "auto" else (precision,)
    for fmt in wanted:
        sets = settings.get(fmt)
        if sets is None:
            continue
        if given & {s.split("=")[0] for s in sets}:
            return spec, []  # the user chose the format with --set
        trial = pm.load_spec(name, [*overrides, *sets])
        return trial, [f"mixed precision: {' '.join(sets)} (set by the estimate; pass --set to "
                       f"choose)"]
    if precision != "auto":
        raise XpusimError(f"spec {name!r} declares no way to compute in {precision!r} (it "
                          f"offers {', '.join(settings) or 'none'}); use --set")
    return spec, []


@functools.lru_cache(maxsize=64)
def resolve_hardware(name: str, overrides: tuple[str, ...] = (),
                     precision: str = "auto") -> Hardware:
    """Load ``name`` with ``overrides``; ``precision="auto"`` trains/serves in the spec's
    best declared 16-bit float setting (``Capabilities.format_settings``) unless --set
    chose one."""
    pm = _pm()
    spec, assumptions = _mixed_precision(pm, name, tuple(overrides), precision)
    cost = pm.cost_model(spec)
    caps = pm.capabilities(spec)
    formats = _formats_of(pm, spec)
    storage_bits = formats[("mvm", "train-forward")][0]
    if precision == "fp8":
        formats, notes = _fp8_formats(pm, name, tuple(overrides), spec, formats)
        assumptions += notes
    fmt = formats[("mvm", "train-forward")][1]
    if caps.peak(fmt) is None:
        assumptions.append(f"the spec declares no peak rate in {fmt}: MFU is not reported")
    if caps.memory_bytes is None:
        assumptions.append("the spec declares no off-chip memory: activations, KV cache and "
                           "optimizer state are not checked against a capacity")
    ic = spec.interconnect
    if ic is None:
        ic = DEFAULT_INTERCONNECT
        assumptions.append("the spec has no [interconnect] table: assumption 100 GB/s in a node "
                           "of 8, 12.5 GB/s between nodes, 2/5 us latency, 8/80 pJ/B")
    elif ic.topology == "torus":
        assumptions.append(f"interconnect: {ic.devices_per_node}-device torus of side "
                           f"{ic.torus_side} ({ic.link_bandwidth_gbs:g} GB/s links), "
                           f"{ic.inter_node_bandwidth_gbs:g} GB/s per device between tori")
    return Hardware(spec, cost, formats, caps, ic, tuple(assumptions), fp8=precision == "fp8",
                    storage_bits=storage_bits)


PRICED = ("phase", "primitive", "m", "n", "k", "bits", "fmt")


def price_parts(parts: list[dict[str, np.ndarray]], hw: Hardware
                ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Time (s) and energy (J, static power over the row's time included) of every row of
    every part (each of shape (rows, layouts)): all parts in one ``price_columns`` call, each
    row repeated its ``mult`` times. Rows of size zero (a switch that is off in some layouts)
    cost nothing."""
    flat = {c: np.concatenate([p[c].reshape(-1) for p in parts]) for c in PRICED}
    mult = np.concatenate([p["mult"].reshape(-1) for p in parts])
    flat["count"] = np.where(flat["m"] > 0, mult, 0).astype(np.int64)
    try:
        rows = price_columns(hw.cost, flat, hw.name)
    except CostError as exc:
        raise CostError(f"{exc} (needed by the LLM trace)") from None
    out, start = [], 0
    for p in parts:
        n = p["m"].size
        out.append((rows.time_s[start:start + n].reshape(p["m"].shape),
                    rows.energy_j[start:start + n].reshape(p["m"].shape)))
        start += n
    return out


def price_rows(cols: dict[str, np.ndarray], hw: Hardware) -> tuple[np.ndarray, np.ndarray]:
    """``price_parts`` of one part."""
    return price_parts([cols], hw)[0]


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


ROW_KEYS = ("tp", "mb", "rc", "sp", "flash")
"""What a layout's priced rows depend on: layouts sharing these share their rows."""


def _unique(ly: Layouts) -> tuple[np.ndarray, np.ndarray]:
    keys = np.stack([getattr(ly, k).astype(np.int64) for k in ROW_KEYS], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)


def _per_unit(values: np.ndarray, cols, scope: int, phases: tuple[str, ...]) -> np.ndarray:
    sel = (cols["scope"] == scope) & np.isin(cols["phase"], [PHASES.index(p) for p in phases])
    return (values * sel).sum(axis=0)


def _hidden(raw: np.ndarray, behind: np.ndarray, buckets: np.ndarray) -> np.ndarray:
    """Exposed time of traffic overlapped with ``behind`` seconds of compute: what does not
    fit, and at least the last of ``buckets`` equal buckets (it has nothing left to hide
    behind)."""
    return np.maximum(raw - behind, raw / np.maximum(buckets, 1))


def _measured_attention(model: Transformer, hw: Hardware, stack: Stack, uniq: np.ndarray,
                        t: np.ndarray, rows: dict[str, np.ndarray], local: bool
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(forward, backward) seconds per block and micro-batch by which the stack's measured
    attention kernel changes the priced attention rows of each distinct layout (0 where the
    stack prices the rows, or no speed was published for the spec)."""
    n = uniq.shape[0]
    d_fwd, d_bwd = np.zeros(n), np.zeros(n)
    att = rows["part"] == traces.PART_ATTENTION
    if not att.any():
        return d_fwd, d_bwd
    F = PHASES.index("train-forward")
    is_f = rows["phase"] == F
    seq = model.seq_len
    for j in range(n):
        tp, mb, rc, _, flash = (int(x) for x in uniq[j])
        speed = attention_speed(stack.kernel(bool(flash)), hw.name, seq, model.d_head)
        if speed is None:
            continue
        fwd = attention_flops(seq, model.d_head, model.heads / tp, mb) / speed
        again = 0.0 if local else float(rc == FULL or (rc == SELECTIVE and not flash))
        bwd = 0.0 if local else (FA_PRODUCTS - 1.0 + again) * fwd
        d_fwd[j] = fwd - (t[:, j] * (att[:, j] & is_f[:, j])).sum()
        d_bwd[j] = bwd - (t[:, j] * (att[:, j] & ~is_f[:, j])).sum()
    return d_fwd, d_bwd


def evaluate_layouts(model: Transformer, hw: Hardware, ly: Layouts, *, local: bool = False,
                     stack: Stack | str | None = None) -> dict[str, np.ndarray]:
    """Step time, its parts, energy and memory of every layout (vectorised: the rows of the
    distinct (tp, micro-batch, recompute, sp, flash) combinations and the optimizer passes
    priced in one cost-kernel call), as the software ``stack`` runs them (``stacks.py``;
    None: ``ideal``)."""
    fm = hw.fmt
    stack = get_stack(stack)
    uniq, inv = _unique(ly)
    rows = traces.training_rows(model, fm, uniq[:, 0], uniq[:, 1], recompute=uniq[:, 2],
                                backward=not local, sp=uniq[:, 3].astype(bool),
                                flash=uniq[:, 4].astype(bool), fp8=hw.fp8, loss=stack.loss)
    p_dev = params_per_device(model, ly)
    p_opt = p_dev / np.where(ly.zero >= 1, ly.dp, 1)
    opt_vals, opt_inv = np.unique(p_opt, return_inverse=True)
    opt = traces.optimizer_rows(opt_vals, fm, hw.fp8)
    (t, e), (to, eo) = price_parts([rows, opt], hw)
    F, B, U = "train-forward", "train-backward", "train-update"
    static = hw.cost.static_power_w
    if stack.gemm_efficiency != 1.0:  # the stack's GEMMs (and products priced as rows) slower
        products = np.isin(rows["primitive"], [traces.PRIMITIVE[p] for p in
                                                 (*GEMM_PRIMS, "matmul")])
        extra = np.where(products, t * (1.0 / stack.gemm_efficiency - 1.0), 0.0)
        t, e = t + extra, e + static * extra
    # a measured attention kernel replaces the priced attention rows' time; the rows' work
    # (dynamic energy) stays, static power follows the time
    d_fwd, d_bwd = _measured_attention(model, hw, stack, uniq, t, rows, local)
    t_fwd = (_per_unit(t, rows, traces.LAYER, (F,)) + d_fwd)[inv]
    t_bwd = (_per_unit(t, rows, traces.LAYER, (B, U)) + d_bwd)[inv]
    t_head = _per_unit(t, rows, traces.HEAD, (F, B, U))[inv]
    e_layer = (_per_unit(e, rows, traces.LAYER, (F, B, U)) + static * (d_fwd + d_bwd))[inv]
    e_head = _per_unit(e, rows, traces.HEAD, (F, B, U))[inv]
    t_opt, e_opt = to.sum(axis=0)[opt_inv.reshape(-1)], eo.sum(axis=0)[opt_inv.reshape(-1)]
    t_layer = t_fwd + t_bwd
    bits = hw.storage_bits
    grad_bits = fm("update", "train-update")[0] if not hw.fp8 else bits
    ic = hw.interconnect
    comm = communication(model, ly, ic, bits, grad_bits, bits)
    nm = micro_batches(model, ly)
    ls = layers_per_stage(model, ly)
    tp_c, pp_c, dp_c, zero_c = comm["tp"], comm["pp"], comm["dp"], comm["zero"]
    if local:  # no backward traffic: forward tp collectives and forward pipeline sends only
        per_dir = 1 if model.parallel_block else 2
        tp_c = tp_c * (per_dir / np.where(ly.rc == FULL, 3 * per_dir, 2 * per_dir))
        pp_c = pp_c * 0.5
    fwd_mb, bwd_mb = ls * t_fwd, ls * t_bwd
    t_compute_mb = ls * t_layer + t_head
    # data-parallel traffic, exposed: ZeRO 0/1 all-reduce behind the last micro-batch's
    # backward; stage 2/3 reduce-scatter behind each backward, stage 3 gathers behind compute
    p_bytes = p_dev * bits / 8.0
    stride = ly.tp * ly.pp
    gather = collective(ic, p_bytes, ly.dp, stride, "all-gather").time
    scatter = collective(ic, p_dev * grad_bits / 8.0, ly.dp, stride, "reduce-scatter").time
    on = ly.overlap
    dp_exposed = np.where(on & (ly.zero <= 1), _hidden(dp_c.time, bwd_mb, ls), dp_c.time)
    z3_mb = np.where(on, _hidden(gather, fwd_mb, ls) + _hidden(gather + scatter, bwd_mb, ls),
                     2 * gather + scatter)
    z2_mb = np.where(on, _hidden(scatter, bwd_mb, ls), scatter)
    zero_mb = np.where(ly.zero == 3, z3_mb, np.where(ly.zero == 2, z2_mb, 0.0))
    t_mb = t_compute_mb + tp_c.time + pp_c.time + zero_mb
    bubble = (ly.pp - 1) / ly.vp * t_mb
    step = nm * t_mb + bubble + dp_exposed + t_opt
    devices = ly.dp * ly.tp * ly.pp
    # energy per step over all devices: the work itself, static power while idle, the links
    busy_energy = ly.dp * ly.tp * nm * (model.layers * e_layer + e_head) + devices * e_opt
    busy_time = ly.dp * ly.tp * nm * (model.layers * t_layer + t_head) + devices * t_opt
    idle = np.maximum(devices * step - busy_time, 0.0)
    link_j = devices * (nm * (tp_c.energy(ic) + pp_c.energy(ic) + zero_c.energy(ic))
                        + dp_c.energy(ic))
    energy = busy_energy + idle * hw.cost.static_power_w + link_j
    mem = training_memory(model, ly, bits, bits, local=local)
    cap = hw.memory_bytes * (1 - MEMORY_HEADROOM) if hw.memory_bytes else np.inf
    # weights that live in the array (a weight capacity) stay whole: ZeRO-3 cannot shard them
    weights_fit = p_dev <= (hw.weight_capacity or np.inf)
    hidden = (dp_c.time - dp_exposed) + nm * (zero_c.time - zero_mb)
    # the parts add up to the step: nm micro-batches of compute and communication, the
    # pipeline's fill and drain ((pp - 1) / vp micro-batch slots), exposed data-parallel
    # traffic, the optimizer
    return {"step_s": step, "energy_step_j": energy, "link_energy_step_j": link_j,
            "micro_batches": nm, "compute_s": nm * t_compute_mb, "bubble_s": bubble,
            "tp_comm_s": nm * tp_c.time, "pp_comm_s": nm * pp_c.time,
            "dp_comm_s": dp_exposed + nm * zero_mb, "optimizer_s": t_opt,
            "hidden_comm_s": hidden, "memory": mem,
            "fits": (mem["total_bytes"] <= cap) & weights_fit,
            "weights_fit": weights_fit, "capacity_bytes": cap, "params_per_device": p_dev}


def training_trace(model: Transformer, hw: Hardware, layout: Layout, steps: float = 1.0,
                   local: bool = False):
    """The whole run as a ``Trace`` (all devices, ``steps`` steps, counts as repetitions)."""
    ly = Layouts.of([layout])
    rows = traces.training_rows(model, hw.fmt, ly.tp, ly.mb, recompute=ly.rc,
                                backward=not local, sp=ly.sp, flash=ly.flash, fp8=hw.fp8)
    # exact model work: batch_sequences / micro_batch micro-batches per step over all replicas
    per_unit = np.where(rows["scope"][:, 0] == traces.LAYER, model.layers, 1)
    count = np.rint(per_unit * model.batch_sequences / layout.micro_batch * layout.tp
                    * steps).astype(np.int64)
    opt = traces.optimizer_rows(params_per_device(model, ly) / (layout.dp if layout.zero else 1),
                                hw.fmt, hw.fp8)
    cols = traces.concat([rows, opt])
    count = np.concatenate([count, np.full(opt["m"].shape[0], round(layout.devices * steps))])
    return traces.to_trace(cols, count)


def _validate_layout(model: Transformer, layout: Layout) -> None:
    if model.heads % layout.tp:
        raise LayoutError(f"--parallel: tp={layout.tp} must divide the {model.heads} attention "
                          f"heads of {model.name}")
    if layout.pp > model.layers:
        raise LayoutError(f"--parallel: pp={layout.pp} exceeds the {model.layers} layers of "
                          f"{model.name}")
    if layout.vp > 1 and (layout.pp == 1 or -(-model.layers // layout.pp) % layout.vp):
        raise LayoutError(f"--parallel: vp={layout.vp} virtual stages need pp > 1 and the "
                          f"{-(-model.layers // layout.pp)} layers of a stage to split evenly")
    if layout.sp and layout.tp == 1:
        raise LayoutError("--parallel: sp=true (sequence parallelism) needs tp > 1")


def _layout_assumptions(layout: Layout) -> list[str]:
    """What the layout's switches mean for the estimate, in words."""
    out = [("1F1B pipeline schedule" if layout.vp == 1 else
            f"interleaved 1F1B pipeline schedule, {layout.vp} virtual stages per device "
            "(bubble / vp)") + "; ring collectives, hierarchical over the node's links and the "
           "network",
           "tensor- and pipeline-parallel traffic not overlapped with compute; data-parallel "
           + ("traffic overlapped with the backward pass (ZeRO-3: with compute), the last "
              "bucket exposed" if layout.overlap else "traffic not overlapped")]
    out.append("FlashAttention: s x s scores kept on chip (softmax rows move no memory), "
               "causal blocks skipped, Q.K^T recomputed in the backward; the attention products "
               "are priced as the backend prices batched products" if layout.flash else
               "attention scores computed and stored for the full s x s matrix (no causal "
               "skipping)")
    if layout.zero:
        out.append(f"ZeRO stage {layout.zero}: " + {
            1: "optimizer states sharded over dp",
            2: "optimizer states and gradients sharded over dp (gradient reduce-scatter every "
               "micro-batch)",
            3: "optimizer states, gradients and weights sharded over dp (FSDP: weights gathered "
               "twice and gradients reduce-scattered every micro-batch)"}[layout.zero])
    if layout.sp:
        out.append("sequence parallelism: norms, dropouts and residual adds split over tp")
    return out


def _stack_assumptions(stack: Stack, hw: Hardware, model: Transformer, layout: Layout
                       ) -> list[str]:
    """What the software stack changes, in words."""
    out = [stack.describe()]
    kernel = stack.kernel(layout.flash)
    if kernel != "rows":
        speed = attention_speed(kernel, hw.name, model.seq_len, model.d_head)
        out.append(f"attention: {kernel}'s published forward + backward speed on {hw.name} "
                   f"({speed / 1e12:.0f} TFLOP/s, causal count, at {model.seq_len} tokens and "
                   f"head size {model.d_head})" if speed is not None else
                   f"attention: no published speed of {kernel} on {hw.name}: the attention rows "
                   "are priced by the cost model")
    if stack.loss == "fp32":
        out.append("loss: softmax cross-entropy in fp32, one pass per kernel over the logits")
    return out


def _gb(x: float) -> str:
    return f"{x / 1e9:.1f} GB"


def check_memory(model: Transformer, hw: Hardware, layout: Layout, ev: dict, i: int = 0) -> None:
    """Raise ``OutOfMemoryError`` naming what does not fit."""
    if ev["fits"][i]:
        return
    if not ev["weights_fit"][i]:
        raise OutOfMemoryError(
            f"layout dp={layout.dp},tp={layout.tp},pp={layout.pp} puts "
            f"{float(ev['params_per_device'][i]):.3g} weights on each {hw.name}, which holds "
            f"{hw.weight_capacity:.3g} on chip; raise tp or pp, or omit --parallel to search")
    m = {k: float(v[i]) for k, v in ev["memory"].items()}
    raise OutOfMemoryError(
        f"layout dp={layout.dp},tp={layout.tp},pp={layout.pp},mb={layout.micro_batch},"
        f"recompute={str(layout.recompute).lower()},zero={str(layout.zero).lower()} does not fit "
        f"{hw.name}: needs {_gb(m['total_bytes'])} per device (weights "
        f"{_gb(m['weights_bytes'])}, gradients {_gb(m['gradients_bytes'])}, optimizer "
        f"{_gb(m['optimizer_bytes'])}, activations {_gb(m['activations_bytes'])}) but "
        f"{_gb(float(ev['capacity_bytes']))} is usable; raise tp or pp, turn on recompute/zero, "
        f"or omit --parallel to search")


def _utilization(hw: Hardware, model_flops: float, hardware_flops: float,
                 device_seconds: float) -> dict[str, Any]:
    """MFU (model FLOPs) and HFU (hardware FLOPs, recomputation included) against the
    declared peak of the compute format; refuses a cost model that beats its own peak."""
    peak = hw.peak_flops
    if not peak:
        return {"mfu": None, "hfu": None, "peak_flops_per_device": None,
                "peak_source": f"none declared for {hw.compute_format}"}
    mfu, hfu = model_flops / (device_seconds * peak), hardware_flops / (device_seconds * peak)
    if hfu > 1.0 + 1e-9:
        raise CostError(f"spec {hw.name!r}: the cost model prices the work at {hfu:.3f} x the "
                        f"declared {hw.compute_format} peak ({peak:.4g} FLOP/s): a cost model "
                        "faster than its hardware's peak is a bug in the backend")
    return {"mfu": mfu, "hfu": hfu, "peak_flops_per_device": peak,
            "peak_source": f"declared {hw.compute_format} peak of {hw.name} (capabilities)"}


def estimate_training(model: str | Transformer, hardware: str, devices: int,
                      tokens: float | None = None, *, parallel: str | Layout | None = None,
                      overrides: tuple[str, ...] | list[str] = (), precision: str = "auto",
                      pue: float = DEFAULT_PUE, grid_kg_per_kwh: float = DEFAULT_GRID_KG_PER_KWH,
                      usd_per_device_hour: float | None = None, local_learning: bool = False,
                      steps_multiplier: float = 1.0, stack: str | Stack | None = None,
                      attention: str | None = None) -> dict[str, Any]:
    """Train ``model`` on ``tokens`` tokens with ``devices`` devices of spec ``hardware``.

    ``stack`` names the software that trains (``stacks.toml``: ``megatron``, ``llm-foundry``,
    ...; None: ``ideal``, every kernel at the cost model's rate); ``attention`` replaces the
    stack's attention kernel of layouts with FlashAttention (``flash2``, ``flash1``, ...).

    Without ``parallel``, or with one that places no devices (no dp, tp or pp: only the keys
    to hold, such as ``"flash=false,overlap=false"``), the fastest layout that fits is searched
    (``search.py``). ``precision="fp8"`` trains the weight GEMMs in fp8 (Transformer Engine's
    recipe). ``local_learning=True`` is the what-if of a learning rule with no backward pass
    (forward + a local weight update per layer) needing ``steps_multiplier`` times more steps.
    """
    from .search import search_training

    inputs.training(devices, tokens, steps_multiplier)
    inputs.common(pue, grid_kg_per_kwh, usd_per_device_hour)
    mdl = load_model(model)
    tokens = float(tokens if tokens is not None else mdl.train_tokens)
    hw = resolve_hardware(hardware, tuple(overrides), precision)
    sw = get_stack(stack, flash_attention=attention)
    items = parse_items(parallel)
    if not is_placement(items):
        layout, ev, i = search_training(mdl, hw, devices, local=local_learning, fixed=items,
                                        stack=sw)
        searched = True
    else:
        layout = parse_layout(items, devices)
        _validate_layout(mdl, layout)
        ev = evaluate_layouts(mdl, hw, Layouts.of([layout]), local=local_learning, stack=sw)
        i = 0
        check_memory(mdl, hw, layout, ev)
        searched = False
    seq = mdl.seq_len
    steps = tokens / (mdl.batch_sequences * seq) * steps_multiplier
    step_s = float(ev["step_s"][i])
    time_s = steps * step_s
    trace = training_trace(mdl, hw, layout, steps=1.0, local=local_learning)
    flops_step = traces.model_flops(trace)
    hw_flops_step = traces.hardware_flops(trace)
    training_flops = flops_step * steps
    utilization = _utilization(hw, training_flops, hw_flops_step * steps, time_s * devices)
    device_energy = float(ev["energy_step_j"][i]) * steps
    energy = device_energy * pue
    price = hw.cost.price_usd_per_hour if usd_per_device_hour is None else usd_per_device_hour
    device_hours = time_s * devices / 3600.0
    mem = {k: float(v[i]) for k, v in ev["memory"].items()}
    assumptions = [*hw.assumptions,
                   "GEMMs, attention and elementwise work priced by the spec's cost kernel "
                   f"({hw.cost.provider or hw.spec.backend}); cost boundary: {hw.cost.boundary}",
                   *_layout_assumptions(layout),
                   *_stack_assumptions(sw, hw, mdl, layout),
                   f"PUE {pue} and grid {grid_kg_per_kwh} kg CO2e/kWh applied to device + link "
                   "energy (host CPUs, NICs and storage outside the device boundary excluded)",
                   f"{int(MEMORY_HEADROOM * 100)} % of device memory reserved for the framework"]
    padded = int(ev["micro_batches"][i]) * layout.dp * layout.micro_batch
    if padded != mdl.batch_sequences:
        assumptions.append(f"the global batch of {mdl.batch_sequences} sequences does not split "
                           f"over dp x micro-batch: steps are timed at {padded} (padding)")
    if local_learning:
        assumptions.append(f"local learning: no backward pass, one local weight update per "
                           f"weight matrix per micro-batch, {steps_multiplier}x the steps of "
                           f"backprop (convergence assumption, not simulated)")
    return inputs.result({
        "kind": "training", "model": mdl.name, "params": mdl.params, "hardware": hw.name,
        "backend": hw.spec.backend, "overrides": list(hw.spec.overrides), "devices": devices,
        "tokens": tokens, "steps": steps, "global_batch_sequences": mdl.batch_sequences,
        "parallel": {**layout.to_dict(), "micro_batches": int(ev["micro_batches"][i]),
                     "searched": searched},
        "stack": sw.name,
        "training_flops": training_flops,
        "flops_6nd": 6.0 * mdl.params * tokens,
        "hardware_flops": hw_flops_step * steps,
        "time_s": time_s, "time_days": time_s / 86400.0, "step_time_s": step_s,
        "device_hours": device_hours,
        "energy_j": energy, "device_energy_j": device_energy, "energy_kwh": energy / 3.6e6,
        "pue": pue, "co2_kg": energy / 3.6e6 * grid_kg_per_kwh,
        "grid_kg_per_kwh": grid_kg_per_kwh,
        "cost_usd": device_hours * price, "usd_per_device_hour": price,
        **utilization,
        "model_flops_per_device_per_s": training_flops / (time_s * devices),
        "hardware_flops_per_device_per_s": hw_flops_step * steps / (time_s * devices),
        "tokens_per_s": tokens * steps_multiplier / time_s,
        "step_breakdown_s": {k: float(ev[k][i]) for k in
                             ("compute_s", "bubble_s", "tp_comm_s", "pp_comm_s", "dp_comm_s",
                              "optimizer_s")},
        "hidden_comm_s": float(ev["hidden_comm_s"][i]),
        "memory_per_device_bytes": {**mem, "usable_bytes": float(ev["capacity_bytes"])
                                    if hw.memory_bytes else None},
        "format": hw.fmt("mvm", "train-forward")[1],
        "assumptions": assumptions,
    }, f"training estimate of {mdl.name} on {hw.name}")


# ---------------------------------------------------------------------------------------------
# Serving
# ---------------------------------------------------------------------------------------------


MAX_BATCH = 2048
"""The most sequences a server runs at once when the batch is left to the estimate:
TensorRT-LLM's default max batch size (docs/source/performance/
tuning-max-batch-size-and-max-num-tokens.md: "The default value is 2048")."""
MAX_TOKENS_PER_ITERATION = 8192
"""The most tokens one continuous-batching iteration takes (decode tokens + prompt chunks):
TensorRT-LLM's default max_num_tokens (same page: "The default value of max num tokens is
8192")."""
KV_BLOCK_TOKENS = 16
"""Tokens per KV-cache block under paged attention (Kwon et al. 2023, vLLM's default)."""


def _serving_candidates(mdl: Transformer, hw: Hardware, tp: int | None, batch: int | None,
                        context_kv: float, wbits: int, kv_bits: int, weights: str,
                        max_batch: int = MAX_BATCH) -> list[tuple[int, int]]:
    """(tp, batch) pairs that fit: the given tp or every power of two dividing the heads; the
    given batch or the largest the KV cache allows (at most ``max_batch``)."""
    from .parallel import kv_bytes_per_token

    cap = hw.memory_bytes * (1 - MEMORY_HEADROOM) if hw.memory_bytes else math.inf
    wcap = hw.weight_capacity or math.inf
    tps = [tp] if tp else [t for t in (1, 2, 4, 8, 16, 32, 64) if mdl.heads % t == 0]
    out = []
    for t in tps:
        if weights != "reprogrammed" and mdl.params / t > wcap:
            continue
        w = mdl.params * wbits / 8.0 / t if weights != "reprogrammed" else 0.0
        per_seq = kv_bytes_per_token(mdl, t, kv_bits) * context_kv
        room = math.floor((cap - w) / per_seq) if math.isfinite(cap) else max_batch
        b = batch if batch is not None else min(room, max_batch)
        if b >= 1 and (b <= room or weights == "reprogrammed"):
            out.append((t, int(b)))
    return out


def estimate_serving(model: str | Transformer, hardware: str, *, batch: int | None = 16,
                     prompt_tokens: int = 512, output_tokens: int = 256, tp: int | None = None,
                     devices: int | None = None, overrides: tuple[str, ...] | list[str] = (),
                     precision: str = "auto", pue: float = DEFAULT_PUE,
                     grid_kg_per_kwh: float = DEFAULT_GRID_KG_PER_KWH,
                     usd_per_device_hour: float | None = None,
                     weights: str = "resident", scheduling: str = "continuous",
                     flash: bool = True, grouped_kv: bool = True,
                     max_batch: int = MAX_BATCH,
                     max_tokens_per_iteration: int = MAX_TOKENS_PER_ITERATION,
                     reserve_full_context: bool = False) -> dict[str, Any]:
    """Serve ``model``: requests of ``prompt_tokens`` in and ``output_tokens`` out, ``batch`` of
    them running at once (None: as many as the KV cache holds), on tensor-parallel replicas
    of ``tp`` devices (None: the smallest power of two that fits, or with ``batch=None`` the
    one with the most tokens/s per device).

    ``scheduling="continuous"`` (default): continuous batching with a paged KV cache (blocks of
    16 tokens): every iteration each running sequence generates a token and the prompts of
    the requests that replace finished ones run through the same GEMMs (chunked prefill); the
    cache holds each sequence's current context. ``"static"``: a batch of requests is
    prefilled together and decoded to the end, its cache reserved for the full context.
    ``precision="fp8"`` runs the weight GEMMs in fp8 and keeps weights and KV cache in fp8.
    ``flash``: attention kernels keep the scores on chip; ``grouped_kv``: decode kernels read
    each cached K/V head once for the query heads sharing it (False: once per query head, as
    multi-head kernels do on grouped-query models). With ``batch=None`` the scheduler's
    limits bound the batch: ``max_batch`` sequences, and under continuous batching
    ``max_tokens_per_iteration`` tokens per iteration (each running sequence's token plus its
    share of prompt chunks). ``reserve_full_context``: the scheduler admits a request only
    when the cache can hold its whole context (prompt + output), so that a started request is
    never evicted (TensorRT-LLM's default GUARANTEED_NO_EVICT policy); otherwise the cache holds
    each sequence's current context (vLLM).
    ``weights="reprogrammed"`` is the analog what-if where the weights do not stay on chip:
    every weight is written again (``write`` rows) for every forward pass (every iteration);
    ``"resident"`` writes them once (a one-time ``deploy`` cost).
    """
    mdl = load_model(model)
    if weights not in ("resident", "reprogrammed"):
        raise XpusimError(f"--weights must be resident or reprogrammed, found {weights!r}")
    if scheduling not in ("continuous", "static"):
        raise XpusimError(f"--scheduling must be continuous or static, found {scheduling!r}")
    inputs.serving(batch, prompt_tokens, output_tokens, tp, devices, mdl.heads, mdl.name)
    inputs.common(pue, grid_kg_per_kwh, usd_per_device_hour)
    hw = resolve_hardware(hardware, tuple(overrides), precision)
    fm = hw.fmt
    wbits = fm("mvm", "inference")[0]
    # the KV cache as the attention products read it: the 16-bit format, fp8 under fp8
    kv_fmt = fm("mvm", "inference") if hw.fp8 else fm("matmul", "inference")
    kv_bits = kv_fmt[0]
    continuous = scheduling == "continuous"
    # continuous: a running sequence holds on average half its output, in whole blocks
    context = prompt_tokens + output_tokens / 2.0
    context_kv = (context + KV_BLOCK_TOKENS / 2.0) if continuous and not reserve_full_context \
        else float(prompt_tokens + output_tokens)
    limit = max_batch
    if continuous and batch is None:  # decode token + prompt / output prompt tokens each
        limit = min(max_batch, max(1, math.floor(
            max_tokens_per_iteration / (1.0 + prompt_tokens / output_tokens))))
    found = _serving_candidates(mdl, hw, tp, batch, context_kv, wbits, kv_bits, weights,
                                limit)
    if not found:
        _serving_does_not_fit(mdl, hw, tp, batch, prompt_tokens, output_tokens, wbits, kv_bits,
                              weights)
    tps = np.array([t for t, _ in found])
    bs = np.array([b for _, b in found], dtype=np.float64)
    pre_tokens = bs * prompt_tokens / output_tokens if continuous else np.zeros_like(bs)
    kw = dict(flash=flash, fp8=hw.fp8)
    parts = [traces.iteration_rows(mdl, fm, tps, bs, context, pre_tokens, prompt_tokens,
                                   kv_fmt=kv_fmt, grouped_kv=grouped_kv, **kw),
             traces.prefill_rows(mdl, fm, tps, bs, prompt_tokens, **kw),
             traces.prefill_rows(mdl, fm, tps, 1, prompt_tokens, **kw),
             traces.weight_write_rows(mdl, fm, tps, "deploy"),
             traces.iteration_rows(mdl, fm, tps, bs, context, 0.0, prompt_tokens,
                                   kv_fmt=kv_fmt, grouped_kv=grouped_kv, **kw)]
    priced = price_parts(parts, hw)

    def total(i: int) -> tuple[np.ndarray, np.ndarray]:
        t, e = priced[i]
        unit = np.where(parts[i]["scope"] == traces.LAYER, mdl.layers, 1)
        return (t * unit).sum(axis=0), (e * unit).sum(axis=0)

    (it_t, it_e), (pre_t, pre_e), (one_t, one_e), (wr_t, wr_e), (dec_t, _) = (
        total(i) for i in range(5))
    # tensor-parallel collectives: per block and forward pass, 2 all-reduces (1 in a
    # parallel block) of the tokens' activations
    ic = hw.interconnect
    per_block = (1 if mdl.parallel_block else 2) * mdl.layers
    act_bytes = hw.storage_bits / 8.0 * mdl.d_model
    it_c = collective(ic, (bs + pre_tokens) * act_bytes, tps, 1) * per_block
    pre_c = collective(ic, bs * prompt_tokens * act_bytes, tps, 1) * per_block
    one_c = collective(ic, prompt_tokens * act_bytes, tps, 1) * per_block
    dec_t = dec_t + (collective(ic, bs * act_bytes, tps, 1) * per_block).time
    it_t, it_e = it_t + it_c.time, it_e + it_c.energy(ic)
    pre_t, pre_e = pre_t + pre_c.time, pre_e + pre_c.energy(ic)
    one_t = one_t + one_c.time
    rewrite = weights == "reprogrammed"
    if continuous:   # one iteration: every running sequence gains a token
        step_t = it_t + (wr_t if rewrite else 0.0)
        step_e = it_e + (wr_e if rewrite else 0.0)
        batch_time, batch_energy = step_t * output_tokens, step_e * output_tokens
        decode_t = step_t
    else:            # the batch's prefill, then output_tokens decode steps
        passes = 1 + output_tokens
        batch_time = pre_t + output_tokens * it_t + (wr_t * passes if rewrite else 0.0)
        batch_energy = pre_e + output_tokens * it_e + (wr_e * passes if rewrite else 0.0)
        decode_t = it_t + (wr_t if rewrite else 0.0)
    out_tokens = bs * output_tokens
    tokens_per_s = out_tokens / batch_time                       # one replica
    per_device = tokens_per_s / tps
    if tp is None and batch is None:
        i = int(np.argmax(per_device))
    else:
        i = 0  # the given tp, or the smallest that fits the given batch
    t, b = int(tps[i]), int(bs[i])
    f = lambda x: float(np.asarray(x).reshape(-1)[i] if np.ndim(x) else x)  # noqa: E731
    from .parallel import serving_memory
    mem = serving_memory(mdl, t, b, context_kv, wbits, kv_bits)
    replicas = max(1, (devices or t) // t)
    price = hw.cost.price_usd_per_hour if usd_per_device_hour is None else usd_per_device_hour
    j_per_token_device = f(batch_energy) * t / (b * output_tokens)
    j_per_token = j_per_token_device * pue
    tps_i = f(tokens_per_s)
    usd_per_token = price * t / 3600.0 / tps_i
    prefill_share = f(pre_t) / f(batch_time) if not continuous else \
        max(0.0, 1.0 - f(dec_t) / f(it_t))
    assumptions = [*hw.assumptions,
                   f"every request: {prompt_tokens} prompt tokens, {output_tokens} generated; "
                   f"decode attends to the mean context {context:g}",
                   ("continuous batching: each iteration decodes every running sequence and "
                    "prefills the prompts of the requests that replace finished ones in the same "
                    "GEMMs (chunked prefill); paged KV cache in blocks of "
                    f"{KV_BLOCK_TOKENS} tokens " + (
                        "reserving each admitted request's whole context"
                        if reserve_full_context else
                        "holding each sequence's current context"))
                   if continuous else
                   ("static batching: the batch is prefilled together and decoded to the end; "
                    "its KV cache is reserved for the full context"),
                   f"{b} sequences running" + (
                       f" (as many as the KV cache holds, at most {limit}: {max_batch} "
                       f"sequences" + (f", {max_tokens_per_iteration} tokens per iteration"
                                       if continuous else "") + ")" if batch is None else ""),
                   "KV cache kept on the device in " + (f"{kv_bits}-bit"),
                   ("attention kernels keep the scores on chip (flash/paged attention)" if flash
                    else "attention scores written to memory"),
                   ("decode reads each cached K/V head once per group of query heads"
                    if grouped_kv else "decode reads the cached K/V once per query head"),
                   "money and J/token count generated (output) tokens; prefill included",
                   f"weights {weights}" + (": rewritten before every forward pass"
                                           if rewrite else ": written once (deploy_* fields)"),
                   f"PUE {pue} applied to device energy in j_per_token and the CO2 "
                   "(j_per_token_device is without it)"]
    return inputs.result({
        "kind": "serving", "model": mdl.name, "hardware": hw.name, "backend": hw.spec.backend,
        "overrides": list(hw.spec.overrides), "tp": t, "replicas": replicas, "batch": b,
        "scheduling": scheduling, "prompt_tokens": prompt_tokens,
        "output_tokens": output_tokens, "weights": weights,
        "tokens_per_s": tps_i * replicas, "tokens_per_s_per_replica": tps_i,
        "tokens_per_s_per_device": tps_i / t,
        "time_per_output_token_s": f(decode_t),
        "time_to_first_token_s": f(one_t) + (f(wr_t) if rewrite else 0.0),
        "prefill": {"time_per_request_s": f(one_t),
                    "tokens_per_s_per_replica": prompt_tokens / f(one_t),
                    "share_of_time": prefill_share},
        "j_per_token": j_per_token, "j_per_token_device": j_per_token_device,
        "j_per_token_includes_pue": True, "pue": pue,
        "usd_per_million_tokens": usd_per_token * 1e6,
        "co2_kg_per_million_tokens": j_per_token * 1e6 / 3.6e6 * grid_kg_per_kwh,
        "deploy_time_s": f(wr_t), "deploy_energy_j": f(wr_e) * t * pue,
        "memory_per_device_bytes": {k: float(v) for k, v in mem.items()},
        "format": fm("mvm", "inference")[1],
        "assumptions": assumptions,
    }, f"serving estimate of {mdl.name} on {hw.name}")


def _serving_does_not_fit(mdl, hw, tp, batch, prompt_tokens, output_tokens, wbits, kv_bits,
                          weights) -> None:
    """Raise ``OutOfMemoryError`` naming what does not fit."""
    from .parallel import serving_memory

    wcap = hw.weight_capacity or math.inf
    t = tp or max(t for t in (1, 2, 4, 8, 16, 32, 64) if mdl.heads % t == 0)
    if mdl.params / t > wcap and weights != "reprogrammed":
        raise OutOfMemoryError(
            f"{mdl.name} cannot keep its weights resident on {hw.name}: at tp={t} each device "
            f"would hold {mdl.params / t:.3g} weights, the chip holds {wcap:.3g}; use --weights "
            f"reprogrammed (priced per forward pass) or more devices")
    cap = hw.memory_bytes * (1 - MEMORY_HEADROOM) if hw.memory_bytes else math.inf
    mem = serving_memory(mdl, t, batch or 1, prompt_tokens + output_tokens, wbits, kv_bits)
    raise OutOfMemoryError(
        f"{mdl.name} serving at batch {batch or 1} with {prompt_tokens + output_tokens} tokens "
        f"of context does not fit {hw.name} at tp={t}: needs "
        f"{_gb(float(mem['total_bytes']))} per device (weights "
        f"{_gb(float(mem['weights_bytes']))}, KV cache {_gb(float(mem['kv_cache_bytes']))}) "
        f"but {_gb(cap)} is usable; lower the batch or raise --tp")


# ---------------------------------------------------------------------------------------------
# Lifetime and break-even
# ---------------------------------------------------------------------------------------------


def lifetime_cost(training: dict[str, Any], serving: dict[str, Any], tokens_served: float
                  ) -> dict[str, float]:
    """Training + serving ``tokens_served`` output tokens: money, energy and CO2."""
    n = inputs.served_tokens(tokens_served)
    serve_usd = serving["usd_per_million_tokens"] * n / 1e6
    serve_j = serving["j_per_token"] * n
    grid = training.get("grid_kg_per_kwh", DEFAULT_GRID_KG_PER_KWH)
    return inputs.result(
        {"tokens_served": n, "training_usd": training["cost_usd"], "serving_usd": serve_usd,
         "total_usd": training["cost_usd"] + serve_usd,
         "training_energy_j": training["energy_j"], "serving_energy_j": serve_j,
         "total_energy_j": training["energy_j"] + serve_j,
         "total_co2_kg": (training["energy_j"] + serve_j) / 3.6e6 * grid}, "lifetime cost")


def break_even(a: tuple[dict, dict], b: tuple[dict, dict], what: str = "usd") -> dict[str, Any]:
    """Served-token volume at which configurations ``a`` and ``b`` (each (training, serving))
    cost the same (``what`` = "usd" or "energy"). ``None`` when one is never cheaper."""
    if what == "usd":
        fa, fb = a[0]["cost_usd"], b[0]["cost_usd"]
        va, vb = a[1]["usd_per_million_tokens"] / 1e6, b[1]["usd_per_million_tokens"] / 1e6
    elif what == "energy":
        fa, fb = a[0]["energy_j"], b[0]["energy_j"]
        va, vb = a[1]["j_per_token"], b[1]["j_per_token"]
    else:
        raise XpusimError(f"break-even on 'usd' or 'energy', found {what!r}")
    if va == vb:
        return {"tokens": None, "what": what, "note": "equal serving cost per token"}
    n = (fb - fa) / (va - vb)
    cheaper_after = "a" if va < vb else "b"
    return {"tokens": n if n > 0 else None, "what": what, "cheaper_after": cheaper_after,
            "note": "volume of served tokens past which the lower per-token cost wins"
            if n > 0 else f"{cheaper_after} is cheaper at every volume"}
