"""Operators that only reshape (views of the same elements), make constants or pass values
through: Flatten, Reshape, Squeeze, Unsqueeze, Shape, Constant, Dropout, Identity."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .convert import BATCH, Converter, Value

if TYPE_CHECKING:
    from onnx import NodeProto


def flatten(c: Converter, node: NodeProto) -> None:
    """Flatten at axis 1: a view of each sample as one row."""
    v = c.act(node, 0)
    axis = c.attrs(node).get("axis", 1) % (len(v.shape) + 1)
    if axis != 1:
        raise c.fail(node, f"flattens at axis {axis}, merging the batch axis with others; "
                           "xpusim keeps one sample per row (axis 1)")
    c.set(node, Value(v.node, (math.prod(v.shape),)))


def reshape(c: Converter, node: NodeProto) -> None:
    """Reshape of each sample (the batch axis kept first): a view."""
    v = c.act(node, 0)
    if not c.is_const(node.input[1]):
        raise c.fail(node, "target shape computed from values; xpusim reads it only from "
                           "constants or the input's shape")
    target = [int(t) for t in c.consts[node.input[1]].reshape(-1)]
    full = [BATCH, *v.shape]
    if not c.attrs(node).get("allowzero", 0):
        target = [full[i] if t == 0 and i < len(full) else t for i, t in enumerate(target)]
    n = math.prod(v.shape)
    first, rest = (target[0], target[1:]) if target else (None, [])
    if not (first == BATCH or first == c.fixed_batch or first == -1 and -1 not in rest):
        raise c.fail(node, f"target shape {_shown(target)} does not keep the batch axis first")
    if any(t < -1 or t == 0 for t in rest) or rest.count(-1) > 1:
        raise c.fail(node, f"target shape {_shown(target)}: xpusim reshapes each sample and "
                           "keeps the batch axis")
    if -1 in rest:
        known = math.prod(t for t in rest if t != -1)
        rest = [n // known if t == -1 else t for t in rest]
    if math.prod(rest) != n:
        raise c.fail(node, f"target shape {_shown(target)} moves values across samples of "
                           f"shape {v.shape}")
    c.set(node, Value(v.node, tuple(rest)))


def _shown(target: list[int]) -> list[int | str]:
    return ["batch" if t == BATCH else t for t in target]


def squeeze(c: Converter, node: NodeProto) -> None:
    """Squeeze of sample axes of size 1: a view."""
    v = c.act(node, 0)
    rank = len(v.shape) + 1
    axes = c.axes(node)
    axes = [i + 1 for i, s in enumerate(v.shape) if s == 1] if axes is None \
        else sorted(a % rank for a in axes)
    if 0 in axes or any(v.shape[a - 1] != 1 for a in axes):
        raise c.fail(node, f"squeezes axes {axes} of (batch, *{v.shape}); only sample axes of "
                           "size 1 can go")
    c.set(node, Value(v.node, tuple(s for i, s in enumerate(v.shape) if i + 1 not in axes)))


def unsqueeze(c: Converter, node: NodeProto) -> None:
    """Unsqueeze after the batch axis: a view."""
    v = c.act(node, 0)
    axes = c.axes(node) or []
    rank = len(v.shape) + 1 + len(axes)
    axes = sorted(a % rank for a in axes)
    if 0 in axes:
        raise c.fail(node, "inserts an axis before the batch axis")
    shape = list(v.shape)
    for a in axes:
        shape.insert(a - 1, 1)
    c.set(node, Value(v.node, tuple(shape)))


def shape(c: Converter, node: NodeProto) -> None:
    """Shape of an activation: a constant, the batch size as ``BATCH``."""
    v = c.act(node, 0)
    a = c.attrs(node)
    full = np.array([BATCH, *v.shape], np.int64)
    c.set(node, full[a.get("start", 0):a.get("end", len(full))])


def constant(c: Converter, node: NodeProto) -> None:
    """Constant: a dense numeric tensor (``value``, ``value_float(s)``, ``value_int(s)``)."""
    from onnx import numpy_helper

    a = c.attrs(node)
    if "value" in a:
        value = numpy_helper.to_array(a["value"])
    elif "value_float" in a or "value_floats" in a:
        value = np.asarray(a.get("value_float", a.get("value_floats")), np.float32)
    elif "value_int" in a or "value_ints" in a:
        value = np.asarray(a.get("value_int", a.get("value_ints")), np.int64)
    else:
        raise c.fail(node, f"holds {', '.join(a) or 'nothing'}; xpusim reads dense numeric "
                           "constants")
    c.set(node, value)


def dropout(c: Converter, node: NodeProto) -> None:
    """Dropout at inference: the identity (training mode and the mask refused)."""
    if c.has(node, 2) and c.is_const(node.input[2]) and bool(c.consts[node.input[2]].any()):
        raise c.fail(node, "training_mode = true; export the model in eval mode")
    if c.has(node, 2) and not c.is_const(node.input[2]):
        raise c.fail(node, "training_mode is computed; export the model in eval mode")
    if len(node.output) > 1 and c.used(node.output[1]):
        raise c.fail(node, "uses the dropout mask; at inference there is none")
    c.alias(node)


def identity(c: Converter, node: NodeProto) -> None:
    """Identity: the output is the input."""
    c.alias(node)
