"""xpusim: simulate what it costs, and what accuracy you get, to train and serve a model
with a learning rule on a piece of hardware.

Only light names live here; ``xpusim.run`` imports the scheduler on first use.
"""

from __future__ import annotations

from typing import Any

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("xpusim")
"""Marker for plugin hook implementations: ``@hookimpl def xpusim_register_backends(): ...``."""


def run(**kwargs: Any):  # noqa: ANN201 - returns xpusim.core.results.RunResult
    """Train and price one configuration; mirrors ``xpusim run`` (see ``xpusim.api.run``)."""
    from xpusim.api import run as _run

    return _run(**kwargs)


__all__ = ["__version__", "hookimpl", "run"]
