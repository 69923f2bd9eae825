"""``xpusim study run|report|export|show`` and ``xpusim compare`` (click objects).

The main CLI adds them with ``main.add_command(study)`` and ``main.add_command(compare)``.
Errors are raised as ``XpusimError`` (one line each; the main entry prints them and exits 2).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from ..cliutil import emit, json_flag
from ..core.errors import XpusimError
from .spec import PLAN_LIMIT

class Interrupted(XpusimError):
    """Ctrl-C during a study: what is stored stays stored."""

    exit_code = 130


EXECUTOR_HELP = ("local: a process pool on this machine (default); dask: a Dask LocalCluster, "
                 "or the cluster given by --scheduler; serial: this process, one run at a time.")


def _plugins(ctx: click.Context) -> tuple[str, ...]:
    obj = ctx.find_root().obj
    return tuple(obj.get("plugins", ())) if isinstance(obj, dict) else ()


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    console = Console(stderr=stderr)
    # Logs and pipes get a wide table rather than 80 squeezed columns.
    return console if console.is_terminal else Console(stderr=stderr, width=160)


def _si(value: float, unit: str) -> str:
    from .report import _fmt

    return _fmt(value, unit)


def print_summary(df: Any, console: Any, title: str = "study summary") -> None:
    """A rich table: one row per configuration, ranked by accuracy."""
    from rich.table import Table

    from .report import configurations, ranked

    if df.empty:
        console.print("no runs stored")
        return
    conf = ranked(configurations(df))
    t = Table(title=title)
    for col, just in (("#", "right"), ("configuration", "left"), ("ok/runs", "right"),
                      ("accuracy", "right"), ("train energy", "right"),
                      ("train cost", "right"), ("infer energy/sample", "right"),
                      ("Pareto", "center")):
        t.add_column(col, justify=just, no_wrap=col != "configuration",
                     min_width=24 if col == "configuration" else None)
    for _, r in conf.iterrows():
        acc = (f"{r['accuracy']:.3f} ± {r['accuracy_std']:.3f}" if math.isfinite(r["accuracy"])
               else "[red]failed[/]")
        t.add_row(str(r["rank"]), r["configuration"], f"{r['runs'] - r['failed']}/{r['runs']}",
                  acc, _si(r["train_energy_j"], "J"), _si(r["train_money_usd"], "$"),
                  _si(r["infer_energy_j"], "J"), "✓" if r["pareto"] else "")
    console.print(t)


def _print_plan(study: Any, console: Any, db: Path | None = None) -> None:
    axes = ", ".join(f"{a} ({len({dict(r.point).get(a) for r in study.runs})})"
                     for a in study.axes) or "none"
    console.print(f"study [bold]{study.name}[/]: {len(study.runs)} runs over axes {axes}"
                  + (f"; {len(study.skipped)} combinations skipped" if study.skipped else "")
                  + (f"; results in {db}" if db else ""))
    for note in study.notes:
        console.print(f"  note: {note}")
    for line in study.skipped[:20]:
        console.print(f"  skipped: {line}")
    if len(study.skipped) > 20:
        console.print(f"  ... and {len(study.skipped) - 20} more skipped")


def _execute(study: Any, db: Path, executor: str, scheduler: str | None, workers: int | None,
             retry_failed: bool, quiet: bool) -> Any:
    from .driver import load, run_study
    from .store import Store

    err = _console(stderr=True)
    with Store(db) as store:
        stored = store.statuses(study.hashes)
    n_ok = sum(1 for s in stored.values() if s == "ok")
    n_failed = len(stored) - n_ok
    if stored and not quiet:
        err.print(f"resuming: {n_ok} runs already stored, {n_failed} failed"
                  + (" (retrying them)" if retry_failed and n_failed else
                     " (kept; --retry-failed reruns them)" if n_failed else ""))
    try:
        outcome = run_study(study, db=db, executor=executor, workers=workers,
                            scheduler=scheduler, retry_failed=retry_failed, progress=not quiet,
                            console=err)
    except KeyboardInterrupt:
        with Store(db) as store:
            n = len(store.statuses(study.hashes))
        raise Interrupted(f"interrupted: {n} of {len(study.runs)} runs are stored in {db}; "
                          f"run the same command again to resume") from None
    df = load(db, study.name)
    if not quiet:
        print_summary(df, _console(), title=f"study {study.name}: {outcome.total} runs "
                      f"({outcome.ran} run now in {outcome.elapsed_s:.1f} s, "
                      f"{outcome.already_done} already stored)")
        failed = df[df["status"] != "ok"]
        for _, r in failed.iterrows():
            err.print(f"failed run {r['hash']}: {r['failure']}", markup=False, highlight=False)
    return outcome


def summary_records(db: Path, study_name: str | None) -> list[dict[str, Any]]:
    """The ranked configurations of a study database as plain records (``--json``)."""
    from .driver import load
    from .report import configurations, ranked

    df = load(db, study_name)
    if df.empty:
        return []
    conf = ranked(configurations(df))
    return [{k: (None if isinstance(v, float) and not math.isfinite(v) else
                 v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in conf.to_dict(orient="records")]


def _emit_summary(db: Path, study_name: str | None) -> None:
    emit({"db": str(db), "study": study_name, "configurations": summary_records(db, study_name)},
         True, None, lambda: None)


# ----------------------------------------------------------------------------------------------


@click.group()
def study() -> None:
    """Comparative studies: run a grid from a TOML file, report, export."""


@study.command("run")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SQLite result store (default: FILE with the suffix .sqlite).")
@click.option("--executor", type=click.Choice(["local", "dask", "serial"]), default="local",
              show_default=True, help=EXECUTOR_HELP)
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Address of an existing Dask scheduler (implies --executor dask).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: all cores).")
@click.option("--retry-failed", is_flag=True, help="Run again the runs stored as failed.")
@click.option("--dry-run", is_flag=True,
              help="Check and expand the file, print the plan, stop (plugins the file names "
                   "are never loaded).")
@click.option("--allow-plugins", is_flag=True,
              help="Load the plugins the study file names under [options] plugins (they run "
                   "code; paths are relative to the study file).")
@click.option("--yes", "-y", is_flag=True,
              help=f"Run a grid larger than {PLAN_LIMIT:,} runs.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or tables.")
@json_flag
@click.pass_context
def study_run(ctx: click.Context, file: Path, db: Path | None, executor: str,
              scheduler: str | None, workers: int | None, retry_failed: bool, dry_run: bool,
              allow_plugins: bool, yes: bool, quiet: bool, as_json: bool) -> None:
    """Run the study FILE: every run not already stored in the database."""
    from .spec import load_study

    s = load_study(file, plugins=_plugins(ctx), allow_plugins=allow_plugins,
                   load_plugins=not dry_run, max_runs=None if yes else PLAN_LIMIT)
    db = db or file.with_suffix(".sqlite")
    if scheduler and executor == "local":
        executor = "dask"
    if scheduler and executor != "dask":
        raise XpusimError(f"--scheduler needs --executor dask (got --executor {executor})")
    if dry_run:
        if as_json:
            emit({"study": s.name, "db": str(db), "runs": [
                {"hash": r.hash, "point": dict(r.point)} for r in s.runs],
                "skipped": list(s.skipped), "notes": list(s.notes)}, True, None, lambda: None)
            return
        _print_plan(s, _console(stderr=True), db)
        console = _console()
        for r in s.runs:
            console.print(f"{r.hash}  " + "  ".join(f"{k}={v}" for k, v in r.point),
                          markup=False, highlight=False)
        return
    if not (quiet or as_json):
        _print_plan(s, _console(stderr=True), db)
    _execute(s, db, executor, scheduler, workers, retry_failed, quiet or as_json)
    if as_json:
        _emit_summary(db, s.name)


@study.command("report")
@click.argument("db", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the plots (PNG, SVG), summary.csv and report.md.")
@click.option("--study", "study_name", default=None, help="Only this study of the database.")
def study_report(db: Path, out: Path, study_name: str | None) -> None:
    """Write plots and a Markdown report from the study database DB."""
    from .report import write_report

    path = write_report(db, out, study=study_name)
    click.echo(f"report written to {path}")


@study.command("export")
@click.argument("db", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every run as one CSV row to this file.")
@click.option("--parquet", "parquet_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every run as one Parquet row to this file (needs pyarrow).")
@click.option("--study", "study_name", default=None, help="Only this study of the database.")
def study_export(db: Path, csv_path: Path | None, parquet_path: Path | None,
                 study_name: str | None) -> None:
    """Export every run of DB, one row each with breakdowns as columns, to CSV or Parquet."""
    from ..outputs import check_file, open_output
    from .driver import load

    if not csv_path and not parquet_path:
        raise XpusimError("study export: give --csv PATH or --parquet PATH (or both)")
    for path, opt in ((csv_path, "--csv"), (parquet_path, "--parquet")):
        if path is not None:
            check_file(path, opt)
    df = load(db, study_name)
    if csv_path:
        with open_output(csv_path, "w", "--csv") as fh:
            df.to_csv(fh, index=False)
        click.echo(f"{len(df)} runs written to {csv_path}")
    if parquet_path:
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise XpusimError(f"--parquet needs pyarrow: {exc}") from None
        with open_output(parquet_path, "wb", "--parquet") as fh:
            df.to_parquet(fh, index=False)
        click.echo(f"{len(df)} runs written to {parquet_path}")


@study.command("show")
@click.argument("db", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--study", "study_name", default=None, help="Only this study of the database.")
@json_flag
def study_show(db: Path, study_name: str | None, as_json: bool) -> None:
    """Print the ranked configurations of a study database (mean ± std over seeds)."""
    from .driver import load

    if as_json:
        _emit_summary(db, study_name)
        return
    print_summary(load(db, study_name), _console(), title=f"{db}")


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("xpusim-report"), show_default=True,
              help="Folder for the report (plots, report.md, summary.csv).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Result store (default: OUT/compare.sqlite); reruns resume from it.")
@click.option("--seeds", type=click.IntRange(min=1), default=None,
              help="Seeds per configuration  [default: 3]")
@click.option("--epochs", type=click.IntRange(min=0), default=None,
              help="Training epochs  [default: 10]")
@click.option("--model", "models", multiple=True, metavar="MODEL",
              help="Models to compare; repeatable  [default: mlp:64-32-10 and "
                   "cnn:c8k3-m2-d32]")
@click.option("--dataset", default="digits", show_default=True,
              help="Data set every run trains on (see docs/datasets.md).")
@click.option("--hardware", multiple=True, metavar="SPEC",
              help="Specs to compare (default: one per backend); repeatable.")
@click.option("--method", "methods", multiple=True, metavar="METHOD",
              help="Methods to compare (default: all registered); repeatable.")
@click.option("--executor", type=click.Choice(["local", "dask", "serial"]), default="local",
              show_default=True, help=EXECUTOR_HELP)
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Address of an existing Dask scheduler (implies --executor dask).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: all cores).")
@click.option("--retry-failed", is_flag=True, help="Run again the runs stored as failed.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or tables.")
@json_flag
@click.pass_context
def compare(ctx: click.Context, out: Path, db: Path | None, seeds: int | None,
            epochs: int | None, models: tuple[str, ...], dataset: str,
            hardware: tuple[str, ...],
            methods: tuple[str, ...], executor: str, scheduler: str | None,
            workers: int | None, retry_failed: bool, quiet: bool, as_json: bool) -> None:
    """Compare every hardware class with the methods it supports; write a report.

    One representative spec per registered backend x every method it can run x each model
    (an MLP and a small CNN on digits by default), 3 seeds: accuracy, training energy and
    money, lifetime cost with break-even points.
    """
    from ..outputs import check_folder
    from . import default
    from .report import write_report

    check_folder(out, "--out")
    plugins = _plugins(ctx)
    s = default.default_study(plugins=plugins, seeds=seeds or default.SEEDS,
                              epochs=default.EPOCHS if epochs is None else epochs,
                              models=models or default.MODELS, dataset=dataset,
                              hardware=hardware, methods=methods)
    db = db or out / "compare.sqlite"
    if scheduler and executor == "local":
        executor = "dask"
    if scheduler and executor != "dask":
        raise XpusimError(f"--scheduler needs --executor dask (got --executor {executor})")
    if not (quiet or as_json):
        _print_plan(s, _console(stderr=True), db)
    _execute(s, db, executor, scheduler, workers, retry_failed, quiet or as_json)
    path = write_report(db, out, study=s.name, title="xpusim compare: hardware x learning rule "
                        f"on {dataset}")
    if as_json:
        _emit_summary(db, s.name)
    click.echo(f"report written to {path}", err=as_json)
