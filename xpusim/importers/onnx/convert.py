"""An ONNX graph as an xpusim layer graph with its trained values.

The walk follows the ONNX nodes in their (topological) order, keeping for each ONNX tensor
either a constant (initializers, ``Constant`` nodes, arithmetic on constants) or a ``Value``:
the xpusim node holding the activation and its ONNX per-sample shape. The two shapes may
differ only by a view (a flatten, a squeeze): the elements are in the same order, so a layer
that needs the ONNX shape gets a ``flatten`` node or an error naming both shapes. The batch
axis is the first axis of every activation; a computation that would move data across it is
refused.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from xpusim.core.errors import XpusimError
from xpusim.core.graph import INPUT, Graph, Node
from xpusim.core.layers import Flatten, Layer, Shape
from xpusim.core.trained import TrainedValues

from .reader import OnnxError

if TYPE_CHECKING:
    from onnx import ModelProto, NodeProto

BATCH = -(2 ** 40)
"""The batch size as shape arithmetic sees it (``Shape`` of an activation): a marker that
``Reshape`` reads as "keep the batch axis"."""

MIN_OPSET = 9
"""Oldest default-domain opset read (BatchNormalization lost its ``spatial`` mode at 9)."""


@attrs.frozen
class Value:
    """An activation: the xpusim node holding it and its ONNX shape per sample."""

    node: str
    shape: Shape


class Converter:
    """State of one import (see the module docstring); ``ops.HANDLERS`` call its helpers."""

    def __init__(self, model: ModelProto, where: str):
        self.where = where
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                          0)
        self.consts: dict[str, np.ndarray] = {}
        self.values: dict[str, Value] = {}
        self.nodes: list[list[Any]] = []           # [name, layer, inputs]
        self.xshape: dict[str, Shape] = {}
        self.matrices: dict[tuple[str, int], list[Any]] = {}   # (node, 0) -> [W, bias]
        self.params: dict[tuple[str, str], np.ndarray] = {}
        self.origin: dict[str, str] = {}           # tensor -> dense/conv node it is the output of
        self.uses: dict[str, int] = {}             # tensor -> consumers (+1 for a graph output)
        #: the input's batch size when the file fixes it (an export without dynamic axes)
        self.fixed_batch: int | None = None
        self._flat: dict[str, str] = {}

    # -- failing -------------------------------------------------------------------------

    def fail(self, node: NodeProto, reason: str) -> OnnxError:
        return OnnxError(f"{self.where}: node {node.name!r} ({node.op_type}): {reason}")

    # -- reading a node ------------------------------------------------------------------

    def attrs(self, node: NodeProto) -> dict[str, Any]:
        from onnx import helper

        out = {}
        for a in node.attribute:
            value = helper.get_attribute_value(a)
            out[a.name] = value.decode() if isinstance(value, bytes) else value
        return out

    def has(self, node: NodeProto, i: int) -> bool:
        return len(node.input) > i and node.input[i] != ""

    def is_const(self, name: str) -> bool:
        return name in self.consts

    def act(self, node: NodeProto, i: int) -> Value:
        """Input ``i`` as an activation (an error when it is a constant or missing)."""
        if not self.has(node, i):
            raise self.fail(node, f"input {i} is missing")
        name = node.input[i]
        if name in self.consts:
            raise self.fail(node, f"input {i} ({name!r}) is a constant; xpusim expects an "
                                  "activation there")
        return self.values[name]

    def const(self, node: NodeProto, i: int, what: str, optional: bool = False
              ) -> np.ndarray | None:
        """Input ``i`` as float32 weights (``what`` names it in errors)."""
        if not self.has(node, i):
            if optional:
                return None
            raise self.fail(node, f"input {i} ({what}) is missing")
        name = node.input[i]
        if name not in self.consts:
            raise self.fail(node, f"input {i} ({what}, {name!r}) is computed from the model's "
                                  "input; xpusim imports it only as a constant (an initializer)")
        value = self.consts[name]
        if value.dtype.kind != "f":
            raise self.fail(node, f"{what} {name!r} holds {value.dtype} values; expected "
                                  "floating-point weights")
        value = value.astype(np.float32)
        if not np.isfinite(value).all():
            raise self.fail(node, f"{what} {name!r} holds NaN or infinite values")
        return value

    def axes(self, node: NodeProto) -> list[int] | None:
        """Axes of Squeeze, Unsqueeze (input 1 from opset 13) and ReduceMean (from opset 18),
        or the ``axes`` attribute of earlier opsets; None when not given."""
        if self.has(node, 1):
            if not self.is_const(node.input[1]):
                raise self.fail(node, "axes computed from values; xpusim reads them from "
                                      "constants")
            return [int(x) for x in self.consts[node.input[1]].reshape(-1)]
        axes = self.attrs(node).get("axes")
        return None if axes is None else [int(x) for x in axes]

    def used(self, name: str) -> bool:
        return bool(name) and self.uses.get(name, 0) > 0

    # -- writing -------------------------------------------------------------------------

    def add(self, node: NodeProto, layer: Layer, inputs: list[str], suffix: str = "") -> str:
        """Append an xpusim node for ``node`` (name from the ONNX node); returns its name."""
        base = (node.name or f"{node.op_type}_{len(self.nodes)}") + suffix
        name, i = base, 1
        while name in self.xshape or name == INPUT:
            name, i = f"{base}#{i}", i + 1
        shapes = [self.xshape[n] for n in inputs]
        try:
            out = tuple(int(s) for s in layer.out_shape(shapes))
        except (XpusimError, ValueError, IndexError, TypeError) as exc:
            raise self.fail(node, f"{layer.describe()} cannot take input of shape "
                                  f"{shapes[0] if len(shapes) == 1 else shapes}: {exc}") from None
        if not out or min(out) <= 0:
            raise self.fail(node, f"{layer.describe()} leaves nothing of its input {shapes[0]}")
        self.nodes.append([name, layer, list(inputs)])
        self.xshape[name] = out
        return name

    def replace(self, name: str, layer: Layer) -> None:
        next(n for n in self.nodes if n[0] == name)[1] = layer

    def layer(self, name: str) -> Layer | None:
        return next((n[1] for n in self.nodes if n[0] == name), None)

    def need(self, node: NodeProto, v: Value, shape: Shape | None = None) -> str:
        """The xpusim node holding ``v`` in ``shape`` (default its ONNX shape): the node itself,
        or a ``flatten`` of it when ``shape`` is flat; else an error naming both shapes."""
        shape = v.shape if shape is None else tuple(shape)
        have = self.xshape[v.node]
        if have == shape:
            return v.node
        if len(shape) == 1 and math.prod(have) == shape[0]:
            if v.node not in self._flat:
                self._flat[v.node] = self.add(node, Flatten(), [v.node], "/flatten")
            return self._flat[v.node]
        raise self.fail(node, f"needs its input of shape {shape}, which xpusim holds as "
                              f"{have}; between layers xpusim reshapes only by flattening")

    def set(self, node: NodeProto, value: Value | np.ndarray, i: int = 0) -> None:
        if isinstance(value, Value):
            self.values[node.output[i]] = value
        else:
            self.consts[node.output[i]] = np.asarray(value)

    def alias(self, node: NodeProto) -> None:
        """Output 0 is input 0 (Identity, Dropout at inference)."""
        src = node.input[0]
        if src in self.consts:
            self.consts[node.output[0]] = self.consts[src]
        else:
            self.values[node.output[0]] = self.values[src]

    # -- the result ----------------------------------------------------------------------

    def graph(self, name: str, input_shape: Shape, output: Value, source: str,
              digest: str) -> Graph:
        """The xpusim nodes the output depends on, in order, with their trained values."""
        if output.node == INPUT:
            raise OnnxError(f"{self.where}: the graph output is its input; there are no layers")
        keep = {output.node}
        for node, _, inputs in reversed(self.nodes):
            if node in keep:
                keep.update(inputs)
        nodes = tuple(Node(n, layer, tuple(i)) for n, layer, i in self.nodes if n in keep)
        matrices = {k: (w, b) for k, (w, b) in self.matrices.items() if k[0] in keep}
        params = {k: v for k, v in self.params.items() if k[0] in keep}
        trained = TrainedValues(matrices, params, source=source, digest=digest)
        try:
            return Graph(name, input_shape, nodes, trained=trained)
        except XpusimError as exc:
            raise OnnxError(f"{self.where}: {exc}") from None


def convert(model: ModelProto, path: str | Path, digest: str, name: str | None = None) -> Graph:
    """The xpusim graph (with ``trained`` values) of a checked ONNX model read from ``path``."""
    from . import ops

    where = str(path)
    c = Converter(model, where)
    if c.opset < MIN_OPSET:
        raise OnnxError(f"{where}: default-domain opset {c.opset or 'missing'}; xpusim reads "
                        f"opset {MIN_OPSET} and later (export with a newer opset_version)")
    g = model.graph
    if g.sparse_initializer:
        raise OnnxError(f"{where}: sparse initializers are not supported")
    for t in g.initializer:
        c.consts[t.name] = _array(t, where)
    inp = _the_input(g, c.consts, where)
    sample = _sample_shape(inp, where)
    first = inp.type.tensor_type.shape.dim[0]
    c.fixed_batch = first.dim_value if first.HasField("dim_value") else None
    c.values[inp.name] = Value(INPUT, sample)
    c.xshape[INPUT] = sample
    if len(g.output) != 1:
        raise OnnxError(f"{where}: the graph has {len(g.output)} outputs; xpusim imports "
                        "models with one output (the class scores)")
    out_name = g.output[0].name
    needed = _needed(g.node, out_name)
    for node in needed:
        for t in node.input:
            c.uses[t] = c.uses.get(t, 0) + 1
    c.uses[out_name] = c.uses.get(out_name, 0) + 1
    for node in needed:
        ops.convert_node(c, node)
    if out_name in c.consts:
        raise OnnxError(f"{where}: the graph output {out_name!r} does not depend on the input")
    return c.graph(name or f"onnx:{path}", sample, c.values[out_name], where, digest)


def _array(t: Any, where: str) -> np.ndarray:
    from onnx import numpy_helper

    try:
        return numpy_helper.to_array(t)
    except (ValueError, TypeError, KeyError) as exc:
        raise OnnxError(f"{where}: tensor {t.name!r} cannot be read: {exc}") from None


def _the_input(g: Any, consts: dict[str, np.ndarray], where: str) -> Any:
    inputs = [i for i in g.input if i.name not in consts]
    if len(inputs) != 1:
        names = ", ".join(repr(i.name) for i in inputs) or "none"
        raise OnnxError(f"{where}: the graph takes {len(inputs)} inputs ({names}); xpusim "
                        "imports models of one input (a batch of samples)")
    return inputs[0]


def _sample_shape(inp: Any, where: str) -> Shape:
    """The shape of one sample: the input's dimensions after the first (the batch axis)."""
    from onnx import TensorProto, helper

    t = inp.type.tensor_type
    if not inp.type.HasField("tensor_type") or t.elem_type != TensorProto.FLOAT:
        kind = helper.tensor_dtype_to_np_dtype(t.elem_type) if t.elem_type else "no tensor type"
        raise OnnxError(f"{where}: input {inp.name!r} holds {kind}; xpusim imports models "
                        "of float32 input (images or features; token ids are not imported)")
    dims = list(t.shape.dim) if t.HasField("shape") else []
    if len(dims) < 2:
        raise OnnxError(f"{where}: input {inp.name!r} has {len(dims)} dimensions; expected "
                        "(batch, ...sample) with at least one sample axis")
    sample = tuple(d.dim_value if d.HasField("dim_value") else 0 for d in dims[1:])
    if min(sample) <= 0:
        shown = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                 for d in dims]
        raise OnnxError(f"{where}: input {inp.name!r} has shape {shown}; every axis but the "
                        "first (the batch) needs a fixed size")
    return sample


def _needed(nodes: Any, output: str) -> list[Any]:
    """The nodes the graph output depends on, in file order."""
    producer = {o: i for i, n in enumerate(nodes) for o in n.output if o}
    want, stack = set(), [output]
    while stack:
        i = producer.get(stack.pop())
        if i is not None and i not in want:
            want.add(i)
            stack.extend(t for t in nodes[i].input if t)
    return [n for i, n in enumerate(nodes) if i in want]
