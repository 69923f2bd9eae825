"""The result store: one SQLite file keyed by configuration hash.

Only the driver process writes. Each finished run is committed on its own transaction, so a
study killed at any moment loses at most the runs that were still computing. WAL journaling
keeps readers (``xpusim study report`` while a study runs) from blocking the writer.

Schema (``SCHEMA_VERSION`` 1)::

    meta(key TEXT PRIMARY KEY, value TEXT)                  -- schema_version, created_by
    studies(name TEXT PRIMARY KEY, definition TEXT,         -- the study file as JSON
            source TEXT, created_at TEXT, updated_at TEXT)
    runs(hash TEXT PRIMARY KEY,                             -- RunConfig.hash(spec_hash)
         status TEXT,                                       -- ok | diverged | error
         config TEXT,                                       -- RunConfig as JSON
         result TEXT,                                       -- RunResult.to_json() (NULL on error)
         failure TEXT, failed_step INTEGER, error_type TEXT,
         final_test_accuracy REAL, training_energy_j REAL, training_money_usd REAL,
         wall_time_s REAL, worker TEXT, finished_at TEXT, attempts INTEGER)
    study_runs(study TEXT, hash TEXT, position INTEGER, point TEXT,
               PRIMARY KEY (study, hash))                   -- which runs a study holds
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..core.errors import XpusimError

SCHEMA_VERSION = 1
FAILED = ("diverged", "error")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS studies (
    name TEXT PRIMARY KEY, definition TEXT, source TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS runs (
    hash TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('ok', 'diverged', 'error')),
    config TEXT NOT NULL,
    result TEXT,
    failure TEXT,
    failed_step INTEGER,
    error_type TEXT,
    final_test_accuracy REAL,
    training_energy_j REAL,
    training_money_usd REAL,
    wall_time_s REAL,
    worker TEXT,
    finished_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS study_runs (
    study TEXT NOT NULL, hash TEXT NOT NULL, position INTEGER, point TEXT,
    PRIMARY KEY (study, hash));
"""


def _writable(path: Path) -> Path:
    """The real file behind ``path`` for writing: an existing database may be reached through
    a link, but none is created through one, and SQLite's side files are never links."""
    if path.is_symlink():
        if not path.resolve().is_file():
            raise XpusimError(f"{path}: is a symbolic link to no existing database; xpusim "
                              f"never creates a file through a link")
        path = path.resolve()
    elif path.exists() and not path.is_file():
        raise XpusimError(f"{path}: is not a file; expected a study database")
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.is_symlink():
            raise XpusimError(f"{side}: is a symbolic link; xpusim never writes through one")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise XpusimError(f"{path}: cannot create its folder: {exc.strerror}") from None
    return path


