"""Model descriptions the core understands: multilayer perceptrons (``mlp:64-256-10[:act]``)."""

from __future__ import annotations

import attrs
import numpy as np

from .errors import XpusimError

ACTIVATIONS = ("relu", "tanh", "sigmoid")


@attrs.frozen
class MLP:
    """A fully connected network: layer widths (inputs first, classes last) and hidden activation."""

    sizes: tuple[int, ...]
    activation: str = "relu"

    @property
    def name(self) -> str:
        return f"mlp:{'-'.join(map(str, self.sizes))}" + (
            f":{self.activation}" if self.activation != "relu" else "")

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def layer_shapes(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) per layer."""
        return list(zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def n_params(self) -> int:
        return sum(k * n + n for k, n in self.layer_shapes())


def parse_mlp(args: str) -> MLP:
    """``64-256-10`` or ``64-256-10:tanh`` -> MLP."""
    widths, _, act = args.partition(":")
    act = act or "relu"
    try:
        sizes = tuple(int(s) for s in widths.split("-"))
    except ValueError:
        sizes = ()
    if len(sizes) < 2 or any(s <= 0 for s in sizes):
        raise XpusimError(f"model 'mlp:{args}': expected widths like mlp:64-256-10 "
                          f"(inputs-hidden...-classes, positive integers)")
    if act not in ACTIVATIONS:
        raise XpusimError(f"model 'mlp:{args}': unknown activation {act!r} "
                          f"(expected one of {', '.join(ACTIVATIONS)})")
    return MLP(sizes, act)


def activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "tanh":
        return np.tanh(z)
    return 1.0 / (1.0 + np.exp(-z))


def activation_grad(name: str, z: np.ndarray, h: np.ndarray) -> np.ndarray:
    """d act / d z, given pre-activation z and activation h."""
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "tanh":
        return 1.0 - h * h
    return h * (1.0 - h)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(probs: np.ndarray, onehot: np.ndarray) -> float:
    """Mean softmax cross-entropy (nats)."""
    return float(-np.mean(np.sum(onehot * np.log(np.clip(probs, 1e-12, 1.0)), axis=1)))
