"""Comparative studies: grids of runs from a TOML file, a crash-safe SQLite store, local or
Dask execution, reports, and ``xpusim compare``.

``load(path)`` returns a study database as a pandas DataFrame (one row per run, breakdowns as
dotted columns); ``load_study(file)`` checks and expands a study file; ``run_study(...)`` runs
it; ``write_report(db, out)`` writes the plots and the Markdown report.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load", "load_study", "run_study", "write_report", "StudyError"]


def __getattr__(name: str) -> Any:  # lazy: importing xpusim.study stays cheap
    if name in ("load", "run_study", "frame", "summarize"):
        from . import driver

        return getattr(driver, name)
    if name in ("load_study", "expand", "Study", "StudyError"):
        from . import spec

        return getattr(spec, name)
    if name == "write_report":
        from .report import write_report

        return write_report
    raise AttributeError(name)
