"""Shared pieces of the local learning rules (fa, dfa, oja, krotov-hopfield, forward-forward).

Not a plugin (underscore module). Everything here goes through device primitives: fixed random
feedback matrices live *on the device* as extra, never-updated layers (ids from
``FEEDBACK_BASE`` up) and are read with ``mvm`` in phase ``train-backward``, so no rule here
needs ``mvm_t`` of trained weights.
"""

from __future__ import annotations

import numpy as np

from xpusim.core.models import activate, cross_entropy, softmax

#: Layer ids of fixed (non-trained) feedback matrices start here: 1000 + trained layer index.
FEEDBACK_BASE = 1000


def place_feedback(device, layer_id: int, shape: tuple[int, int], rng: np.random.Generator,
                   scale: float | None = None) -> None:
    """Draw a fixed random k x n matrix (normal, std 1/sqrt(k) unless ``scale``) and write it
    onto the device as layer ``layer_id`` (no bias). It is read with ``mvm``, never updated."""
    k, n = shape
    std = float(scale) if scale is not None else 1.0 / np.sqrt(k)
    b = (rng.standard_normal((k, n)) * std).astype(np.float32)
    device.place(layer_id, b, None)


def derivative_from_output(activation: str, h: np.ndarray) -> np.ndarray:
    """f'(z) computed from the activation h = f(z) alone (relu, tanh, sigmoid), so a rule needs
    to keep only each layer's output, not its pre-activation as well."""
    if activation == "relu":
        return (h > 0).astype(h.dtype)
    if activation == "tanh":
        return 1.0 - h * h
    return h * (1.0 - h)


def forward_outputs(method, x: np.ndarray, phase: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """Forward pass through the trained layers keeping only each layer's *input* (x, h1, ...):
    returns (output scores, inputs). Records the activation-function periphery work."""
    device, model = method.device, method.model
    h, inputs = x, []
    last = model.n_layers - 1
    for layer in range(model.n_layers):
        inputs.append(h)
        z = device.mvm(layer, h, phase)
        if layer < last:
            h = activate(model.activation, z)
            device.record_elementwise(phase, layer, z.size, 2, 1)
        else:
            h = z
    return h, inputs


def softmax_error(device, layer: int, scores: np.ndarray,
                  onehot: np.ndarray) -> tuple[np.ndarray, float]:
    """Output error e = (softmax(scores) - target) / batch and the cross-entropy loss (nats),
    recorded as digital periphery work of ``layer``."""
    probs = softmax(scores)
    loss = cross_entropy(probs, onehot)
    device.record_elementwise("train-forward", layer, probs.size, 3, 6)
    return (probs - onehot) / len(onehot), loss


def option(hyper: dict, name: str, default, kind=float):
    """A method option from ``hyper`` (RunConfig.options), converted, with a clear error."""
    from xpusim.core.errors import XpusimError

    value = hyper.get(name, default)
    if value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise XpusimError(f"option {name!r}: expected {kind.__name__}, got {value!r}") from None
