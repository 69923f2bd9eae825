"""What every ``xpusim`` command shares: the output convention and the ``--hardware`` default.

- ``--json`` prints the command's result as JSON on stdout, and nothing else there;
- ``--out FILE`` writes the same JSON to FILE (checked before any work, never through a
  symbolic link); the human-readable table is still printed unless ``--json`` is given.

Commands that write a report folder (``compare``, ``study report``) take ``--out DIR``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

DEFAULT_HARDWARE = "h100-sxm"
"""The spec every single-spec command (run, price, estimate) uses when --hardware is omitted:
the same as ``xpusim.run()``'s and a study's default."""

HARDWARE_HELP = ("Spec name (see `xpusim specs list`) or path to a spec file; a path must end "
                 "in .toml or contain a '/'.")

json_flag = click.option("--json", "as_json", is_flag=True,
                         help="Print the result as JSON on stdout (no table).")
out_option = click.option("--out", "out", type=click.Path(path_type=Path), default=None,
                          metavar="FILE",
                          help="Also write the result as JSON to FILE (checked before any "
                               "work; never written through a symbolic link).")


def check_out(out: Path | None) -> None:
    """Fail before any work when ``--out FILE`` cannot be written."""
    if out is not None:
        from .outputs import check_file

        check_file(out, "--out")


def dumps(data: Any) -> str:
    """JSON text of a result (non-finite numbers refused: they are never valid output)."""
    return json.dumps(data, indent=2, default=_default, allow_nan=False)


def _default(value: Any) -> Any:
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return str(value)


def emit(data: Any, as_json: bool, out: Path | None, human: Callable[[], None]) -> None:
    """Write ``--out``, then print JSON (``--json``) or the human-readable form."""
    text = dumps(data) if (as_json or out is not None) else ""
    if out is not None:
        from .outputs import write_text

        write_text(out, text + "\n", "--out")
    if as_json:
        click.echo(text)
    else:
        human()
        if out is not None:
            click.echo(f"written to {out}", err=True)
