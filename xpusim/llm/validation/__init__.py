"""LLM estimates against published runs: the cases (``cases.toml``, every figure with its
source, layout and how it was checked) and the code that prices them.

``python benchmarks/bench_llm.py --validation`` prints the tables of
``docs/validation-llm.md``; ``tests/llm/test_validation.py`` asserts the goal on them. Models
that only the validation uses (the Megatron-LM benchmark family, llm-foundry's benchmark MPTs,
GPT-J) live in ``models/`` beside this file; the rest are built in.
"""

from __future__ import annotations

import math
import statistics
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from ..estimate import OutOfMemoryError, estimate_serving, estimate_training, resolve_hardware
from ..model import MODEL_DIR, Transformer, list_models, load_model
from ..parallel import MICRO_BATCHES, enumerate_layouts, parse_items
from ..search import search_training
from ..stacks import Stack, get_stack

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases.toml"
MODELS = HERE / "models"


@attrs.frozen
class Case:
    """One published figure: what ran (model, hardware, devices, layout) and what was
    measured (``quantity`` = ``published``), with its source."""

    kind: str
    group: str
    label: str
    model: str
    hardware: str
    quantity: str
    published: float
    source: str
    verified: str = ""
    note: str = ""
    overrides: tuple[str, ...] = ()
    precision: str = "auto"
    devices: int = 0
    batch: int | None = None
    seq_len: int | None = None
    tokens: float | None = None
    parallel: str | None = None
    searchable: str | None = None
    """The layout keys the run's software could choose (``--parallel`` syntax, ``a|b``): what
    the "does the search find the published layout" check searches over."""
    stack: str | None = None
    """The software stack that ran (``xpusim/llm/stacks.toml``); training cases name one."""
    attention: str | None = None
    """The attention kernel of the run where it differs from its stack's (``flash1``, ...)."""
    stack_source: str = ""
    """Where the stack comes from (the source's words on the software that ran)."""
    role: str = "validation"
    """``calibration``: one of the cases its stack's ``gemm_efficiency`` is fitted on (never
    counted as held out); ``validation``: held out from every fit."""
    tp: int | None = None
    prompt: int = 512
    output: int = 256
    scheduling: str = "continuous"
    grouped_kv: bool = True
    reserve_full_context: bool = False
    scored: bool = True
    unscored: str = ""
    """Why a case is shown but left out of the statistics (the rule: the source must give the
    device count and the global batch of what it measured)."""


def load_cases(path: Path = CASES) -> list[Case]:
    """Every case of ``path`` (training first, then serving)."""
    raw = tomllib.loads(Path(path).read_text())
    cases = []
    for kind in ("training", "serving"):
        for entry in raw.get(kind, []):
            entry = dict(entry)
            entry["overrides"] = tuple(entry.get("overrides", ()))
            cases.append(Case(kind=kind, **entry))
    return cases


def model_of(case: Case) -> Transformer:
    """The case's model (built in, or from ``models/``), with the run's sequence length and
    global batch."""
    name = case.model
    path = MODEL_DIR / f"{name}.toml" if name in list_models() else MODELS / f"{name}.toml"
    model = load_model(path)
    changes: dict[str, Any] = {}
    if case.seq_len:
        changes["seq_len"] = case.seq_len
    if case.batch:
        changes["batch_sequences"] = case.batch
    return attrs.evolve(model, **changes) if changes else model


# ---------------------------------------------------------------------------------------------
# What the sources publish, from an estimate
# ---------------------------------------------------------------------------------------------


def megatron_flops(m: Transformer, batch: int, factor: int = 96) -> float:
    """FLOPs of one iteration as Megatron-LM counts them (Narayanan et al. 2021, eq. 3):
    96 B s l h^2 (1 + s/6h + V/16lh) with full recomputation (factor 96); Korthikanti et al.
    2022 count model FLOPs as 72 B s l h^2 (1 + s/6h + V/12lh) (factor 72)."""
    s, l, h, v = m.seq_len, m.layers, m.d_model, m.vocab
    tail = v / (16 * l * h) if factor == 96 else v / (12 * l * h)
    return factor * batch * s * l * h * h * (1 + s / (6 * h) + tail)


