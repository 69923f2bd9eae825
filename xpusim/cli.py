"""The ``xpusim`` command line: run, price, specs, plugins, methods (+ studies and estimates).

Bad input of any kind prints one ``error: ...`` line to stderr and exits non-zero, never a
traceback (set ``XPUSIM_DEBUG=1`` to see one).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .core.errors import XpusimError

console = Console()
err_console = Console(stderr=True)


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
@click.option("--hardware", default="h100-sxm", show_default=True, help="Spec name or TOML path.")
@click.option("--method", default="backprop", show_default=True, help="Training method.")
@click.option("--model", default="mlp:64-256-10", show_default=True, help="Model, e.g. mlp:64-256-10.")
@click.option("--dataset", default="digits", show_default=True, help="digits, idx:PATH, mnist:PATH.")
@click.option("--epochs", default=20, show_default=True, type=click.IntRange(min=0))
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--lr", default=None, type=click.FloatRange(min=0, min_open=True),
              help="Learning rate (default: the method's).")
@click.option("--optimizer", default="adam", show_default=True,
              type=click.Choice(["sgd", "momentum", "adam"]))
@click.option("--momentum", default=0.9, show_default=True, type=float)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a spec key, e.g. --set compute_format=bf16; repeatable.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="A method option, e.g. --option hidden_epochs=5; repeatable.")
@click.option("--lifetime-inferences", default=1e9, show_default=True, type=float,
              help="N for the lifetime cost (training + N inferences).")
@click.option("--serve-on", default=None, metavar="SPEC",
              help="Deploy the trained weights on another spec and serve there "
                   "(accuracy and inference cost measured on it).")
@click.option("--serve-set", "serve_overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a key of the --serve-on spec; repeatable.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True),
              help="Write the whole RunResult as JSON ('-' for stdout).")
@click.pass_context
def run(ctx: click.Context, hardware: str, method: str, model: str, dataset: str, epochs: int,
        batch_size: int, seed: int, lr: float | None, optimizer: str, momentum: float,
        overrides: tuple[str, ...], options: tuple[str, ...], lifetime_inferences: float,
        serve_on: str | None, serve_overrides: tuple[str, ...],
        json_path: str | None) -> None:
    """Train MODEL with METHOD on HARDWARE over DATASET; print accuracy and costs."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from .api import run as api_run

    pm = _pm(ctx)
    from .core.scheduler import check_compatible

    spec = pm.load_spec(hardware, overrides)  # fail fast, before the progress bar starts
    check_compatible(pm.method(method), pm.backend(spec.backend), spec.name)
    if serve_on is not None:
        pm.load_spec(serve_on, serve_overrides)
    elif serve_overrides:
        raise XpusimError("--serve-set needs --serve-on SPEC")
    pm.model(model)
    quiet = json_path == "-"
    progress = Progress(TextColumn("[bold]training"), BarColumn(),
                        TextColumn("epoch {task.completed}/{task.total} {task.fields[info]}"),
                        TimeRemainingColumn(), console=err_console, disable=quiet,
                        transient=True)
    with progress:
        task = progress.add_task("train", total=epochs, info="")

        def on_epoch(epoch: int, acc: float, loss: float) -> None:
            progress.update(task, completed=epoch + 1, info=f"acc {acc:.3f} loss {loss:.3f}")

        result = api_run(hardware=hardware, method=method, model=model, dataset=dataset,
                         epochs=epochs, batch_size=batch_size, seed=seed, lr=lr,
                         optimizer=optimizer, momentum=momentum, set=overrides,
                         options=_kv(options, "--option"),
                         lifetime_inferences=lifetime_inferences, pm=pm, on_epoch=on_epoch,
                         serve_on=serve_on, serve_set=serve_overrides)
    if json_path:
        text = result.dumps()
        if json_path == "-":
            click.echo(text)
        else:
            Path(json_path).write_text(text + "\n")
    if not quiet:
        _print_run(result)
    if result.status != "ok":
        click.echo(f"error: {result.failure}", err=True)
        sys.exit(1)


