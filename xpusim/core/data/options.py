"""The argument after a data set's colon: ``PATH[,key=N...]`` or ``key=N[,key=N...]``.

Options are whole numbers; a file-backed data set's options follow its path, so a path may
itself hold commas (only trailing ``word=...`` items are read as options).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from .dataset import DataError

_OPTION = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)=(.*)", re.DOTALL)


def parse_options(family: str, items: list[str], known: Mapping[str, int | None]
                  ) -> dict[str, int | None]:
    """``key=N`` items -> {key: N}, over ``known`` (name -> default); unknown or bad ones fail."""
    listing = ", ".join(known) or "none"
    values: dict[str, int | None] = dict(known)
    seen: set[str] = set()
    for item in items:
        match = _OPTION.fullmatch(item.strip())
        if not match:
            raise DataError(f"data set {family!r}: expected key=value, got {item!r} "
                            f"(options: {listing})")
        key, text = match.groups()
        if key not in known:
            raise DataError(f"data set {family!r}: unknown option {key!r} (options: {listing})")
        if key in seen:
            raise DataError(f"data set {family!r}: option {key!r} given twice")
        if not re.fullmatch(r"[0-9]+", text.strip()):
            raise DataError(f"data set {family!r}: option {key}={text!r} must be a whole "
                            f"number >= 0")
        seen.add(key)
        values[key] = int(text)
    return values


def split_generated(family: str, arg: str | None, known: Mapping[str, int | None]
                    ) -> dict[str, int | None]:
    """Options of a generated data set: ``key=N,key=N`` (all optional)."""
    return parse_options(family, [i for i in (arg or "").split(",") if i.strip()], known)


def split_path(family: str, arg: str | None, known: Mapping[str, int | None],
               env: str | None = None) -> tuple[Path, dict[str, int | None]]:
    """A file-backed data set's ``PATH[,key=N...]``; PATH falls back to ``$env`` when empty."""
    items = (arg or "").split(",")
    options: list[str] = []
    while items and _OPTION.fullmatch(items[-1].strip()):
        options.insert(0, items.pop())
    text = ",".join(items).strip()
    if not text and env:
        text = os.environ.get(env, "").strip()
    if not text:
        where = f" (or set ${env})" if env else ""
        raise DataError(f"data set {family!r} needs a folder: --dataset {family}:PATH{where}")
    folder = Path(text).expanduser()
    if not folder.is_dir():
        raise DataError(f"data set {family!r}: folder {str(folder)!r} does not exist "
                        f"(or is not a folder)")
    return folder, parse_options(family, options, known)