def palm_flops_per_token(m: Transformer) -> float:
    """Model FLOPs per token as PaLM counts them (Chowdhery et al. 2022, App. B):
    6 N + 12 L H Q T (parameters, layers, heads, head width, sequence)."""
    return 6.0 * m.params + 12.0 * m.layers * m.heads * m.d_head * m.seq_len


def _tflops_megatron(r, m, c):
    return megatron_flops(m, m.batch_sequences, 96) / (r["step_time_s"] * r["devices"]) / 1e12


def _mfu_megatron(r, m, c):
    return 100.0 * megatron_flops(m, m.batch_sequences, 72) / (
        r["step_time_s"] * r["devices"] * r["peak_flops_per_device"])


def _mfu_palm(r, m, c):
    return 100.0 * r["tokens_per_s"] * palm_flops_per_token(m) / (
        r["devices"] * r["peak_flops_per_device"])


def dao_flops_per_sequence(m: Transformer) -> float:
    """FLOPs per sequence as flash-attention's training benchmarks count them (Dao 2023,
    Sec. 4.2, 'following Megatron-LM'): 6 s N + 12 L h s^2 (attention not halved for the
    causal mask)."""
    s = m.seq_len
    return 6.0 * s * m.params + 12.0 * m.layers * m.d_model * s * s


def _tflops_dao(r, m, c):
    return r["tokens_per_s"] / m.seq_len * dao_flops_per_sequence(m) / r["devices"] / 1e12


def _tflops_palm(r, m, c):
    return r["tokens_per_s"] * palm_flops_per_token(m) / r["devices"] / 1e12


QUANTITIES: dict[str, tuple[str, Callable]] = {
    "step_time_s": ("s per iteration", lambda r, m, c: r["step_time_s"]),
    "device_hours": ("device-hours", lambda r, m, c: r["device_hours"]),
    "time_days": ("days", lambda r, m, c: r["time_days"]),
    "tokens_per_s": ("tokens/s", lambda r, m, c: r["tokens_per_s"]),
    "tokens_per_s_per_device": ("tokens/s per device",
                                lambda r, m, c: r["tokens_per_s_per_device"]
                                if r["kind"] == "serving" else r["tokens_per_s"] / r["devices"]),
    "tflops_megatron": ("TFLOP/s per GPU (Megatron's count)", _tflops_megatron),
    "mfu_megatron": ("MFU % (Korthikanti's count)", _mfu_megatron),
    "mfu_palm": ("MFU % (PaLM's count)", _mfu_palm),
    "tflops_palm": ("TFLOP/s per GPU (6N + 12LHQT)", _tflops_palm),
    "tflops_dao": ("TFLOP/s per GPU (6sN + 12Lhs^2 per sequence)", _tflops_dao),
}
"""quantity -> (unit, f(estimate, model, case)): the estimate's value of what the source
publishes, counted as the source counts it."""


@attrs.frozen
class Outcome:
    """A case priced: the estimate's value of the published quantity and the error."""

    case: Case
    estimate: float
    error: float
    result: dict
    layout: str = ""
    search: str = ""
    refused: str = ""

    @property
    def abs_error(self) -> float:
        return abs(self.error)

    @property
    def scored(self) -> bool:
        """In the statistics: the case is scored and the estimate priced it."""
        return self.case.scored and not self.refused


def _layout_text(p: dict) -> str:
    keys = [f"dp={p['dp']}", f"tp={p['tp']}", f"pp={p['pp']}", f"mb={p['micro_batch']}"]
    if p["vp"] > 1:
        keys.append(f"vp={p['vp']}")
    keys.append(f"rc={p['recompute']}")
    if p["zero"]:
        keys.append(f"zero={p['zero']}")
    keys += [k for k in ("sp", "flash") if p[k]]
    return ",".join(keys)


