"""``python -m xpusim.study run FILE ...``: the study commands without the main CLI."""

from __future__ import annotations

import sys

import click

from ..core.errors import XpusimError
from .cli import compare, study

study.add_command(compare)


def main(argv: list[str] | None = None) -> int:
    try:
        study.main(args=argv, prog_name="python -m xpusim.study", standalone_mode=False)
    except XpusimError as exc:
        for line in str(exc).splitlines():
            click.echo(f"error: {line}", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