def _print_run(r: Any) -> None:
    c = r.config
    served = f", served on {c['serve_spec_name']}" if "serve_spec_name" in c else ""
    t = Table(title=f"{c['method']} · {c['model']} · {c['dataset']} on {c['spec_name']} "
                    f"({c['backend']}){served}, seed {c['seed']}", show_header=True)
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("final test accuracy", f"{r.final_test_accuracy:.4f}")
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


def _shape(_ctx: Any, _param: Any, value: str) -> tuple[int, int, int]:
    parts = value.split(",")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if len(dims) != 3 or any(d <= 0 for d in dims):
        raise click.BadParameter(f"{value!r}: expected M,N,K as three positive integers, "
                                 f"e.g. 128,4096,4096")
    return dims  # type: ignore[return-value]


@main.command()
@click.option("--hardware", required=True, help="Spec name or TOML path.")
@click.option("--primitive", default="mvm", show_default=True,
              help="mvm, mvm_t, update, elementwise, reduce, write.")
@click.option("--shape", required=True, callback=_shape, metavar="M,N,K",
              help="An (M x K)·(K x N) product: M activation rows, K inputs, N outputs.")
@click.option("--bits", type=click.IntRange(min=1), default=None, help="Operand bits.")
@click.option("--format", "fmt", default=None, help="Operand format (fp32, bf16, int8, ...).")
@click.option("--count", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--activity", default=1.0, show_default=True, type=click.FloatRange(0, 1),
              help="Fraction of inputs carrying events (event-driven hardware).")
@click.option("--phase", default="inference", show_default=True)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def price(ctx: click.Context, hardware: str, primitive: str, shape: tuple[int, int, int],
          bits: int | None, fmt: str | None, count: int, activity: float, phase: str,
          overrides: tuple[str, ...], as_json: bool) -> None:
    """Price one primitive on one spec: time, energy and its breakdown."""
    from .api import price as api_price
    from .core.trace import PHASES

    if phase not in PHASES:
        from .core.errors import UnknownNameError

        raise UnknownNameError("phase", phase, PHASES)
    out = api_price(hardware, primitive, shape, bits=bits, fmt=fmt, set=overrides, count=count,
                    activity=activity, phase=phase, plugins=ctx.obj.get("plugins", ()))
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    t = Table(title=f"{primitive} {'x'.join(map(str, shape))} ({out['format']}, {out['bits']} "
                    f"bits) on {out['spec']} ({out['backend']})")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("time", _si(out["time_s"], "s"))
    t.add_row("energy", _si(out["energy_j"], "J"))
    for comp, e in out["breakdown"].items():
        t.add_row(f"  {comp}", _si(e, "J"))
    for name, v in {**out["counters"], **out.get("derived", {})}.items():
        t.add_row(name, f"{v:.6g}")
    t.add_row("cost boundary", out["cost_boundary"])
    console.print(t)


# ------------------------------------------------------------------------------------------
# specs, plugins, methods
# ------------------------------------------------------------------------------------------


@main.group()
def specs() -> None:
    """List, show, validate and template hardware specs."""


@specs.command("list")
@click.pass_context
def specs_list(ctx: click.Context) -> None:
    """Every spec file the loaded plugins know, with its backend."""
    from .core.specs import read_toml

    pm = _pm(ctx)
    t = Table(title="hardware specs")
    for col in ("name", "backend", "description", "file"):
        t.add_column(col)
    for name, path in sorted(pm.spec_files().items()):
        raw = read_toml(path)
        t.add_row(name, str(raw.get("backend", "?")), str(raw.get("description", "")), str(path))
    console.print(t)