def run(case: Case, search: bool = False, gemm_efficiency: float | None = None,
        stack: Stack | None = None) -> Outcome:
    """Price one case; ``search`` also runs the layout search over the case's software
    ``searchable`` keys and says whether it finds the published layout or a faster one.
    ``gemm_efficiency`` replaces the stack's (the calibration's trial values); ``stack``
    replaces the case's stack altogether (the mechanism-by-mechanism comparison)."""
    m = model_of(case)
    if case.kind == "serving":
        try:
            r = estimate_serving(m, case.hardware, batch=case.batch, prompt_tokens=case.prompt,
                                 output_tokens=case.output, tp=case.tp,
                                 overrides=case.overrides, precision=case.precision,
                                 scheduling=case.scheduling, grouped_kv=case.grouped_kv,
                                 reserve_full_context=case.reserve_full_context)
        except OutOfMemoryError as exc:  # the published run does not fit the estimate's rule
            return Outcome(case, math.nan, math.nan, {}, refused=str(exc))
        r = {**r, "kind": "serving"}
        layout = f"tp={r['tp']},batch={r['batch']},{case.scheduling}"
    else:
        stack = get_stack(stack or case.stack, flash_attention=case.attention,
                          gemm_efficiency=gemm_efficiency)
        r = estimate_training(m, case.hardware, case.devices, case.tokens,
                              parallel=case.parallel or None, overrides=case.overrides,
                              precision=case.precision, stack=stack)
        layout = _layout_text(r["parallel"]) + (" (searched)" if r["parallel"]["searched"] else "")
    value = QUANTITIES[case.quantity][1](r, m, case)
    found = _search_note(case, m, r, stack) if search and case.kind == "training" else ""
    return Outcome(case, value, value / case.published - 1.0, r, layout, found)


def _search_note(case: Case, m: Transformer, r: dict, stack) -> str:
    """Whether the search over what the run's software could choose finds its layout or a
    faster one."""
    if case.searchable is None:
        return ""
    p = r["parallel"]
    fixed = parse_items(case.searchable)
    mbs = fixed.get("micro_batch", MICRO_BATCHES)
    fixed["micro_batch"] = tuple(dict.fromkeys([*(mbs if isinstance(mbs, tuple) else (mbs,)),
                                                p["micro_batch"]]))
    hw = resolve_hardware(case.hardware, tuple(case.overrides), case.precision)
    ly = enumerate_layouts(m, case.devices, fixed=fixed)
    best, ev, i = search_training(m, hw, case.devices, candidates=ly, stack=stack)
    bd = best.to_dict()
    same = all(bd[k] == p[k] for k in bd)
    if same:
        return "the published layout"
    gain = 1.0 - float(ev["step_s"][i]) / r["step_time_s"]
    text = _layout_text({**bd, "micro_batches": 0})
    if gain > 1e-9:
        return f"faster: {text} ({gain * 100:.1f} % less time)"
    return f"{text} (ties)"


def run_all(cases: list[Case] | None = None, search: bool = False) -> list[Outcome]:
    return [run(c, search) for c in (cases if cases is not None else load_cases())]


def calibration_cases(stack: str, cases: list[Case] | None = None) -> list[Case]:
    """The scored training cases ``stack``'s ``gemm_efficiency`` is fitted on."""
    return [c for c in (cases if cases is not None else load_cases())
            if c.kind == "training" and c.stack == stack and c.role == "calibration"
            and c.scored]


