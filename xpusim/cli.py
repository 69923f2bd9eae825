"""The ``xpusim`` command line: run, price, specs, plugins, methods (+ studies and estimates).

Bad input of any kind prints one ``error: ...`` line to stderr and exits non-zero, never a
traceback (set ``XPUSIM_DEBUG=1`` to see one).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .cliutil import (DEFAULT_HARDWARE, HARDWARE_HELP, check_out, emit, json_flag,
                      out_option)
from .core.errors import XpusimError

console = Console()
err_console = Console(stderr=True)


def _wide_console() -> Console:
    """Logs and pipes get a wide table rather than 80 squeezed columns."""
    return console if console.is_terminal else Console(width=200)


def _pm(ctx: click.Context):
    from .core.plugins import get_plugin_manager

    obj = ctx.ensure_object(dict)
    if "pm" not in obj:
        obj["pm"] = get_plugin_manager(obj.get("plugins", ()))
    return obj["pm"]


def _si(value: float, unit: str) -> str:
    """Engineering notation: 3.2 mJ, 41 µs."""
    if value == 0 or value != value:
        return f"{value:g} {unit}"
    prefixes = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"),
                (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")]
    for scale, p in prefixes:
        if abs(value) >= scale:
            return f"{value / scale:.4g} {p}{unit}"
    return f"{value:.3g} {unit}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--plugin", "plugins", multiple=True, metavar="MODULE",
              help="Load a plugin module (import name or path to a .py file); repeatable.")
@click.version_option(__version__, prog_name="xpusim")
@click.pass_context
def main(ctx: click.Context, plugins: tuple[str, ...]) -> None:
    """xpusim: what would it cost, and what accuracy would you get, to train a model with a
    learning rule on a piece of hardware, and then to serve it?"""
    ctx.ensure_object(dict)["plugins"] = plugins


# ------------------------------------------------------------------------------------------
# run
# ------------------------------------------------------------------------------------------


def _kv(values: tuple[str, ...], what: str) -> dict[str, Any]:
    import tomllib

    out: dict[str, Any] = {}
    for text in values:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise XpusimError(f"{what} {text!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = value.strip()
    return out


@main.command()
@click.option("--hardware", default=DEFAULT_HARDWARE, show_default=True, help=HARDWARE_HELP)
@click.option("--method", default="backprop", show_default=True,
              help="Training method (see `xpusim methods`).")
@click.option("--model", default="mlp:64-256-10", show_default=True,
              help="Model, e.g. mlp:64-256-10 (inputs-hidden...-classes).")
@click.option("--dataset", default="digits", show_default=True,
              help="digits, idx:PATH or mnist:PATH.")
@click.option("--epochs", default=20, show_default=True, type=click.IntRange(min=0),
              help="Training epochs (0: evaluate the initial weights).")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1),
              help="Mini-batch size.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Seed of every random stream (initialisation, shuffling, device noise): "
                   "the same seed gives bit-identical numbers.")
@click.option("--lr", default=None, type=click.FloatRange(min=0, min_open=True),
              help="Learning rate (default: the method's; 0.05 when plain SGD is chosen "
                   "for a device that accepts no other optimizer).")
@click.option("--optimizer", default=None, type=click.Choice(["sgd", "momentum", "adam"]),
              help="Digital optimizer (default: the first of adam, sgd that the device "
                   "accepts; the output says which).")
@click.option("--momentum", default=0.9, show_default=True,
              type=click.FloatRange(min=0, max=1, max_open=True),
              help="Momentum for --optimizer momentum.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a spec key, e.g. --set compute_format=bf16; repeatable.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="A method option, e.g. --option feedback_scale=0.1; repeatable.")
@click.option("--lifetime-inferences", default=1e9, show_default=True,
              type=click.FloatRange(min=0), help="N for the lifetime cost (training + N "
                                                 "inferences).")
@click.option("--serve-on", default=None, metavar="SPEC",
              help="Deploy the trained weights on another spec and serve there "
                   "(accuracy and inference cost measured on it).")
@click.option("--serve-set", "serve_overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a key of the --serve-on spec; repeatable.")
@click.option("--json", "json_out", is_flag=False, flag_value="-", default=None,
              metavar="[FILE]",
              help="Print the whole RunResult as JSON on stdout (no table). The older form "
                   "--json FILE still writes FILE but is deprecated: use --out FILE.")
@out_option
@click.pass_context
def run(ctx: click.Context, hardware: str, method: str, model: str, dataset: str, epochs: int,
        batch_size: int, seed: int, lr: float | None, optimizer: str | None, momentum: float,
        overrides: tuple[str, ...], options: tuple[str, ...], lifetime_inferences: float,
        serve_on: str | None, serve_overrides: tuple[str, ...],
        json_out: str | None, out: Path | None) -> None:
    """Train MODEL with METHOD on HARDWARE over DATASET; print accuracy and costs."""
    from .api import check_run, run as api_run

    as_json = json_out == "-"
    if json_out not in (None, "-"):
        if out is not None:
            raise XpusimError("give the output file once: --out FILE (--json FILE is the "
                              "deprecated spelling of the same)")
        click.echo(f"warning: --json FILE is deprecated; use --out {json_out} (and --json "
                   f"alone to print JSON)", err=True)
        out = Path(json_out)
    check_out(out)
    if serve_overrides and serve_on is None:
        raise XpusimError("--serve-set needs --serve-on SPEC")
    pm = _pm(ctx)
    method_options = _kv(options, "--option")
    chosen = check_run(pm, hardware=hardware, method=method, model=model, dataset=dataset,
                       set=overrides, options=method_options, optimizer=optimizer, lr=lr,
                       serve_on=serve_on, serve_set=serve_overrides)
    if optimizer is None and chosen.optimizer != "adam" and not as_json:
        lr_note = f" at lr {chosen.lr:g}" if chosen.lr is not None and lr is None else ""
        click.echo(f"optimizer: {chosen.optimizer}{lr_note} (the first of adam, sgd that "
                   f"{chosen.spec}'s device accepts; --optimizer to choose)", err=True)
    result = _train(api_run, pm, as_json, hardware=hardware, method=method, model=model,
                    dataset=dataset, epochs=epochs, batch_size=batch_size, seed=seed,
                    lr=chosen.lr, optimizer=chosen.optimizer, momentum=momentum, set=overrides,
                    options=method_options, lifetime_inferences=lifetime_inferences,
                    serve_on=serve_on, serve_set=serve_overrides)
    emit(result.to_json(), as_json, out, lambda: _print_run(result))
    if result.status != "ok":
        click.echo(f"error: {result.failure}", err=True)
        sys.exit(1)


def _train(api_run: Any, pm: Any, quiet: bool, **kwargs: Any) -> Any:
    """``api_run`` with a progress bar on stderr (none with ``quiet``)."""
    epochs = kwargs["epochs"]
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn("[bold]training"), BarColumn(),
                        TextColumn("epoch {task.completed}/{task.total} {task.fields[info]}"),
                        TimeRemainingColumn(), console=err_console, disable=quiet,
                        transient=True)
    with progress:
        task = progress.add_task("train", total=epochs, info="")

        def on_epoch(epoch: int, acc: float, loss: float) -> None:
            progress.update(task, completed=epoch + 1, info=f"acc {acc:.3f} loss {loss:.3f}")

        return api_run(pm=pm, on_epoch=on_epoch, **kwargs)


def _print_run(r: Any) -> None:
    c = r.config
    served = f", served on {c['serve_spec_name']}" if "serve_spec_name" in c else ""
    t = Table(title=f"{c['method']} · {c['model']} · {c['dataset']} on {c['spec_name']} "
                    f"({c['backend']}){served}, seed {c['seed']}", show_header=True)
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("final test accuracy", f"{r.final_test_accuracy:.4f}")
    t.add_row("optimizer", f"{c['optimizer']}, lr "
                           f"{'the method default' if c.get('lr') is None else format(c['lr'], 'g')}")
    tr, inf = r.training, r.inference_per_sample
    t.add_row("training time", _si(tr["time_s"], "s"))
    t.add_row("training energy", _si(tr["energy_j"], "J"))
    t.add_row("training money", f"${tr['money_usd']:.3g}")
    for comp, e in tr["energy_by_component_j"].items():
        t.add_row(f"  energy: {comp}", _si(e, "J"))
    for phase, v in tr["by_phase"].items():
        t.add_row(f"  phase: {phase}", f"{_si(v['time_s'], 's')} · {_si(v['energy_j'], 'J')}")
    t.add_row("inference time / sample", _si(inf["time_s"], "s"))
    t.add_row("inference energy / sample", _si(inf["energy_j"], "J"))
    n = float(c.get("lifetime_inferences", 1e9))
    life = r.lifetime(n)
    t.add_row(f"lifetime ({n:.3g} inferences)",
              f"{_si(life['energy_j'], 'J')} · ${life['money_usd']:.3g}")
    t.add_row("peak activation memory", _si(r.peak_activation_bytes, "B"))
    t.add_row("cost boundary", tr["cost_boundary"])
    console.print(t)


# ------------------------------------------------------------------------------------------
# price
# ------------------------------------------------------------------------------------------


MAX_COUNT = 2 ** 62
"""Largest operation count a priced shape may have (int64 counts stay exact below 2**63)."""


def _shape(_ctx: Any, _param: Any, value: str) -> tuple[int, int, int]:
    parts = value.split(",")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if len(dims) != 3 or any(d <= 0 for d in dims):
        raise click.BadParameter(f"{value!r}: expected M,N,K as three positive integers, "
                                 f"e.g. 128,4096,4096")
    if math.prod(dims) >= MAX_COUNT:
        raise click.BadParameter(f"{value!r}: M x N x K = {math.prod(dims):.3g} operations; "
                                 f"expected fewer than 2**62 (counts are exact int64)")
    return dims  # type: ignore[return-value]


@main.command()
@click.option("--hardware", default=DEFAULT_HARDWARE, show_default=True, help=HARDWARE_HELP)
@click.option("--primitive", default="mvm", show_default=True,
              help="mvm, mvm_t, update, elementwise, reduce, write.")
@click.option("--shape", required=True, callback=_shape, metavar="M,N,K",
              help="An (M x K)·(K x N) product: M activation rows, K inputs, N outputs.")
@click.option("--bits", type=click.IntRange(min=1), default=None,
              help="Operand bits (default: what the device uses for this primitive).")
@click.option("--format", "fmt", default=None,
              help="Operand format: fp32, bf16, int8, ... (default: the device's).")
@click.option("--count", default=1, show_default=True, type=click.IntRange(min=1),
              help="How many times the primitive runs.")
@click.option("--activity", default=1.0, show_default=True, type=click.FloatRange(0, 1),
              help="Fraction of inputs carrying events (event-driven hardware).")
@click.option("--phase", default="inference", show_default=True,
              help="Phase the row is priced in: inference, train-forward, train-backward, "
                   "train-update, deploy.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a spec key, e.g. --set compute_format=bf16; repeatable.")
@json_flag
@out_option
@click.pass_context
def price(ctx: click.Context, hardware: str, primitive: str, shape: tuple[int, int, int],
          bits: int | None, fmt: str | None, count: int, activity: float, phase: str,
          overrides: tuple[str, ...], as_json: bool, out: Path | None) -> None:
    """Price one primitive on one spec: time, energy and its breakdown."""
    from .api import price as api_price
    from .core.trace import PHASES

    check_out(out)
    if phase not in PHASES:
        from .core.errors import UnknownNameError

        raise UnknownNameError("phase", phase, PHASES)
    result = api_price(hardware, primitive, shape, bits=bits, fmt=fmt, set=overrides,
                       count=count, activity=activity, phase=phase,
                       plugins=ctx.obj.get("plugins", ()))

    def table() -> None:
        t = Table(title=f"{primitive} {'x'.join(map(str, shape))} ({result['format']}, "
                        f"{result['bits']} bits) on {result['spec']} ({result['backend']})")
        t.add_column("quantity")
        t.add_column("value", justify="right")
        t.add_row("time", _si(result["time_s"], "s"))
        t.add_row("energy", _si(result["energy_j"], "J"))
        for comp, e in result["breakdown"].items():
            t.add_row(f"  {comp}", _si(e, "J"))
        for name, v in {**result["counters"], **result.get("derived", {})}.items():
            t.add_row(name, f"{v:.6g}")
        t.add_row("cost boundary", result["cost_boundary"])
        console.print(t)

    emit(result, as_json, out, table)


# ------------------------------------------------------------------------------------------
# specs, plugins, methods
# ------------------------------------------------------------------------------------------


@main.group()
def specs() -> None:
    """List, show, validate and template hardware specs."""


HEADLINE = (("process_nm", "node", "nm"), ("static_power_w", "static", "W"),
            ("price_usd_per_hour", "price", "$/h"))
"""Keys every built-in backend's specs share, shown by ``specs list``."""


