"""Base class for training methods: a learning rule expressed in device primitives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .device import Device
from .models import MLP, activate


class TrainingMethod:
    """Trains an MLP through a ``Device``. Subclasses implement ``train_batch``.

    ``peak_activation_bytes`` is the most activation memory the rule held at once (what it must
    keep between its forward pass and its weight updates); methods report it via
    ``hold_activations``.
    """

    name = "?"
    needs: frozenset[str] = frozenset({"mvm", "update"})
    default_lr = 0.01
    #: Learning rate for plain SGD (``--optimizer sgd``, what on-chip learning engines apply);
    #: with ``momentum`` it is scaled by 1 - μ. ``default_lr`` is meant for Adam.
    sgd_lr = 0.05

    def __init__(self, model: MLP, device: Device, rng: np.random.Generator,
                 hyper: Mapping[str, Any] | None = None):
        self.model = model
        self.device = device
        self.rng = rng
        self.hyper = dict(hyper or {})
        self.lr = float(self.hyper.get("lr") or self._default_lr())
        self.peak_activation_bytes = 0

    def _default_lr(self) -> float:
        opt = self.device.optimizer
        if opt.name in ("sgd", "momentum"):
            return self.sgd_lr * (1.0 - float(getattr(opt, "momentum", 0.0)))
        return self.default_lr

    def initialize(self) -> None:
        """Place initial weights: He-normal for relu, Glorot-normal otherwise; zero biases."""
        for layer, (k, n) in enumerate(self.model.layer_shapes()):
            gain = 2.0 / k if self.model.activation == "relu" else 2.0 / (k + n)
            w = self.rng.standard_normal((k, n)).astype(np.float32) * np.float32(np.sqrt(gain))
            self.device.place(layer, w, np.zeros(n, dtype=np.float32))

    def forward(self, x: np.ndarray, phase: str = "inference",
                keep: bool = False) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Output scores; with ``keep``, also every layer's input and pre-activation."""
        h = x
        inputs, pre = [], []
        last = self.model.n_layers - 1
        for layer in range(self.model.n_layers):
            z = self.device.mvm(layer, h, phase)
            if keep:
                inputs.append(h)
                pre.append(z)
            if layer < last:
                h = activate(self.model.activation, z)
                self.device.record_elementwise(phase, layer, z.size, 2, 1)
            else:
                h = z
        return h, inputs, pre

    def predict(self, x: np.ndarray, phase: str = "inference") -> np.ndarray:
        """Class scores for ``x`` (argmax gives the label)."""
        return self.forward(x, phase)[0]

    def train_batch(self, x: np.ndarray, onehot: np.ndarray) -> float:
        """One training step on a batch; returns the loss (nats)."""
        raise NotImplementedError

    def hold_activations(self, *arrays: np.ndarray) -> None:
        """Note activation arrays held at once, updating ``peak_activation_bytes``."""
        elements = sum(a.size for a in arrays)
        nbytes = elements * self.device.activation_bits // 8
        self.peak_activation_bytes = max(self.peak_activation_bytes, int(nbytes))
