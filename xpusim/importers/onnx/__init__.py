"""Trained models from ONNX files (what ``torch.onnx.export`` writes): the graph as xpusim
layers, the weights as ``TrainedValues`` that a run places on any backend's device.

Needs the optional ``onnx`` package (``pip install 'xpusim[onnx]'``). The file is read as
data: the protobuf is parsed and checked, external weights are read only from files beside
the model, and no code from the file runs. What maps onto what: ``ops.HANDLERS`` and
docs/models.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .reader import INSTALL_HINT, OnnxError, read_model, require_onnx

if TYPE_CHECKING:
    from xpusim.core.graph import Graph

__all__ = ["INSTALL_HINT", "OnnxError", "load_onnx", "require_onnx", "supported_operators"]


def load_onnx(path: str | Path, name: str | None = None) -> Graph:
    """The model in the ONNX file at ``path`` as an xpusim layer graph with its weights.

    Args:
        path: an ``.onnx`` file (external weight files, if any, beside it).
        name: the graph's name in messages and results (default ``onnx:PATH``).

    Returns:
        A ``Graph`` whose ``input_shape`` is one sample of the file's input (its axes after
        the batch axis) and whose ``trained`` values hold every weight matrix, bias and norm
        parameter, placed on the device when a run initialises the model.

    Raises:
        OnnxError: the onnx package is missing, the file is missing, empty, too large or not
            a valid ONNX model, or a node cannot be imported (named, with the reason and the
            supported operators).
    """
    from .convert import convert

    model, digest = read_model(path)
    return convert(model, str(path), digest, name)


def supported_operators() -> list[str]:
    """The ONNX operators xpusim maps onto its layers (others are refused by name)."""
    from .ops import HANDLERS

    return sorted(HANDLERS)
