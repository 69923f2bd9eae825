"""A layer graph placed on a device and run through its primitives.

Weight matrices become device layers 0, 1, 2, ... in graph order (fixed feedback matrices of
a learning rule from ``FEEDBACK_BASE``); digital periphery parameters (norm gains, embedding
tables) live in the device's periphery store. Weight-free work is recorded under the id of
the last matrix placed before it, so per-layer breakdowns group a layer with its activation.

The learning rule is a ``Rule``: it decides how an error crosses a weight matrix (``mvm_t``
for backprop, a fixed random matrix for feedback alignment), how weights change, and may
reshape or watch every product (Hebbian rules). ``TrainingMethod`` is one.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from .errors import XpusimError
from .graph import INPUT, Graph, Node
from .layers import Activation, Matrix, held

FEEDBACK_BASE = 1000
"""Device layer ids of a rule's fixed feedback matrices start here (1000 + matrix id)."""

PHASE_BACKWARD = "train-backward"


class Rule:
    """How a learning rule meets the network; the defaults are exact gradient descent."""

    lr: float = 0.0

    def propagate(self, net: Network, layer_id: int, e: np.ndarray) -> np.ndarray:
        """The error ``e`` at a matrix's output, carried to its input (backprop: eᵀW)."""
        return net.device.mvm_t(layer_id, e, PHASE_BACKWARD)

    def update(self, net: Network, layer_id: int, pre: np.ndarray, post: np.ndarray) -> None:
        net.device.update(layer_id, pre, post, self.lr)

    def param_grad(self, net: Network, key: tuple[str, str], grad: np.ndarray) -> None:
        net.device.periphery_step(key, grad, self.lr)

    def init(self, net: Network, node: Node, slot: int, matrix: Matrix,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None] | None:
        """Initial (weights, bias) of one matrix, or None for the layer's own."""
        return None

    def transform(self, net: Network, node: Node, slot: int, rows: np.ndarray,
                  phase: str) -> np.ndarray:
        """The rows a product takes (a rule may normalise them); recorded by the rule."""
        return rows

    def observe(self, net: Network, node: Node, slot: int, rows: np.ndarray, z: np.ndarray,
                phase: str) -> None:
        """Called after each product with its input rows and output (local rules learn here)."""

    def activation(self, net: Network, node: Node, kind: str, z: np.ndarray
                   ) -> tuple[np.ndarray, int] | None:
        """A rule's own response of an activation node (h, ops per element), or None."""
        return None


class _Ops:
    """``layers.Ops`` for one node and one pass."""

    def __init__(self, net: Network, node: Node, phase: str, rule: Rule):
        self.net, self.node, self.phase, self.rule = net, node, phase, rule
        self.train = phase.startswith("train")
        self.device = net.device
        self.device.row_geometry = None  # each node says its own (``geometry``)

    def _id(self, slot: int) -> int:
        return self.net.ids[(self.node.name, slot)]

    def mvm(self, slot: int, x: np.ndarray) -> np.ndarray:
        x = self.rule.transform(self.net, self.node, slot, x, self.phase)
        z = self.device.mvm(self._id(slot), x, self.phase)
        self.rule.observe(self.net, self.node, slot, x, z, self.phase)
        return z

    def propagate(self, slot: int, e: np.ndarray) -> np.ndarray:
        return self.rule.propagate(self.net, self._id(slot), e)

    def update(self, slot: int, pre: np.ndarray, post: np.ndarray) -> None:
        self.rule.update(self.net, self._id(slot), pre, post)

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.device.matmul(self.net.trace_layer[self.node.name], a, b, self.phase)

    def record(self, elements: int, arrays: int, ops: int, primitive: str = "elementwise"
               ) -> None:
        self.device.record_elementwise(self.phase, self.net.trace_layer[self.node.name],
                                       elements, arrays, ops, primitive)

    def param(self, name: str) -> np.ndarray:
        return self.device.periphery[(self.node.name, name)]

    def param_grad(self, name: str, grad: np.ndarray) -> None:
        self.rule.param_grad(self.net, (self.node.name, name), grad)

    def activation(self, kind: str, z: np.ndarray) -> tuple[np.ndarray, int] | None:
        return self.rule.activation(self.net, self.node, kind, z)

    def geometry(self, samples: int, inputs: int) -> None:
        self.device.row_geometry = (int(samples), int(inputs))


