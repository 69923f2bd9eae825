"""ONNX operators onto xpusim layer types, one handler each (``HANDLERS``): those that hold
weights in ``weighted``, the periphery's in ``periphery``, views and constants in ``views``.
A node whose inputs are all constants is evaluated once with the ONNX reference
implementation instead (``FOLDABLE``: weight preparation and shape arithmetic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import periphery as p
from . import views as v
from . import weighted as w
from .convert import BATCH, Converter
from .periphery import Handler

if TYPE_CHECKING:
    from onnx import NodeProto

FOLDABLE = frozenset({"Add", "Sub", "Mul", "Div", "Neg", "Sqrt", "Reciprocal", "Transpose",
                      "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Gather", "Slice",
                      "Cast", "Identity", "Shape"})
"""Operators evaluated when every input is a constant (weight preparation, shape arithmetic)."""
SHAPE_SAFE = frozenset({"Gather", "Concat", "Unsqueeze", "Squeeze", "Slice", "Cast",
                        "Identity", "Reshape"})
"""Of those, the ones that may carry the batch size without doing arithmetic on it."""


def convert_node(c: Converter, node: NodeProto) -> None:
    """Translate one ONNX node (or evaluate it, when its inputs are all constants)."""
    if node.domain not in ("", "ai.onnx"):
        raise c.fail(node, f"operator of domain {node.domain!r}; xpusim imports the default "
                           f"ONNX domain's {_listing()}")
    inputs = [t for t in node.input if t]
    if node.op_type in FOLDABLE and inputs and all(c.is_const(t) for t in inputs):
        _fold(c, node)
    elif node.op_type in HANDLERS:
        HANDLERS[node.op_type](c, node)
    else:
        raise c.fail(node, f"operator {node.op_type} is not supported; xpusim imports "
                           f"{_listing()}")


def _listing() -> str:
    return (", ".join(sorted(HANDLERS)) + " (and " + ", ".join(sorted(FOLDABLE - set(HANDLERS)))
            + " on constants)")


def _fold(c: Converter, node: NodeProto) -> None:
    from onnx.reference import ReferenceEvaluator

    values = [c.consts[t] for t in node.input if t]
    if node.op_type not in SHAPE_SAFE and any(
            v.dtype.kind == "i" and (v == BATCH).any() for v in values):
        raise c.fail(node, "computes with the batch size; xpusim keeps the batch axis as it is")
    try:
        feeds = {t: c.consts[t] for t in node.input if t}
        out = ReferenceEvaluator(node, opsets={"": c.opset}).run(None, feeds)
    except (ValueError, TypeError, IndexError, RuntimeError, MemoryError) as exc:
        raise c.fail(node, f"cannot evaluate it on its constant inputs: {exc}") from None
    for i, value in enumerate(out):
        if i < len(node.output) and node.output[i]:
            c.set(node, np.asarray(value), i)


HANDLERS: dict[str, Handler] = {
    "Gemm": w.gemm, "MatMul": w.matmul, "Conv": w.conv, "Add": w.add,
    "MaxPool": p.pool("max"), "AveragePool": p.pool("avg"), "GlobalAveragePool": p.global_avg,
    "ReduceMean": p.reduce_mean, "BatchNormalization": p.batchnorm,
    "LayerNormalization": p.layernorm, "Relu": p.activation("relu"),
    "Tanh": p.activation("tanh"), "Sigmoid": p.activation("sigmoid"), "Gelu": p.gelu,
    "Softmax": p.softmax, "Flatten": v.flatten, "Reshape": v.reshape, "Squeeze": v.squeeze,
    "Unsqueeze": v.unsqueeze, "Shape": v.shape, "Constant": v.constant, "Dropout": v.dropout,
    "Identity": v.identity,
}
"""ONNX operator -> handler; ``docs/models.md`` lists the mapping."""
