"""The study driver: plan, skip what is stored, run the rest, store each run as it finishes."""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..core.errors import XpusimError
from . import executors
from .spec import Study, load_study
from .store import FAILED, Store


@attrs.frozen
class Outcome:
    """What ``run_study`` did: counts and the database it wrote."""

    study: str
    db: Path
    total: int
    already_done: int
    ran: int
    ok: int
    failed: int
    elapsed_s: float
    failures: tuple[tuple[str, str], ...] = ()  # (hash, reason) of runs that failed this time


def _flatten(prefix: str, value: Any, row: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, row)
    elif isinstance(value, list):
        row[prefix] = json.dumps(value)
    else:
        row[prefix] = value


def frame(rows: Sequence[dict[str, Any]]) -> Any:
    """Store rows -> a pandas DataFrame, one row per run, breakdowns as dotted columns."""
    import pandas as pd

    out = []
    for r in rows:
        row: dict[str, Any] = {"hash": r["hash"], "study": r.get("study"),
                               "status": r["status"], "failure": r["failure"],
                               "failed_step": r["failed_step"], "error_type": r["error_type"],
                               "wall_time_s": r["wall_time_s"], "worker": r["worker"],
                               "finished_at": r["finished_at"], "attempts": r["attempts"]}
        if r["result"] is not None:
            res = dict(r["result"])
            res.pop("meta", None)
            for key in ("status", "failure", "failed_step"):
                res.pop(key, None)
            _flatten("", res, row)
        else:
            _flatten("config", r["config"], row)
        for axis, value in (r.get("point") or {}).items():
            row[f"axis.{axis}"] = value
        out.append(row)
    df = pd.DataFrame(out)
    if "failed_step" in df:
        df["failed_step"] = df["failed_step"].astype("Int64")
    return df


def load(path: str | Path, study: str | None = None) -> Any:
    """A study database as a pandas DataFrame: one row per run (ok and failed)."""
    with Store(path, readonly=True) as store:
        return frame(store.rows(study))


def run_study(study: Study | str | Path, db: str | Path | None = None, executor: str = "local",
              workers: int | None = None, scheduler: str | None = None,
              retry_failed: bool = False, progress: bool = True, console: Any = None,
              runner: executors.Runner | None = None, plugins: Sequence[str] = (),
              allow_plugins: bool = False) -> Outcome:
    """Run every planned run not yet stored (and failed ones too with ``retry_failed``).

    Results are stored one by one as they finish; interrupting and restarting loses nothing
    and repeats nothing that was stored.
    """
    if not isinstance(study, Study):
        path = Path(study)
        study = load_study(path, plugins=plugins, allow_plugins=allow_plugins)
        db = db or path.with_suffix(".sqlite")
    db = Path(db or f"{study.name}.sqlite")
    if scheduler and executor == "local":
        executor = "dask"
    run_fn = executors.get(executor)
    t0 = time.perf_counter()
    with writer_lock(db), Store(db) as store:
        store.add_study(study)
        stored = store.statuses(study.hashes)
        todo = [r for r in study.runs
                if r.hash not in stored or (retry_failed and stored[r.hash] in FAILED)]
        configs = {r.hash: r.config_json() for r in study.runs}
        tasks = [(r.hash, r.config.to_dict()) for r in todo]
        already = len(study.runs) - len(todo)
        already_failed = sum(1 for r in study.runs if r.hash in stored
                             and stored[r.hash] in FAILED and not retry_failed)
        ok = failed = 0
        failures: list[tuple[str, str]] = []
        bar = _Progress(len(study.runs), already, already_failed, enabled=progress,
                        console=console,
                        title=f"study {study.name} ({executor})")
        with bar:
            if tasks:
                for record in run_fn(tasks, runner=runner, workers=workers, scheduler=scheduler):
                    store.put(record, configs[record["hash"]])
                    if record["status"] == "ok":
                        ok += 1
                    else:
                        failed += 1
                        failures.append((record["hash"], record["failure"] or "?"))
                    bar.advance(record["status"] == "ok")
    return Outcome(study=study.name, db=db, total=len(study.runs), already_done=already,
                   ran=ok + failed, ok=ok, failed=failed, elapsed_s=time.perf_counter() - t0,
                   failures=tuple(failures))