def _spec_origins(pm: Any) -> dict[Path, str]:
    """Spec folder -> who supplies it ("built-in" or the plugin's name and origin)."""
    from .core.plugins import SPEC_DIR

    origins = {SPEC_DIR.resolve(): "built-in"}
    for rec in pm.records:
        module = pm.pm.get_plugin(rec.name)
        where = getattr(module, "__file__", None)
        if rec.origin == "builtin" or not where:
            continue
        root = Path(where).resolve().parent
        for folder in pm.spec_dirs:
            folder = Path(folder).resolve()
            if folder not in origins and folder.is_relative_to(root):
                origins[folder] = f"plugin {rec.name} ({rec.origin})"
    return origins


def spec_listing(pm: Any) -> list[dict[str, Any]]:
    """One record per spec file: name, backend, headline numbers, description, origin, file."""
    from .core.errors import SpecError
    from .core.specs import read_toml

    origins = _spec_origins(pm)
    rows = []
    for name, path in sorted(pm.spec_files().items()):
        try:
            raw = read_toml(path)
        except SpecError as exc:
            raw = {"description": f"unreadable: {exc}"}
        row = {"name": name, "backend": str(raw.get("backend", "?")),
               **_declared(pm, name),
               **{key: raw.get(key) if isinstance(raw.get(key), (int, float)) else None
                  for key, _, _ in HEADLINE},
               "description": str(raw.get("description", "")),
               "origin": origins.get(path.resolve().parent, "plugin"), "file": str(path)}
        rows.append(row)
    return rows


