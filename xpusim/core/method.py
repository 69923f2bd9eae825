"""Base class for training methods: a learning rule over a layer graph, in device primitives.

A method is a ``network.Rule`` (it decides how errors cross weight matrices and how weights
change) written once against the layer interface, not per model: no rule knows whether a
layer is dense, conv or attention. A rule that cannot train some layer type says so in
``unsupported`` (layer kind -> why), checked before the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from .device import Device
from .errors import IncompatibleError
from .graph import Graph
from .network import Network, Rule, Tape


class TrainingMethod(Rule):
    """Trains a ``Graph`` through a ``Device``. Subclasses implement ``train_batch``.

    ``peak_activation_bytes`` is the most activation memory the rule held at once (what it must
    keep between its forward pass and its weight updates), reported via ``hold_activations``.
    """

    name = "?"
    needs: frozenset[str] = frozenset({"mvm", "update"})
    #: Layer kinds this rule cannot train, each with the reason (shown by ``xpusim methods``).
    unsupported: ClassVar[Mapping[str, str]] = {}
    default_lr = 0.01
    #: Learning rate for plain SGD (``--optimizer sgd``, what on-chip learning engines apply);
    #: with ``momentum`` it is scaled by 1 - μ. ``default_lr`` is meant for Adam.
    sgd_lr = 0.05

    def __init__(self, model: Graph, device: Device, rng: np.random.Generator,
                 hyper: Mapping[str, Any] | None = None):
        self.model = model
        self.device = device
        self.rng = rng
        self.hyper = dict(hyper or {})
        self.lr = float(self.hyper.get("lr") or self._default_lr())
        self.peak_activation_bytes = 0
        self.net = Network(model, device)

    def _default_lr(self) -> float:
        opt = self.device.optimizer
        if opt.name in ("sgd", "momentum"):
            return self.sgd_lr * (1.0 - float(getattr(opt, "momentum", 0.0)))
        return self.default_lr

    @classmethod
    def check_model(cls, model: Graph) -> None:
        """Refuse a model holding a layer type this rule cannot train (one clear error)."""
        for node in model.nodes:
            why = cls.unsupported.get(node.layer.kind)
            if why is not None:
                raise IncompatibleError(f"method {cls.name!r} cannot train layer "
                                        f"{node.name!r} of type {node.layer.kind!r} "
                                        f"(model {model.name!r}): {why}")

    def initialize(self) -> None:
        """Place the initial weights (each layer's own initialisation; zero biases)."""
        self.check_model(self.model)
        self.net.initialize(self.rng, rule=self)

    def forward(self, x: np.ndarray, phase: str = "inference",
                keep: bool = False) -> tuple[np.ndarray, Tape | None]:
        """Output scores; with ``keep``, the tape a backward pass needs."""
        return self.net.forward(x, phase, rule=self, keep=keep)

    def predict(self, x: np.ndarray, phase: str = "inference") -> np.ndarray:
        """Scores for ``x`` (argmax over the last axis gives the label or next token)."""
        return self.forward(x, phase)[0]

    def train_batch(self, x: np.ndarray, targets: np.ndarray) -> float:
        """One training step on a batch (labels, or next tokens with -1 where unscored);
        returns the loss (nats)."""
        raise NotImplementedError

    @property
    def output_layer(self) -> int:
        """Device id of the output layer's last matrix (where the loss is recorded)."""
        return self.net.trace_layer[self.model.nodes[-1].name]

    def hold_activations(self, *arrays: np.ndarray) -> None:
        """Note activation arrays held at once, updating ``peak_activation_bytes``."""
        elements = sum(a.size for a in arrays)
        nbytes = elements * self.device.activation_bits // 8
        self.peak_activation_bytes = max(self.peak_activation_bytes, int(nbytes))
