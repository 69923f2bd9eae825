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
from .parallel import (DEFAULT_INTERCONNECT, Layout, LayoutError, Layouts, communication,
                       enumerate_layouts, layers_per_stage, micro_batches, params_per_device,
                       parse_layout, serving_memory, training_memory)

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


def _mixed_precision(pm, name: str, overrides: tuple[str, ...], precision: str
                     ) -> tuple[Any, list[str]]:
    """The spec with the settings its backend declares for ``precision`` applied
    (``auto``: the first of bf16, fp16 it declares; ``spec``: as written)."""
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
    return Hardware(spec, cost, formats, caps, ic, tuple(assumptions))


def price_rows(cols: dict[str, np.ndarray], hw: Hardware) -> tuple[np.ndarray, np.ndarray]:
    """Time (s) and energy (J, static power over the row's time included) of every row of
    every layout, shape (rows, layouts): one ``price_columns`` call, each row repeated its
    ``mult`` times. Rows of size zero (a what-if that is off in some layouts) cost nothing."""
    shape = cols["m"].shape
    flat = {c: v.reshape(-1) for c, v in cols.items() if c in ("phase", "primitive", "m", "n",
                                                              "k", "bits", "fmt")}
    flat["count"] = np.where(flat["m"] > 0, cols["mult"].reshape(-1), 0).astype(np.int64)
    try:
        rows = price_columns(hw.cost, flat, hw.name)
    except CostError as exc:
        raise CostError(f"{exc} (needed by the LLM trace)") from None
    return rows.time_s.reshape(shape), rows.energy_j.reshape(shape)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def _sum_scope(values: np.ndarray, cols, scope: int) -> np.ndarray:
    return (values * (cols["scope"] == scope)).sum(axis=0)


def evaluate_layouts(model: Transformer, hw: Hardware, ly: Layouts, *, local: bool = False
                     ) -> dict[str, np.ndarray]:
    """Step time, energy, FLOPs and memory of every layout (vectorised; one kernel call)."""
    fm = hw.fmt
    rows = traces.training_rows(model, fm, ly.tp, ly.mb, recompute=ly.recompute,
                                backward=not local)
    nrows = rows["m"].shape[0]
    p_dev = params_per_device(model, ly)
    opt = traces.optimizer_rows(p_dev / np.where(ly.zero, ly.dp, 1), fm)
    cols = traces.concat([rows, opt])
    t, e = price_rows(cols, hw)
    t_rows, e_rows = t[:nrows], e[:nrows]
    sub = {k: v[:nrows] for k, v in cols.items()}
    t_layer, t_head = _sum_scope(t_rows, sub, 0), _sum_scope(t_rows, sub, 1)
    e_layer, e_head = _sum_scope(e_rows, sub, 0), _sum_scope(e_rows, sub, 1)
    t_opt, e_opt = t[nrows:].sum(axis=0), e[nrows:].sum(axis=0)
    act_bits = fm("mvm", "train-forward")[0]
    grad_bits = fm("update", "train-update")[0]
    comm = communication(model, ly, hw.interconnect, act_bits, grad_bits)
    if local:  # no backward traffic: forward tp all-reduces and forward pipeline sends only
        comm["tp_s"] = comm["tp_s"] / np.where(ly.recompute, 3, 2)
        comm["tp_bytes"] = comm["tp_bytes"] / np.where(ly.recompute, 3, 2)
        comm["pp_s"], comm["pp_bytes"] = comm["pp_s"] / 2, comm["pp_bytes"] / 2
    nm = micro_batches(model, ly)
    ls = layers_per_stage(model, ly)
    t_compute_mb = ls * t_layer + t_head
    t_mb = t_compute_mb + comm["tp_s"] + comm["pp_s"]
    step = (nm + ly.pp - 1) * t_mb + comm["dp_s"] + t_opt
    devices = ly.dp * ly.tp * ly.pp
    # energy per step over all devices: the work itself, static power while idle, the links
    busy_energy = ly.dp * ly.tp * nm * (model.layers * e_layer + e_head) \
        + devices * e_opt
    busy_time = ly.dp * ly.tp * nm * (model.layers * t_layer + t_head) + devices * t_opt
    idle = np.maximum(devices * step - busy_time, 0.0)
    link_j = devices * (nm * (comm["tp_bytes"] * comm["tp_j_per_byte"]
                              + comm["pp_bytes"] * comm["pp_j_per_byte"])
                        + comm["dp_bytes"] * comm["dp_j_per_byte"])
    energy = busy_energy + idle * hw.cost.static_power_w + link_j
    mem = training_memory(model, ly, fm("mvm", "train-forward")[0], act_bits, local=local)
    cap = hw.memory_bytes * (1 - MEMORY_HEADROOM) if hw.memory_bytes else np.inf
    weights_fit = p_dev <= (hw.weight_capacity or np.inf)
    # the parts add up to the step: nm micro-batches of compute and communication, the
    # pipeline's fill and drain ((pp - 1) micro-batch slots), the gradient all-reduce, Adam
    return {"step_s": step, "energy_step_j": energy, "link_energy_step_j": link_j,
            "micro_batches": nm, "compute_s": nm * t_compute_mb,
            "bubble_s": (ly.pp - 1) * t_mb, "tp_comm_s": nm * comm["tp_s"],
            "pp_comm_s": nm * comm["pp_s"], "dp_comm_s": comm["dp_s"], "optimizer_s": t_opt,
            "memory": mem, "fits": (mem["total_bytes"] <= cap) & weights_fit,
            "weights_fit": weights_fit, "capacity_bytes": cap, "params_per_device": p_dev}