def _declared(pm: Any, name: str) -> dict[str, Any]:
    """The spec's best declared peak rate (and its format) and memory; None when unknown."""
    try:
        caps = pm.capabilities(pm.load_spec(name))
    except XpusimError:
        return {"peak_ops_per_s": None, "peak_format": None, "memory_bytes": None}
    peaks = dict(caps.peak_ops_per_s)
    best = max(peaks, key=peaks.get) if peaks else None
    return {"peak_ops_per_s": peaks[best] if best else None, "peak_format": best,
            "memory_bytes": caps.memory_bytes}


@specs.command("list")
@json_flag
@out_option
@click.pass_context
def specs_list(ctx: click.Context, as_json: bool, out: Path | None) -> None:
    """Every spec file the loaded plugins know: backend, headline numbers, where it comes from."""
    check_out(out)
    rows = spec_listing(_pm(ctx))

    def table() -> None:
        t = Table(title="hardware specs (files: --json; sources: xpusim specs show NAME)")
        for col in ("name", "backend", "peak (TOPS)", "memory (GB)",
                    *(f"{label} ({unit})" for _, label, unit in HEADLINE), "from",
                    "description"):
            t.add_column(col, justify="right" if "(" in col else "left",
                         no_wrap=col != "description")
        for r in rows:
            peak = ("–" if r["peak_ops_per_s"] is None else
                    f"{r['peak_ops_per_s'] / 1e12:.4g} {r['peak_format']}")
            memory = "–" if r["memory_bytes"] is None else f"{r['memory_bytes'] / 1e9:.3g}"
            t.add_row(r["name"], r["backend"], peak, memory,
                      *("–" if r[key] is None else f"{r[key]:g}" for key, _, _ in HEADLINE),
                      r["origin"], r["description"])
        _wide_console().print(t)

    emit(rows, as_json, out, table)


