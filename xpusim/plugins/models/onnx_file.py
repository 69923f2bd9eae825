"""``onnx:PATH``: a trained model from an ONNX file, its graph and its weights
(``xpusim.importers.onnx``). The file fixes the input shape and the classes; the run checks
them against the data set."""

from __future__ import annotations

from xpusim.core.errors import XpusimError
from xpusim.core.graph import Graph
from xpusim.core.registry import DataShape


def parse(args: str, data: DataShape) -> Graph:
    """The graph (with trained values) of the ONNX file ``args``."""
    if not args:
        raise XpusimError("model 'onnx:' needs a file: onnx:PATH (e.g. onnx:lenet.onnx)")
    from xpusim.importers.onnx import load_onnx

    if data.task != "classification":
        raise XpusimError(f"model 'onnx:{args}': ONNX models are imported as classifiers of "
                          f"float inputs; the data set is a {data.task} task")
    return load_onnx(args, name=f"onnx:{args}")