def training_trace(model: Transformer, hw: Hardware, layout: Layout, steps: float = 1.0,
                   local: bool = False):
    """The whole run as a ``Trace`` (all devices, ``steps`` steps, counts as repetitions)."""
    ly = Layouts.of([layout])
    rows = traces.training_rows(model, hw.fmt, ly.tp, ly.mb, recompute=ly.recompute,
                                backward=not local)
    # exact model work: batch_sequences / micro_batch micro-batches per step over all replicas
    per_unit = np.where(rows["scope"][:, 0] == traces.LAYER, model.layers, 1)
    count = np.rint(per_unit * model.batch_sequences / layout.micro_batch * layout.tp
                    * steps).astype(np.int64)
    opt = traces.optimizer_rows(params_per_device(model, ly) / (layout.dp if layout.zero else 1),
                                hw.fmt)
    cols = traces.concat([rows, opt])
    count = np.concatenate([count, [round(layout.devices * steps)]])
    return traces.to_trace(cols, count)


def _validate_layout(model: Transformer, layout: Layout) -> None:
    if model.heads % layout.tp:
        raise LayoutError(f"--parallel: tp={layout.tp} must divide the {model.heads} attention "
                          f"heads of {model.name}")
    if layout.pp > model.layers:
        raise LayoutError(f"--parallel: pp={layout.pp} exceeds the {model.layers} layers of "
                          f"{model.name}")


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
                      steps_multiplier: float = 1.0) -> dict[str, Any]:
    """Train ``model`` on ``tokens`` tokens with ``devices`` devices of spec ``hardware``.

    Without ``parallel``, the fastest layout that fits is searched (``search.py``).
    ``local_learning=True`` is the what-if of a learning rule with no backward pass (forward +
    a local weight update per layer) needing ``steps_multiplier`` times more steps.
    """
    from .search import search_training

    inputs.training(devices, tokens, steps_multiplier)
    inputs.common(pue, grid_kg_per_kwh, usd_per_device_hour)
    mdl = load_model(model)
    tokens = float(tokens if tokens is not None else mdl.train_tokens)
    hw = resolve_hardware(hardware, tuple(overrides), precision)
    if parallel is None:
        layout, ev, i = search_training(mdl, hw, devices, local=local_learning)
        searched = True
    else:
        layout = parse_layout(parallel, devices)
        _validate_layout(mdl, layout)
        ev = evaluate_layouts(mdl, hw, Layouts.of([layout]), local=local_learning)
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
                   "attention scores computed for the full s x s matrix (no causal skipping)",
                   "1F1B pipeline schedule; data-parallel gradient all-reduce not overlapped "
                   "with compute; ring collectives",
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
        "memory_per_device_bytes": {**mem, "usable_bytes": float(ev["capacity_bytes"])
                                    if hw.memory_bytes else None},
        "format": hw.fmt("mvm", "train-forward")[1],
        "assumptions": assumptions,
    }, f"training estimate of {mdl.name} on {hw.name}")


