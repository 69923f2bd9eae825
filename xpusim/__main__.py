"""``python -m xpusim`` is the ``xpusim`` command."""

from xpusim.cli import cli_main

cli_main()
