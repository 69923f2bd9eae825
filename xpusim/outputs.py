"""Files xpusim writes: checked before any work, never written through a symbolic link.

Every command that writes (``--out``, reports, exports, study databases and their lock files)
checks its output path first, so a bad path fails in a second instead of after an hour of
training, and opens files with ``O_NOFOLLOW``, so a link planted at an output path makes the
write fail instead of overwriting the link's target.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .core.errors import XpusimError

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class OutputError(XpusimError):
    """An output path xpusim refuses to write (missing folder, a link, not writable, ...)."""


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"{path}: cannot check this output path: {exc.strerror}") from None


def _check_parent(path: Path, what: str) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{path}: cannot write {what}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write {what}: folder {str(parent)!r} is not writable")


def check_file(path: str | Path, what: str = "the output file") -> Path:
    """A path a file can be written to: not a link, not a folder, in a writable folder."""
    if str(path) == "":
        raise OutputError(f"empty path for {what}")
    path = Path(path)
    st = _lstat(path)
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise OutputError(f"{path}: is a symbolic link; xpusim never writes through one "
                              f"(remove it or choose another path)")
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{path}: is a folder; expected a file path for {what}")
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{path}: is not a regular file; expected a file path for {what}")
        if not os.access(path, os.W_OK):
            raise OutputError(f"{path}: is not writable")
    _check_parent(path, what)
    return path


def check_folder(path: str | Path, what: str = "the output folder") -> Path:
    """A folder files can be written into (it may not exist yet): not a link, writable."""
    if str(path) == "":
        raise OutputError(f"empty path for {what}")
    path = Path(path)
    st = _lstat(path)
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise OutputError(f"{path}: is a symbolic link; xpusim never writes through one "
                              f"(remove it or choose another folder)")
        if not stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{path}: exists and is not a folder; expected a folder for "
                              f"{what}")
        if not os.access(path, os.W_OK | os.X_OK):
            raise OutputError(f"{path}: folder is not writable")
        return path
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{path}: cannot create {what}: {str(ancestor)!r} is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot create {what}: {str(ancestor)!r} is not writable")
    return path


def make_folder(path: str | Path, what: str = "the output folder") -> Path:
    """Create (or reuse) an output folder; refuse one that is a link."""
    path = check_folder(path, what)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create {what}: {exc.strerror}") from None
    return check_folder(path, what)


@contextmanager
def open_output(path: str | Path, mode: str = "w", what: str = "the output file") \
        -> Iterator[IO[Any]]:
    """Open ``path`` for writing (truncating) without following a link at ``path``."""
    path = check_file(path, what)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(f"{path}: is a symbolic link; xpusim never writes through one") \
                from None
        raise OutputError(f"{path}: cannot write {what}: {exc.strerror}") from None
    with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
        yield fh


def write_text(path: str | Path, text: str, what: str = "the output file") -> Path:
    """Write ``text`` to ``path`` (checked, no link followed)."""
    with open_output(path, "w", what) as fh:
        fh.write(text)
    return Path(path)
