"""A model as a graph of layers: nodes in topological order, shapes derived once.

The description is hardware-neutral data: ``network.Network`` places it on a device and runs
it; learning rules ask it which layer types it holds and where its weight matrices are.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from functools import cached_property

import attrs

from .errors import XpusimError
from .layers import Activation, Dense, Layer, Matrix, MultiHeadAttention, Shape

INPUT = "input"
"""The name node inputs use for the model's input."""


@attrs.frozen
class Node:
    """One layer of the graph, fed by the named nodes (``INPUT`` for the model input)."""

    name: str
    layer: Layer
    inputs: tuple[str, ...]


@attrs.frozen(eq=False)
class Graph:
    """A model: its input sample shape (``tokens``: integer ids), its nodes; the last node's
    output is the model's output (class scores, or per-token scores)."""

    name: str
    input_shape: Shape
    nodes: tuple[Node, ...]
    tokens: bool = False

    def __attrs_post_init__(self) -> None:
        self.shapes  # noqa: B018 - validate now: every error names the node

    @cached_property
    def shapes(self) -> dict[str, Shape]:
        """Output sample shape of every node (and of ``INPUT``)."""
        shapes: dict[str, Shape] = {INPUT: tuple(self.input_shape)}
        if not self.nodes:
            raise XpusimError(f"model {self.name!r} has no layers")
        for node in self.nodes:
            if node.name in shapes:
                raise XpusimError(f"model {self.name!r}: two layers are named {node.name!r}")
            missing = [i for i in node.inputs if i not in shapes]
            if missing:
                raise XpusimError(f"model {self.name!r}: layer {node.name!r} reads "
                                  f"{', '.join(missing)}, which no earlier layer produces")
            if len(node.inputs) != node.layer.arity:
                raise XpusimError(f"model {self.name!r}: layer {node.name!r} "
                                  f"({node.layer.kind}) takes {node.layer.arity} input(s), "
                                  f"got {len(node.inputs)}")
            ins = [shapes[i] for i in node.inputs]
            try:
                out = tuple(int(s) for s in node.layer.out_shape(ins))
            except XpusimError as exc:
                raise XpusimError(f"model {self.name!r}: layer {node.name!r}: {exc}") from None
            except (ValueError, IndexError, TypeError) as exc:
                raise XpusimError(f"model {self.name!r}: layer {node.name!r} "
                                  f"({node.layer.describe()}) cannot take input of shape "
                                  f"{ins[0] if len(ins) == 1 else ins}: {exc}") from None
            if not out or min(out) <= 0:
                raise XpusimError(f"model {self.name!r}: layer {node.name!r} "
                                  f"({node.layer.describe()}) leaves nothing of its input "
                                  f"{ins[0]} (output shape {out})")
            shapes[node.name] = out
        return shapes

    # -- reading the graph ---------------------------------------------------------------

    @property
    def output_shape(self) -> Shape:
        return self.shapes[self.nodes[-1].name]

    def input_shapes(self, node: Node) -> list[Shape]:
        return [self.shapes[i] for i in node.inputs]

    def matrices(self) -> Iterator[tuple[Node, int, Matrix]]:
        """Every weight matrix, in placement order: (node, slot, matrix)."""
        for node in self.nodes:
            for slot, m in enumerate(node.layer.matrices(self.input_shapes(node))):
                yield node, slot, m

    @cached_property
    def weighted(self) -> tuple[Node, ...]:
        """Nodes that place weight matrices on the device, in order."""
        return tuple(n for n in self.nodes if n.layer.matrices(self.input_shapes(n)))

    @cached_property
    def kinds(self) -> tuple[str, ...]:
        """Layer types in the graph, in order of first appearance."""
        return tuple(dict.fromkeys(n.layer.kind for n in self.nodes))

    @cached_property
    def consumers(self) -> dict[str, tuple[str, ...]]:
        """Node name -> names of the nodes that read its output."""
        out: dict[str, list[str]] = {INPUT: [], **{n.name: [] for n in self.nodes}}
        for n in self.nodes:
            for i in n.inputs:
                out[i].append(n.name)
        return {k: tuple(v) for k, v in out.items()}

    @property
    def primitives(self) -> frozenset[str]:
        """Device primitives the model's forward pass needs beyond ``mvm``."""
        return frozenset({"matmul"}) if any(isinstance(n.layer, MultiHeadAttention)
                                            for n in self.nodes) else frozenset()

    @property
    def n_params(self) -> int:
        """Trained parameters: weights, biases and digital periphery parameters."""
        import numpy as np

        total = sum(m.fan_in * m.fan_out + (m.fan_out if m.bias else 0)
                    for _, _, m in self.matrices())
        rng = np.random.default_rng(0)
        for n in self.nodes:
            params = n.layer.params(self.input_shapes(n), rng)
            total += sum(v.size for k, v in params.items() if k not in n.layer.state)
        return int(total)

    @property
    def macs_per_sample(self) -> int:
        return sum(n.layer.macs(self.input_shapes(n)) for n in self.nodes)

    def describe(self) -> list[dict[str, object]]:
        """One row per node: name, layer, inputs, output shape (``xpusim models``)."""
        return [{"name": n.name, "layer": n.layer.describe(), "inputs": list(n.inputs),
                 "output": list(self.shapes[n.name])} for n in self.nodes]

    def dense_chain(self) -> tuple[tuple[int, ...], str]:
        """(widths, activation) when the model is a multilayer perceptron (dense layers with
        one activation between them, an optional flatten first); else an ``XpusimError``
        naming the first layer that is not."""
        sizes = [math.prod(self.input_shape)]
        act = None
        for node in self.nodes:
            layer = node.layer
            if layer.kind == "flatten" and len(sizes) == 1:
                continue
            if isinstance(layer, Dense):
                sizes.append(layer.units)
            elif isinstance(layer, Activation) and act in (None, layer.fn):
                act = layer.fn
            else:
                raise XpusimError(f"layer {node.name!r} is a {layer.kind} layer")
        return tuple(sizes), act or "relu"


class GraphBuilder:
    """Builds a ``Graph`` node by node; each node reads the previous one unless told."""

    def __init__(self, name: str, input_shape: Sequence[int], tokens: bool = False):
        self.name = name
        self.input_shape = tuple(int(s) for s in input_shape)
        self.tokens = tokens
        self.nodes: list[Node] = []
        self._count: dict[str, int] = {}

    @property
    def last(self) -> str:
        return self.nodes[-1].name if self.nodes else INPUT

    def add(self, layer: Layer, inputs: Sequence[str] | None = None, name: str | None = None
            ) -> str:
        """Append ``layer`` (reading ``inputs``, default the last node); returns its name."""
        if name is None:
            base = layer.kind if layer.kind != "activation" else getattr(layer, "fn", "act")
            i = self._count.get(base, 0)
            self._count[base] = i + 1
            name = f"{base}{i}"
        self.nodes.append(Node(name, layer, tuple(inputs) if inputs is not None
                               else (self.last,)))
        return name

    def build(self) -> Graph:
        return Graph(self.name, self.input_shape, tuple(self.nodes), self.tokens)