def _refuse_foreign(db: sqlite3.Connection, path: Path) -> None:
    """A database with tables but no xpusim ``meta`` table belongs to someone else."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return
    known = "meta" in tables and db.execute(
        "SELECT 1 FROM meta WHERE key='schema_version'").fetchone() is not None
    if not known:
        db.close()
        raise XpusimError(f"{path}: not an xpusim study database (it holds tables "
                          f"{', '.join(sorted(tables)[:5])}); give --db a new file or an "
                          f"xpusim store")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Store:
    """A study database. Use as a context manager, or call ``close()``."""

    def __init__(self, path: str | Path, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        if readonly and not self.path.exists():
            raise XpusimError(f"{self.path}: no such study database")
        real = self.path if readonly else _writable(self.path)
        try:
            if readonly:
                self.db = sqlite3.connect(f"file:{real}?mode=ro", uri=True)
            else:
                self.db = sqlite3.connect(real)
                _refuse_foreign(self.db, self.path)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(_SCHEMA)
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                                (str(SCHEMA_VERSION),))
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('created_by', 'xpusim')")
                self.db.commit()
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise XpusimError(f"{self.path}: not an xpusim study database ({exc})") from None
        if row is None or int(row[0]) != SCHEMA_VERSION:
            raise XpusimError(f"{self.path}: study database schema "
                              f"{row[0] if row else '?'} is not {SCHEMA_VERSION}")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if not self.readonly:
            try:  # at rest the database is one plain file (WAL only while a study runs)
                self.db.execute("PRAGMA journal_mode=DELETE")
            except sqlite3.DatabaseError:  # another connection is open: keep WAL
                pass
        self.db.close()

    # -- studies -------------------------------------------------------------------------------

    def add_study(self, study: Any) -> None:
        """Record a study and the runs it holds (idempotent)."""
        with self.db:
            self.db.execute(
                "INSERT INTO studies VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                "definition=excluded.definition, source=excluded.source, "
                "updated_at=excluded.updated_at",
                (study.name, json.dumps(study.definition, sort_keys=True), study.source,
                 _now(), _now()))
            # The study is what its file says now: runs dropped from the file stay stored
            # (under their hash) but no longer belong to it.
            self.db.execute("DELETE FROM study_runs WHERE study = ?", (study.name,))
            self.db.executemany(
                "INSERT OR REPLACE INTO study_runs VALUES (?, ?, ?, ?)",
                [(study.name, r.hash, i, json.dumps(dict(r.point), default=str))
                 for i, r in enumerate(study.runs)])

    def studies(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM studies ORDER BY created_at")]

    def definition(self, study: str) -> dict[str, Any]:
        row = self.db.execute("SELECT definition FROM studies WHERE name=?", (study,)).fetchone()
        return json.loads(row[0]) if row else {}

    # -- runs ----------------------------------------------------------------------------------

    def statuses(self, hashes: Iterable[str] | None = None) -> dict[str, str]:
        """hash -> status for stored runs (all, or those among ``hashes``)."""
        rows = self.db.execute("SELECT hash, status FROM runs").fetchall()
        if hashes is None:
            return dict(rows)
        wanted = set(hashes)
        return {h: s for h, s in rows if h in wanted}

    def put(self, record: dict[str, Any], config_json: str) -> None:
        """Store one finished run (ok or failed) and commit at once."""
        try:
            self._put(record, config_json)
        except sqlite3.Error as exc:  # disk full, read-only file, ...: say where, stop
            raise XpusimError(f"{self.path}: cannot store run {record.get('hash')}: {exc}") \
                from None

    def _put(self, record: dict[str, Any], config_json: str) -> None:
        result = record.get("result")
        training = (result or {}).get("training", {})
        with self.db:
            self.db.execute(
                "INSERT INTO runs (hash, status, config, result, failure, failed_step, "
                "error_type, final_test_accuracy, training_energy_j, training_money_usd, "
                "wall_time_s, worker, finished_at, attempts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) "
                "ON CONFLICT(hash) DO UPDATE SET status=excluded.status, "
                "config=excluded.config, result=excluded.result, failure=excluded.failure, "
                "failed_step=excluded.failed_step, error_type=excluded.error_type, "
                "final_test_accuracy=excluded.final_test_accuracy, "
                "training_energy_j=excluded.training_energy_j, "
                "training_money_usd=excluded.training_money_usd, "
                "wall_time_s=excluded.wall_time_s, worker=excluded.worker, "
                "finished_at=excluded.finished_at, attempts=runs.attempts + 1",
                (record["hash"], record["status"], config_json,
                 json.dumps(result) if result is not None else None,
                 record.get("failure"), record.get("failed_step"), record.get("error_type"),
                 (result or {}).get("final_test_accuracy"), training.get("energy_j"),
                 training.get("money_usd"), record.get("wall_time_s"), record.get("worker"),
                 _now()))

    def rows(self, study: str | None = None) -> list[dict[str, Any]]:
        """Stored runs as dicts (table columns; ``config``/``result`` parsed)."""
        cur = self.db.execute(
            "SELECT r.*, s.study, s.position, s.point FROM runs r "
            "LEFT JOIN study_runs s ON s.hash = r.hash "
            + ("WHERE s.study = ? " if study else "")
            + "ORDER BY s.study, s.position, r.hash", (study,) if study else ())
        names = [c[0] for c in cur.description]
        out, seen = [], set()
        for values in cur.fetchall():
            row = dict(zip(names, values))
            if row["hash"] in seen:  # a run shared by two studies: one row
                continue
            seen.add(row["hash"])
            row["config"] = json.loads(row["config"])
            row["result"] = json.loads(row["result"]) if row["result"] else None
            row["point"] = json.loads(row["point"]) if row["point"] else {}
            out.append(row)
        return out