@specs.command("show")
@click.argument("spec")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def specs_show(ctx: click.Context, spec: str, overrides: tuple[str, ...], as_json: bool) -> None:
    """The resolved spec (after overrides), its hash, its sources and what it declares it can
    hold and do (capabilities: memory, peak rate per format, on-chip weights)."""
    pm = _pm(ctx)
    s = pm.load_spec(spec, overrides)
    data = {**s.to_dict(), "spec_hash": s.hash, "capabilities": pm.capabilities(s).to_dict()}
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    console.print_json(json.dumps(data, default=str))


@specs.command("validate")
@click.argument("paths", nargs=-1, required=True)
@click.pass_context
def specs_validate(ctx: click.Context, paths: tuple[str, ...]) -> None:
    """Validate spec files; list numbers that have no [source] entry."""
    from .core.errors import SpecError
    from .core.specs import read_toml, uncited

    pm = _pm(ctx)
    failed = False
    for ref in paths:
        try:
            spec = pm.load_spec(ref)
        except SpecError as exc:
            failed = True
            click.echo(f"error: {exc}", err=True)
            continue
        missing = uncited(read_toml(spec.path)) if spec.path else []
        note = f" ({len(missing)} numbers without a [source]: {', '.join(missing)})" \
            if missing else ""
        console.print(f"ok: {ref}: spec {spec.name!r}, backend {spec.backend!r}, "
                      f"hash {spec.hash}{note}", markup=False)
    if failed:
        sys.exit(2)


@specs.command("new")
@click.argument("backend")
@click.pass_context
def specs_new(ctx: click.Context, backend: str) -> None:
    """Print a commented TOML template with every key, unit and default of BACKEND."""
    info = _pm(ctx).backend(backend)
    from .testing.template import spec_template

    click.echo(spec_template(info))


@main.command()
@click.option("--check", is_flag=True, help="Also run the conformance suite on each backend.")
@click.pass_context
def plugins(ctx: click.Context, check: bool) -> None:
    """Loaded plugins: name, origin, hooks, status; and who supplies each backend's kernels."""
    pm = _pm(ctx)
    t = Table(title="plugins")
    for col in ("plugin", "origin", "hooks", "status"):
        t.add_column(col)
    for rec in pm.records:
        hooks = ", ".join(h.removeprefix("xpusim_") for h in rec.hooks)
        t.add_row(rec.name, rec.origin, hooks, f"broken: {rec.error}" if rec.error else "ok")
    console.print(t)
    k = Table(title="backends")
    for col in ("backend", "primitives", "compute kernels from", "cost kernels from", "conformance"):
        k.add_column(col)
    files = pm.spec_files()
    from .core.specs import read_toml

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
        status = "not run"
        if check:
            status = _conformance(pm, name)
        k.add_row(name, ", ".join(sorted(info.primitives)), comp, cost, status)
    console.print(k)


def _conformance(pm: Any, backend: str) -> str:
    if importlib.util.find_spec("xpusim.testing") is None:
        return "suite not installed"
    from xpusim import testing

    results = testing.run_checks(pm, backend)
    failed = [r for r in results if not r.passed]
    return "pass" if not failed else "FAIL: " + "; ".join(f"{r.name}: {r.message}" for r in failed)


@main.command()
@click.pass_context
def methods(ctx: click.Context) -> None:
    """The method x backend compatibility matrix (what each method needs, what each offers)."""
    pm = _pm(ctx)
    backends = sorted(pm.backends.items())
    t = Table(title="training method x hardware backend")
    t.add_column("method (needs)")
    for name, _ in backends:
        t.add_column(name, justify="center")
    for mname, m in sorted(pm.methods.items()):
        cells = []
        for _, b in backends:
            missing = sorted(m.primitives - b.primitives)
            cells.append("[green]yes[/]" if not missing else f"[red]no[/] (needs {', '.join(missing)})")
        t.add_row(f"{mname} ({', '.join(sorted(m.primitives))})", *cells)
    console.print(t)


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