@attrs.frozen
class Tape:
    """What a training forward pass kept: each node's cache, in order, and the output."""

    entries: tuple[tuple[Node, Any], ...]
    output: np.ndarray

    def held_arrays(self) -> list[np.ndarray]:
        """Distinct arrays kept for the backward pass (shared arrays counted once)."""
        seen: dict[int, np.ndarray] = {}
        for _, cache in self.entries:
            for a in held(cache):  # arrays only
                if a.dtype.kind == "f":
                    base = a.base
                    seen.setdefault(id(a) if base is None else id(base), a)
        return list(seen.values())

    def cache(self, name: str) -> Any:
        for node, cache in self.entries:
            if node.name == name:
                return cache
        raise KeyError(name)


class Network:
    """``graph`` on ``device`` (see module docstring)."""

    def __init__(self, graph: Graph, device: Any):
        self.graph, self.device = graph, device
        self.ids: dict[tuple[str, int], int] = {}
        self.trace_layer: dict[str, int] = {}
        last = 0
        for node in graph.nodes:
            for slot, _ in enumerate(node.layer.matrices(graph.input_shapes(node))):
                self.ids[(node.name, slot)] = len(self.ids)
                last = self.ids[(node.name, slot)]
            self.trace_layer[node.name] = last
        trained: dict[str, bool] = {INPUT: False}
        for node in graph.nodes:
            shapes = graph.input_shapes(node)
            own = bool(node.layer.matrices(shapes)) or any(
                k not in node.layer.state
                for k in node.layer.params(shapes, np.random.default_rng(0)))
            trained[node.name] = own or any(trained[i] for i in node.inputs)
        #: per node, whether each input needs its error (something trainable lies upstream)
        self.needs = {n.name: tuple(trained[i] for i in n.inputs) for n in graph.nodes}
        #: per value, how many nodes read it (a forward pass frees it after the last)
        self._readers = {k: len(v) for k, v in graph.consumers.items()}

    # -- weights ---------------------------------------------------------------------------

    def initialize(self, rng: np.random.Generator, rule: Rule | None = None) -> None:
        """Place every matrix and the periphery parameters, in graph order: the values the
        graph brings (``Graph.trained``) where it has them, else the rule's initialisation or
        the layer's (zero biases), drawing from ``rng``."""
        rule = rule or Rule()
        g = self.graph
        for node in g.nodes:
            shapes = g.input_shapes(node)
            for slot, m in enumerate(node.layer.matrices(shapes)):
                chosen = g.trained.matrix(node.name, slot) if g.trained else None
                if chosen is None:
                    chosen = rule.init(self, node, slot, m, rng)
                if chosen is None:
                    w = node.layer.init(slot, m, rng)
                    b = np.zeros(m.fan_out, dtype=np.float32) if m.bias else None
                else:
                    w, b = chosen
                self.device.place(self.ids[(node.name, slot)], w, b)
            for name, value in node.layer.params(shapes, rng).items():
                given = g.trained.param(node.name, name) if g.trained else None
                self.device.periphery[(node.name, name)] = value if given is None else given

    def matrix_shape(self, node: Node, slot: int) -> tuple[int, int]:
        m = node.layer.matrices(self.graph.input_shapes(node))[slot]
        return m.fan_in, m.fan_out

    # -- passes ----------------------------------------------------------------------------

    def forward(self, x: np.ndarray, phase: str, rule: Rule | None = None,
                keep: bool = False) -> tuple[np.ndarray, Tape | None]:
        """The output for the batch ``x``; with ``keep`` the tape a backward pass needs."""
        rule = rule or Rule()
        values: dict[str, np.ndarray] = {INPUT: x}
        remaining = dict(self._readers)
        entries: list[tuple[Node, Any]] = []
        for node in self.graph.nodes:
            y, cache = node.layer.forward(_Ops(self, node, phase, rule),
                                          [values[i] for i in node.inputs])
            values[node.name] = y
            for i in node.inputs:  # free what no later node reads
                remaining[i] -= 1
                if remaining[i] == 0 and i != INPUT:
                    del values[i]
            if keep:
                entries.append((node, cache))
        out = values[self.graph.nodes[-1].name]
        return out, (Tape(tuple(entries), out) if keep else None)

    def backward(self, tape: Tape, dout: np.ndarray, rule: Rule) -> None:
        """Carry ``dout`` (the error at the output) back through every node, each applying
        its weight changes; branch errors are summed (one ``elementwise`` row each)."""
        grads: dict[str, np.ndarray] = {tape.entries[-1][0].name: dout}
        for node, cache in reversed(tape.entries):
            dy = grads.pop(node.name, None)
            if dy is None:
                continue
            ops = _Ops(self, node, PHASE_BACKWARD, rule)
            dxs = node.layer.backward(ops, dy, cache, self.needs[node.name])
            for inp, dx in zip(node.inputs, dxs):
                if dx is None or inp == INPUT:
                    continue
                if inp in grads:
                    grads[inp] = grads[inp] + dx
                    self.device.record_elementwise(PHASE_BACKWARD, self.trace_layer[inp],
                                                   dx.size, 3, 1)
                else:
                    grads[inp] = dx

    def dfa_targets(self) -> list[tuple[Node, int, tuple[int, ...]]]:
        """Where direct feedback reaches each matrix except the output layer's: (node, slot,
        per-sample shape of the signal). A single-matrix layer gets it at its output, after
        an activation that directly follows it (whose derivative then applies); each matrix
        of a multi-matrix layer (attention) at its own product's output rows."""
        g = self.graph
        out: list[tuple[Node, int, tuple[int, ...]]] = []
        for node in g.weighted:
            if node is g.nodes[-1]:
                continue
            slots = node.layer.matrices(g.input_shapes(node))
            if len(slots) == 1:
                out.append((node, 0, g.shapes[self._dfa_act(node).name
                                              if self._dfa_act(node) else node.name]))
            else:
                rows = int(np.prod(g.input_shapes(node)[0][:-1]))
                out += [(node, s, (rows, m.fan_out)) for s, m in enumerate(slots)]
        return out

    def _dfa_act(self, node: Node) -> Node | None:
        consumers = self.graph.consumers[node.name]
        if len(consumers) != 1:
            return None
        nxt = next(n for n in self.graph.nodes if n.name == consumers[0])
        return nxt if isinstance(nxt.layer, Activation) else None

    @staticmethod
    def feedback_shape(e_shape: tuple[int, ...], target: tuple[int, ...]) -> tuple[int, int]:
        """(k, n) of the fixed matrix taking the output error (per-sample shape ``e_shape``)
        to a signal of per-sample shape ``target``: token by token when both have the same
        leading token axis, else the whole sample."""
        if len(e_shape) == 2 and len(target) >= 2 and target[0] == e_shape[0]:
            return e_shape[1], int(np.prod(target[1:]))
        return int(np.prod(e_shape)), int(np.prod(target))

    def project(self, feedback_id: int, e: np.ndarray, target: tuple[int, ...]) -> np.ndarray:
        """``e`` through fixed matrix ``feedback_id`` (an ``mvm`` in the backward phase),
        shaped (batch, *target)."""
        b = len(e)
        if e.ndim == 3 and len(target) >= 2 and target[0] == e.shape[1]:
            out = self.device.mvm(feedback_id, e.reshape(b * e.shape[1], -1), PHASE_BACKWARD)
        else:
            out = self.device.mvm(feedback_id, e.reshape(b, -1), PHASE_BACKWARD)
        return out.reshape(b, *target)

    def direct_feedback(self, tape: Tape, e: np.ndarray, rule: Rule,
                        feedback_ids: dict[tuple[str, int], int]) -> None:
        """Direct feedback alignment (Nøkland 2016): the output layer learns from ``e``;
        every other matrix from ``e`` through its own fixed random matrix at the place
        ``dfa_targets`` names, in forward order. No error crosses a trained weight matrix."""
        g = self.graph
        out_node = g.nodes[-1]
        if out_node not in g.weighted:
            raise XpusimError(f"direct feedback needs the model's last layer to hold weights "
                              f"(it is a {out_node.layer.kind} layer)")
        out_node.layer.backward(_Ops(self, out_node, PHASE_BACKWARD, rule), e,
                                tape.cache(out_node.name), (False,) * out_node.layer.arity)
        for node, slot, target in self.dfa_targets():
            cache = tape.cache(node.name)
            ops = _Ops(self, node, PHASE_BACKWARD, rule)
            signal = self.project(feedback_ids[(node.name, slot)], e, target)
            if len(node.layer.matrices(g.input_shapes(node))) == 1:
                act = self._dfa_act(node)
                if act is not None:
                    signal = act.layer.backward(_Ops(self, act, PHASE_BACKWARD, rule), signal,
                                                tape.cache(act.name), (True,))[0]
                node.layer.backward(ops, signal, cache, (False,) * node.layer.arity)
            else:
                rows = node.layer.rows(cache, slot)
                ops.update(slot, rows, -signal.reshape(rows.shape[0], -1))
