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


def load_onnx(path: Any, name: str | None = None):  # noqa: ANN201 - returns core.graph.Graph
    """The model in an ONNX file as a layer graph with its trained weights (needs the optional
    ``onnx`` package; see ``xpusim.importers.onnx.load_onnx``)."""
    from xpusim.importers.onnx import load_onnx as _load

    return _load(path, name)


__all__ = ["__version__", "hookimpl", "load_onnx", "run"]