@specs.command("show")
@click.argument("spec")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a spec key before showing it; repeatable.")
@json_flag
@out_option
@click.pass_context
def specs_show(ctx: click.Context, spec: str, overrides: tuple[str, ...], as_json: bool,
               out: Path | None) -> None:
    """The resolved spec (after overrides), its hash, its sources and what it declares it can
    hold and do (capabilities: memory, peak rate per format, on-chip weights)."""
    check_out(out)
    pm = _pm(ctx)
    s = pm.load_spec(spec, overrides)
    data = {**s.to_dict(), "spec_hash": s.hash, "capabilities": pm.capabilities(s).to_dict()}
    emit(data, as_json, out, lambda: console.print_json(data=data, default=str))


@specs.command("validate")
@click.argument("paths", nargs=-1, required=True)
@json_flag
@click.pass_context
def specs_validate(ctx: click.Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Validate spec files (or names); list numbers that have no [source] entry."""
    from .core.errors import SpecError
    from .core.specs import read_toml, uncited

    pm = _pm(ctx)
    results = []
    for ref in paths:
        try:
            spec = pm.load_spec(ref)
        except SpecError as exc:
            results.append({"ref": ref, "ok": False, "error": str(exc)})
            if not as_json:
                click.echo(f"error: {exc}", err=True)
            continue
        missing = uncited(read_toml(spec.path)) if spec.path else []
        results.append({"ref": ref, "ok": True, "name": spec.name, "backend": spec.backend,
                        "hash": spec.hash, "uncited": missing})
        if not as_json:
            note = f" ({len(missing)} numbers without a [source]: {', '.join(missing)})" \
                if missing else ""
            console.print(f"ok: {ref}: spec {spec.name!r}, backend {spec.backend!r}, "
                          f"hash {spec.hash}{note}", markup=False)
    if as_json:
        emit(results, True, None, lambda: None)
    if not all(r["ok"] for r in results):
        sys.exit(2)


@specs.command("new")
@click.argument("backend")
@click.pass_context
def specs_new(ctx: click.Context, backend: str) -> None:
    """Print a commented TOML template with every key, unit and default of BACKEND."""
    info = _pm(ctx).backend(backend)
    from .testing.template import spec_template

    click.echo(spec_template(info))


def plugin_listing(pm: Any, check: bool) -> dict[str, Any]:
    """Loaded plugins and, per backend, its primitives, kernel suppliers and conformance."""
    from .core.specs import read_toml

    plugins = [{"plugin": rec.name, "origin": rec.origin,
                "hooks": [h.removeprefix("xpusim_") for h in rec.hooks],
                "status": f"broken: {rec.error}" if rec.error else "ok"} for rec in pm.records]
    files = pm.spec_files()
    backends = []
    for name, info in sorted(pm.backends.items()):
        spec_name = next((s for s, p in sorted(files.items())
                          if read_toml(p).get("backend") == name), None)
        comp = cost = "(no spec to resolve)"
        if spec_name:
            spec = pm.load_spec(spec_name)
            ks = pm.compute_kernels(spec)
            owners = {ks.provider_of(n) for n in ks.names}
            comp = ks.provider if owners == {ks.provider} else "; ".join(
                f"{n}: {ks.provider_of(n)}" for n in ks.names)
            cost = pm.cost_model(spec).provider
        backends.append({"backend": name, "primitives": sorted(info.primitives),
                         "optimizers": None if info.optimizers is None
                         else sorted(info.optimizers),
                         "compute_kernels_from": comp, "cost_kernels_from": cost,
                         "conformance": _conformance(pm, name) if check else "not run"})
    return {"plugins": plugins, "backends": backends}


@main.command()
@click.option("--check", is_flag=True, help="Also run the conformance suite on each backend.")
@json_flag
@out_option
@click.pass_context
def plugins(ctx: click.Context, check: bool, as_json: bool, out: Path | None) -> None:
    """Loaded plugins: name, origin, hooks, status; and who supplies each backend's kernels."""
    check_out(out)
    data = plugin_listing(_pm(ctx), check)

    def table() -> None:
        t = Table(title="plugins")
        for col in ("plugin", "origin", "hooks", "status"):
            t.add_column(col)
        for r in data["plugins"]:
            t.add_row(r["plugin"], r["origin"], ", ".join(r["hooks"]), r["status"])
        console.print(t)
        k = Table(title="backends")
        for col in ("backend", "primitives", "compute kernels from", "cost kernels from",
                    "conformance"):
            k.add_column(col)
        for b in data["backends"]:
            k.add_row(b["backend"], ", ".join(b["primitives"]), b["compute_kernels_from"],
                      b["cost_kernels_from"], b["conformance"])
        console.print(k)

    emit(data, as_json, out, table)


def _conformance(pm: Any, backend: str) -> str:
    if importlib.util.find_spec("xpusim.testing") is None:
        return "suite not installed"
    from xpusim import testing

    results = testing.run_checks(pm, backend)
    failed = [r for r in results if not r.passed]
    return "pass" if not failed else "FAIL: " + "; ".join(f"{r.name}: {r.message}" for r in failed)


def method_matrix(pm: Any) -> dict[str, Any]:
    """Each method's needs and, per backend, whether it can run there (and what is missing);
    per layer type, whether it can train it (and why not)."""
    kinds = sorted(pm.layers)

    def layer_support(m: Any) -> dict[str, dict[str, Any]]:
        unsupported = getattr(m.factory, "unsupported", None)
        if unsupported is None:  # a third-party rule that declares nothing
            return {k: {"trains": None, "why": "not declared"} for k in kinds}
        return {k: {"trains": k not in unsupported, "why": unsupported.get(k, "")}
                for k in kinds}

    return {"methods": [
        {"method": mname, "needs": sorted(m.primitives), "doc": m.doc,
         "options": None if getattr(m, "options", None) is None else sorted(m.options),
         "backends": {bname: {"runs": not (m.primitives - b.primitives),
                              "missing": sorted(m.primitives - b.primitives)}
                      for bname, b in sorted(pm.backends.items())},
         "layers": layer_support(m)}
        for mname, m in sorted(pm.methods.items())]}


@main.command()
@json_flag
@out_option
@click.pass_context
def methods(ctx: click.Context, as_json: bool, out: Path | None) -> None:
    """Which learning rule runs on which hardware (what each method needs, what each backend
    offers) and which layer types each rule can train (and why not)."""
    check_out(out)
    data = method_matrix(_pm(ctx))

    def table() -> None:
        backends = list(data["methods"][0]["backends"]) if data["methods"] else []
        t = Table(title="training method x hardware backend")
        t.add_column("method (needs)")
        for name in backends:
            t.add_column(name, justify="center")
        for m in data["methods"]:
            cells = ["[green]yes[/]" if c["runs"] else
                     f"[red]no[/] (needs {', '.join(c['missing'])})"
                     for c in m["backends"].values()]
            t.add_row(f"{m['method']} ({', '.join(m['needs'])})", *cells)
        console.print(t)
        kinds = list(data["methods"][0]["layers"]) if data["methods"] else []
        t = Table(title="layer type x training method (see docs/models.md)")
        t.add_column("layer type")
        for m in data["methods"]:
            t.add_column(m["method"], justify="center")
        for kind in kinds:
            cells = [m["layers"][kind]["trains"] for m in data["methods"]]
            t.add_row(kind, *["[green]yes[/]" if c else "[yellow]?[/]" if c is None
                              else "[red]no[/]" for c in cells])
        console.print(t)
        reasons = {(m["method"], c["why"]) for m in data["methods"]
                   for c in m["layers"].values() if c["trains"] is False}
        for method, why in sorted(reasons):
            console.print(f"{method}: {why}", markup=False)

    emit(data, as_json, out, table)


# Commands contributed by optional sub-packages (studies, LLM estimates).
_EXTRA_COMMANDS = ("xpusim.study.cli:study", "xpusim.study.cli:compare", "xpusim.llm.cli:estimate")
for _ref in _EXTRA_COMMANDS:
    _mod, _, _attr = _ref.partition(":")
    if importlib.util.find_spec(_mod.rsplit(".", 1)[0]) and importlib.util.find_spec(_mod):
        main.add_command(getattr(importlib.import_module(_mod), _attr))


def entry(argv: list[str] | None = None) -> int:
    """Run the CLI; turn every expected error into one line on stderr and an exit code."""
    try:
        main.main(args=argv, prog_name="xpusim", standalone_mode=False)
    except XpusimError as exc:
        for line in str(exc).splitlines():
            click.echo(f"error: {line}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        err_console.print("error: aborted")
        return 130
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for debugging
        if os.environ.get("XPUSIM_DEBUG"):
            raise
        click.echo(f"error: internal error: {type(exc).__name__}: {exc} "
                   f"(set XPUSIM_DEBUG=1 for a traceback)", err=True)
        return 3
    return 0


def cli_main() -> None:
    sys.exit(entry())


if __name__ == "__main__":
    cli_main()
