"""Trained values a model brings with it (an imported file's weights): placed on the device
instead of a fresh initialisation, then served or trained further like any weights.

Keys follow the network's placement: weight matrices by (node name, slot), digital periphery
parameters (norm gains, running statistics) by (node name, parameter name). A matrix or a
parameter that is not given starts from the layer's own initialisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs
import numpy as np

from .errors import XpusimError

if TYPE_CHECKING:
    from .graph import Graph

MatrixKey = tuple[str, int]
ParamKey = tuple[str, str]


@attrs.frozen(eq=False)
class TrainedValues:
    """Weights and periphery parameters of a model, float32.

    Attributes:
        matrices: (node, slot) -> (weights fan_in x fan_out, bias of fan_out values or None).
        params: (node, parameter) -> value, shaped as the layer's ``params`` gives it.
        source: where the values come from (a file path), for messages and results.
        digest: sha256 of that source: results record it, since a file changed in place is
            another model under the same name.
    """

    matrices: Mapping[MatrixKey, tuple[np.ndarray, np.ndarray | None]]
    params: Mapping[ParamKey, np.ndarray] = attrs.field(factory=dict)
    source: str = ""
    digest: str = ""

    def check(self, graph: Graph) -> None:
        """Raise an ``XpusimError`` naming the node when a value does not fit ``graph``."""
        where = f"model {graph.name!r}" + (f" (values from {self.source})" if self.source else "")
        expected = {(n.name, slot): m for n, slot, m in graph.matrices()}
        for key, (w, b) in self.matrices.items():
            m = expected.get(key)
            if m is None:
                raise XpusimError(f"{where}: node {key[0]!r} holds no weight matrix {key[1]}")
            if w.shape != (m.fan_in, m.fan_out):
                raise XpusimError(f"{where}: node {key[0]!r}: weights of shape {w.shape}, the "
                                  f"layer holds {m.fan_in} x {m.fan_out}")
            if (b is None) == m.bias or (b is not None and b.shape != (m.fan_out,)):
                want = f"a bias of {m.fan_out} values" if m.bias else "no bias"
                got = "none" if b is None else f"shape {b.shape}"
                raise XpusimError(f"{where}: node {key[0]!r} takes {want}, got {got}")
        nodes = {n.name: n for n in graph.nodes}
        rng = np.random.default_rng(0)
        for (name, param), value in self.params.items():
            node = nodes.get(name)
            own = {} if node is None else node.layer.params(graph.input_shapes(node), rng)
            if param not in own:
                raise XpusimError(f"{where}: node {name!r} has no parameter {param!r}")
            if value.shape != own[param].shape:
                raise XpusimError(f"{where}: node {name!r}: parameter {param!r} of shape "
                                  f"{value.shape}, the layer holds {own[param].shape}")

    def matrix(self, node: str, slot: int) -> tuple[np.ndarray, np.ndarray | None] | None:
        """Copies of (weights, bias) of one matrix, or None when not given."""
        given = self.matrices.get((node, slot))
        if given is None:
            return None
        w, b = given
        return w.astype(np.float32, copy=True), None if b is None else b.astype(np.float32)

    def param(self, node: str, name: str) -> np.ndarray | None:
        """A copy of one periphery parameter, or None when not given."""
        value = self.params.get((node, name))
        return None if value is None else value.astype(np.float32, copy=True)