# ---------------------------------------------------------------------------------------------
# Serving
# ---------------------------------------------------------------------------------------------


def estimate_serving(model: str | Transformer, hardware: str, *, batch: int = 16,
                     prompt_tokens: int = 512, output_tokens: int = 256, tp: int | None = None,
                     devices: int | None = None, overrides: tuple[str, ...] | list[str] = (),
                     precision: str = "auto", pue: float = DEFAULT_PUE,
                     grid_kg_per_kwh: float = DEFAULT_GRID_KG_PER_KWH,
                     usd_per_device_hour: float | None = None,
                     weights: str = "resident") -> dict[str, Any]:
    """Serve ``model``: ``batch`` requests of ``prompt_tokens`` in, ``output_tokens`` out,
    on tensor-parallel replicas of ``tp`` devices (smallest power of two that fits when None).

    ``weights="reprogrammed"`` is the analog what-if where the weights do not stay on chip:
    every weight is written again (``write`` rows) for every forward pass (prefill and each
    decode step); ``"resident"`` writes them once (a one-time ``deploy`` cost).
    """
    mdl = load_model(model)
    if weights not in ("resident", "reprogrammed"):
        raise XpusimError(f"--weights must be resident or reprogrammed, found {weights!r}")
    inputs.serving(batch, prompt_tokens, output_tokens, tp, devices, mdl.heads, mdl.name)
    inputs.common(pue, grid_kg_per_kwh, usd_per_device_hour)
    hw = resolve_hardware(hardware, tuple(overrides), precision)
    fm = hw.fmt
    context = prompt_tokens + output_tokens / 2.0
    wbits = fm("mvm", "inference")[0]
    kv_bits = max(wbits, 8)
    cap = hw.memory_bytes * (1 - MEMORY_HEADROOM) if hw.memory_bytes else math.inf
    candidates = [tp] if tp else [t for t in (1, 2, 4, 8, 16, 32, 64) if mdl.heads % t == 0]
    wcap = hw.weight_capacity or math.inf
    chosen = None
    for t in candidates:
        mem = serving_memory(mdl, t, batch, prompt_tokens + output_tokens, wbits, kv_bits)
        if weights == "reprogrammed" or (float(mem["total_bytes"]) <= cap
                                         and mdl.params / t <= wcap):
            chosen = (t, mem)
            break
    if chosen is None and mdl.params / candidates[-1] > wcap:
        raise OutOfMemoryError(
            f"{mdl.name} cannot keep its weights resident on {hw.name}: at tp={candidates[-1]} "
            f"each device would hold {mdl.params / candidates[-1]:.3g} weights, the chip holds "
            f"{wcap:.3g}; use --weights reprogrammed (priced per forward pass) or more devices")
    if chosen is None:
        t = candidates[-1]
        mem = serving_memory(mdl, t, batch, prompt_tokens + output_tokens, wbits, kv_bits)
        raise OutOfMemoryError(
            f"{mdl.name} serving at batch {batch} with {prompt_tokens + output_tokens} tokens of "
            f"context does not fit {hw.name} at tp={t}: needs "
            f"{_gb(float(mem['total_bytes']))} per device (weights "
            f"{_gb(float(mem['weights_bytes']))}, KV cache {_gb(float(mem['kv_cache_bytes']))}) "
            f"but {_gb(cap)} is usable; lower the batch or raise --tp")
    t, mem = chosen
    ly = np.array([t])
    parts = [traces.prefill_rows(mdl, fm, ly, batch, prompt_tokens),
             traces.decode_rows(mdl, fm, ly, batch, context),
             traces.weight_write_rows(mdl, fm, ly, "deploy")]
    sizes = [p["m"].shape[0] for p in parts]
    tt, ee = price_rows(traces.concat(parts), hw)
    tt, ee = tt[:, 0], ee[:, 0]
    cols = traces.concat(parts)
    scope = cols["scope"][:, 0]
    mult = np.where(scope == traces.LAYER, mdl.layers, 1)
    a, b = sizes[0], sizes[0] + sizes[1]
    pre_t, pre_e = (tt[:a] * mult[:a]).sum(), (ee[:a] * mult[:a]).sum()
    dec_t, dec_e = (tt[a:b] * mult[a:b]).sum(), (ee[a:b] * mult[a:b]).sum()
    wr_t, wr_e = (tt[b:] * mult[b:]).sum(), (ee[b:] * mult[b:]).sum()
    # tensor-parallel all-reduces: 2 per block per forward pass
    ic = hw.interconnect
    from .parallel import _link, allreduce
    bw, lat, jpb = _link(ic, np.array([t]))
    act_bits = fm("mvm", "inference")[0]
    ar_pre, by_pre = allreduce(batch * prompt_tokens * mdl.d_model * act_bits / 8, t, bw, lat)
    ar_dec, by_dec = allreduce(batch * mdl.d_model * act_bits / 8, t, bw, lat)
    first = lambda x: float(np.asarray(x).reshape(-1)[0])  # noqa: E731
    pre_t += 2 * mdl.layers * first(ar_pre)
    dec_t += 2 * mdl.layers * first(ar_dec)
    pre_e += 2 * mdl.layers * first(by_pre) * first(jpb)
    dec_e += 2 * mdl.layers * first(by_dec) * first(jpb)
    passes = 1 + output_tokens
    reprogram_t = wr_t * passes if weights == "reprogrammed" else 0.0
    reprogram_e = wr_e * passes if weights == "reprogrammed" else 0.0
    batch_time = pre_t + output_tokens * dec_t + reprogram_t
    batch_energy = t * (pre_e + output_tokens * dec_e + reprogram_e)  # all tp devices
    out_tokens = batch * output_tokens
    replicas = max(1, (devices or t) // t)
    price = hw.cost.price_usd_per_hour if usd_per_device_hour is None else usd_per_device_hour
    tokens_per_s = out_tokens / batch_time
    j_per_token_device = batch_energy / out_tokens
    j_per_token = j_per_token_device * pue
    usd_per_token = price * t / 3600.0 / tokens_per_s
    assumptions = [*hw.assumptions,
                   f"every request: {prompt_tokens} prompt tokens, {output_tokens} generated; "
                   f"decode attends to the mean context {context:g}",
                   "KV cache kept on the device in the compute format; read once per token",
                   "money and J/token count generated (output) tokens; prefill included",
                   f"weights {weights}" + (": rewritten before every forward pass"
                                           if weights == "reprogrammed" else
                                           ": written once (deploy_* fields)"),
                   f"PUE {pue} applied to device energy"]
    return inputs.result({
        "kind": "serving", "model": mdl.name, "hardware": hw.name, "backend": hw.spec.backend,
        "overrides": list(hw.spec.overrides), "tp": t, "replicas": replicas, "batch": batch,
        "prompt_tokens": prompt_tokens, "output_tokens": output_tokens, "weights": weights,
        "tokens_per_s": tokens_per_s * replicas, "tokens_per_s_per_replica": tokens_per_s,
        "tokens_per_s_per_device": tokens_per_s / t,
        "time_per_output_token_s": dec_t + (reprogram_t / passes if passes else 0.0),
        "time_to_first_token_s": pre_t + (wr_t if weights == "reprogrammed" else 0.0),
        "j_per_token": j_per_token, "j_per_token_device": j_per_token_device,
        "j_per_token_includes_pue": True,
        "usd_per_million_tokens": usd_per_token * 1e6,
        "co2_kg_per_million_tokens": j_per_token * 1e6 / 3.6e6 * grid_kg_per_kwh,
        "deploy_time_s": wr_t, "deploy_energy_j": wr_e * t * pue,
        "memory_per_device_bytes": {k: float(v) for k, v in mem.items()},
        "format": fm("mvm", "inference")[1],
        "assumptions": assumptions,
    }, f"serving estimate of {mdl.name} on {hw.name}")


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