@contextlib.contextmanager
def writer_lock(db: Path) -> Iterator[None]:
    """One driver per database: a second one fails at once instead of duplicating work.

    An advisory ``flock`` on ``DB.lock`` beside the database's real file (links resolved, so
    two names of one database share one lock); the lock file is never opened through a link.
    The OS releases the lock when the driver ends, even by SIGKILL: no stale lock.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    real = Path(db).resolve()
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise XpusimError(f"{db}: cannot create its folder: {exc.strerror}") from None
    path = real.with_name(real.name + ".lock")
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise XpusimError(f"{path}: cannot open the study lock file "
                          f"({'it is a symbolic link' if path.is_symlink() else exc.strerror})"
                          ) from None
    with os.fdopen(fd, "r+") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise XpusimError(f"{path}: the study lock file is not a regular file")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            who = fh.read().strip() or "?"
            raise XpusimError(f"{db}: another study driver is writing to it (pid {who}); "
                              f"wait for it or use another --db") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class _Progress:
    """A rich progress bar: done / failed / remaining and ETA."""

    def __init__(self, total: int, already: int, already_failed: int, enabled: bool,
                 console: Any, title: str):
        self.total, self.done, self.failed = total, already, already_failed
        self.enabled = enabled
        if enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self.progress = Progress(
                TextColumn(f"[bold]{title}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("[green]done {task.fields[ok]}[/] · [red]failed "
                           "{task.fields[failed]}[/] · remaining {task.fields[left]}"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=console or Console(stderr=True), transient=False)
            self.task = self.progress.add_task("runs", total=total, completed=already,
                                               ok=already - already_failed,
                                               failed=already_failed, left=total - already)

    def __enter__(self) -> _Progress:
        if self.enabled:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.progress.__exit__(*exc)

    def advance(self, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        if self.enabled:
            self.progress.update(self.task, completed=self.done,
                                 ok=self.done - self.failed, failed=self.failed,
                                 left=self.total - self.done)


def summarize(df: Any) -> Any:
    """Per configuration (axes except seed): runs, failures, accuracy and costs (means)."""
    import pandas as pd

    if df.empty:
        return pd.DataFrame()
    keys = config_columns(df)
    df = df.assign(_label=labels(df, keys), _ok=df["status"].eq("ok"))
    agg = {"runs": ("hash", "size"), "failed": ("_ok", lambda s: int((~s).sum()))}
    for col, name in (("final_test_accuracy", "accuracy"), ("training.energy_j", "train_energy_j"),
                      ("training.money_usd", "train_money_usd"),
                      ("inference_per_sample.energy_j", "infer_energy_j")):
        if col in df:
            agg[name] = (col, "mean")
            if name == "accuracy":
                agg["accuracy_std"] = (col, lambda s: float(s.std(ddof=0)) if s.notna().any()
                                       else math.nan)
    return df.groupby("_label", sort=False).agg(**agg).rename_axis("configuration")


CONFIG_KEYS = ("hardware", "method", "model", "dataset", "epochs", "batch_size", "optimizer",
               "lr", "momentum", "overrides", "options", "serve_hardware")


def config_columns(df: Any) -> list[str]:
    """Hardware, method and the config columns that vary over the runs (seed excluded)."""
    cols = [f"config.{k}" for k in CONFIG_KEYS if f"config.{k}" in df]
    cols += sorted(c for c in df.columns if c.startswith("config.options."))
    always = ("config.hardware", "config.method")  # a configuration always names both
    return [c for c in cols
            if c in always or df[c].astype(object).map(repr).nunique(dropna=False) > 1]


BARE = ("config.hardware", "config.method", "config.model", "config.dataset")


def _g(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "default"
    return f"{v:g}" if isinstance(v, float) else str(v)


def labels(df: Any, keys: Sequence[str]) -> Any:
    """One readable label per run, from the varying config columns."""
    def one(row: Any) -> str:
        parts = []
        for k in keys:
            v = row[k]
            if k in ("config.overrides", "config.options"):
                try:
                    v = json.loads(v) if isinstance(v, str) else v
                except ValueError:
                    pass
                if isinstance(v, dict):
                    v = ",".join(f"{a}={b}" for a, b in v.items())
                elif isinstance(v, list):
                    v = ",".join(str(x) for x in v)
                v = v or "-"
            elif k.startswith("config.options."):
                v = f"{k[len('config.options.'):]}={_g(v)}"
            elif k not in BARE:
                v = f"{k[len('config.'):]}={_g(v)}"
            parts.append(str(v))
        return " · ".join(parts)

    return df.apply(one, axis=1) if len(df) else df.index.astype(str)