def calibrate(stack: str, cases: list[Case] | None = None, tol: float = 1e-3) -> float | None:
    """The ``gemm_efficiency`` at which the median error over ``stack``'s calibration cases is
    zero (bisection; the error falls as the efficiency falls); None when it has none."""
    chosen = calibration_cases(stack, cases)
    if not chosen:
        return None

    def median_error(eff: float) -> float:
        return statistics.median(run(c, gemm_efficiency=eff).error for c in chosen)

    lo, hi = 0.2, 1.0
    if median_error(hi) <= 0.0:
        return 1.0  # already at or below the runs at the cost model's rate: nothing to take
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if median_error(mid) < 0.0 else (lo, mid)
    return 0.5 * (lo + hi)


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """Median and worst |error|, count beyond 30 %, per kind and per group; for each, also over
    the calibration cases and over the held-out (every other scored) case."""
    def plain(items: list[Outcome]) -> dict[str, Any]:
        items = [o for o in items if o.scored] or items[:0]
        if not items:
            return {"cases": 0}
        errs = [o.abs_error for o in items]
        worst = max(items, key=lambda o: o.abs_error)
        return {"cases": len(items), "median_abs_error": statistics.median(errs),
                "worst_error": worst.error, "worst": worst.case.label,
                "beyond_30": sum(e > 0.30 for e in errs)}

    def stats(items: list[Outcome]) -> dict[str, Any]:
        return {**plain(items),
                "calibration": plain([o for o in items if o.case.role == "calibration"]),
                "held_out": plain([o for o in items if o.case.role != "calibration"])}
    out: dict[str, Any] = {}
    for kind in ("training", "serving"):
        items = [o for o in outcomes if o.case.kind == kind]
        if items:
            out[kind] = stats(items)
            groups: dict[str, list[Outcome]] = {}
            for o in items:
                groups.setdefault(o.case.group, []).append(o)
            out[kind]["groups"] = {g: stats(v) for g, v in groups.items()}
    return out


ENERGY = [
    ("GPT-3 175B, 10,000 V100", 1287.0,
     "Patterson et al. 2021, Table 4: 1,287 MWh (estimated from the run's GPU-hours and power, "
     "PUE 1.1; recalled)"),
    ("BLOOM 176B", 433.0,
     "GENCI (HPCwire award news): 433 MWh for the 1,082,990 compute hours of the whole run "
     "(verified); Jean Zay's measurement boundary (nodes, not GPUs alone) is not stated"),
]
"""Published training energy, by training-case label: (label, MWh, source). Not scored: the
measurement boundaries differ (whole nodes, PUE, restarts) from the estimate's device boundary."""


def energy_rows(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """The estimate's energy for the runs whose energy was published, over the whole run
    (the case's tokens, or the model's published training tokens)."""
    by_label = {o.case.label: o for o in outcomes}
    rows = []
    for label, mwh, source in ENERGY:
        o = by_label.get(label)
        if o is None or not o.result:
            continue
        c = o.case
        tokens = c.tokens or model_of(c).train_tokens
        r = estimate_training(model_of(c), c.hardware, c.devices, tokens,
                              parallel=_layout_of(o.result), overrides=c.overrides,
                              precision=c.precision, stack=c.stack, attention=c.attention)
        rows.append({"label": label, "hardware": c.hardware, "devices": c.devices,
                     "tokens": tokens, "device_mwh": r["device_energy_j"] / 3.6e9,
                     "mwh_with_pue": r["energy_j"] / 3.6e9, "pue": r["pue"],
                     "average_w": r["device_energy_j"] / r["time_s"] / c.devices,
                     "published_mwh": mwh, "source": source})
    return rows


def _layout_of(r: dict) -> str:
    p = r["parallel"]
    return (f"dp={p['dp']},tp={p['tp']},pp={p['pp']},mb={p['micro_batch']},"
            f"recompute={p['recompute']},zero={p['zero']},sp={str(p['sp']).lower()},"
            f"vp={p['vp']},flash={str(p['flash']).lower()},overlap={str(p['overlap']).lower()}")
