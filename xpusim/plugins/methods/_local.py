"""Shared pieces of the local learning rules (fa, dfa, oja, krotov-hopfield, forward-forward).

Not a plugin (underscore module). Everything here goes through device primitives: fixed random
feedback matrices live *on the device* as extra, never-updated layers (ids from
``FEEDBACK_BASE`` up) and are read with ``mvm`` in phase ``train-backward``, so no rule here
needs ``mvm_t`` of trained weights.
"""

from __future__ import annotations

import numpy as np

from xpusim.core.models import activate, cross_entropy, softmax
from xpusim.core.optim import SGD

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


def check_options(method, allowed: tuple[str, ...]) -> None:
    """Refuse option names the method does not know (a typo would otherwise be ignored)."""
    import difflib

    from xpusim.core.errors import XpusimError

    for name in method.hyper:
        if name in ("lr", "optimizer") or name in allowed:  # run-level keys
            continue
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        if name == "hidden_epochs" and "hidden_batches" in allowed:
            hint = ("; use hidden_batches = epochs x batches per epoch (digits at batch 32: "
                    "45 batches per epoch)")
        raise XpusimError(f"method {method.name!r}: unknown option {name!r}{hint} "
                          f"(known: {', '.join(sorted(allowed)) or 'none'})")


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


class HebbianReadout:
    """Mixin for unsupervised Hebbian hidden layers followed by a supervised delta-rule readout.

    Hidden layers (no bias) learn with ``hebbian_update`` on their own input and output; the last
    layer is a softmax readout trained with the delta rule (ΔW ∝ hᵀ(t - p): the error is the
    readout unit's own, so the rule is local). Both learn on every batch; option
    ``hidden_batches`` (int) freezes the hidden layers after that many batches. Only one layer's
    input and output are held at a time (layers are updated as the pass goes), so the peak
    activation memory is one layer pair, not the whole network.

    Subclasses set ``hidden_default_lr`` and implement ``hebbian_update(layer, x, z)`` and
    ``hidden_activation(z)`` (the representation the readout sees).
    """

    hidden_default_lr = 1e-3
    init_std: float | None = None  # None: 1/sqrt(fan-in), columns of norm ~1

    def hebbian_step(self, layer: int, pre: np.ndarray, post: np.ndarray,
                     decay: np.ndarray) -> None:
        """One Hebbian ``update`` applied as a plain step ΔW = hidden_lr·D, as the rules are
        published: on a digital device the run's optimizer (e.g. Adam, meant for the readout)
        is swapped for plain SGD during this call; its per-element scaling would let rarely
        active units move as fast as winners and break the competition. In-situ devices
        (analog, neuromorphic) apply D as they always do."""
        device = self.device
        saved = device.optimizer
        device.optimizer = self._plain
        try:
            device.update(layer, pre, post, self.hidden_lr, decay=decay)
        finally:
            device.optimizer = saved

    def _setup_hebbian(self) -> None:
        check_options(self, self.OPTIONS)
        self.hidden_lr = option(self.hyper, "hidden_lr", self.hidden_default_lr)
        self.hidden_batches = option(self.hyper, "hidden_batches", None, int)
        self.batches_seen = 0
        self.init_std = option(self.hyper, "init_std", self.init_std)
        self._plain = SGD(0.0)

    def initialize(self) -> None:
        """Hidden layers: normal entries of std ``init_std`` (default 1/sqrt(fan-in)), no bias;
        readout: Glorot-normal with a zero bias."""
        self._setup_hebbian()
        shapes = self.model.layer_shapes()
        for layer, (k, n) in enumerate(shapes[:-1]):
            std = self.init_std if self.init_std is not None else 1.0 / np.sqrt(k)
            w = self.rng.standard_normal((k, n)).astype(np.float32) * np.float32(std)
            self.device.place(layer, w, None)
        k, n = shapes[-1]
        w = self.rng.standard_normal((k, n)).astype(np.float32) * np.float32(np.sqrt(2.0 / (k + n)))
        self.device.place(len(shapes) - 1, w, np.zeros(n, dtype=np.float32))

    def hidden_activation(self, z: np.ndarray) -> np.ndarray:
        return activate(self.model.activation, z)

    #: Hidden layers from this index on see their input scaled to unit length (a periphery
    #: norm), which bounds the Hebbian step (η·y² stays small however wide the layer below).
    normalize_from = 1

    def layer_input(self, layer: int, h: np.ndarray, phase: str) -> np.ndarray:
        if layer < self.normalize_from:
            return h
        self.device.record_elementwise(phase, layer, h.size, 2, 3)
        return h / (np.linalg.norm(h, axis=1, keepdims=True) + np.float32(1e-6))

    def forward(self, x: np.ndarray, phase: str = "inference", keep: bool = False):
        h = x
        last = self.model.n_layers - 1
        for layer in range(last):
            h = self.layer_input(layer, h, phase)
            z = self.device.mvm(layer, h, phase)
            h = self.hidden_activation(z)
            self.device.record_elementwise(phase, layer, z.size, 2, self.activation_ops)
        return self.device.mvm(last, h, phase), [], []

    activation_ops = 1

    def train_batch(self, x: np.ndarray, onehot: np.ndarray) -> float:
        learn_hidden = self.hidden_batches is None or self.batches_seen < self.hidden_batches
        self.batches_seen += 1
        h = x
        last = self.model.n_layers - 1
        for layer in range(last):
            h = self.layer_input(layer, h, "train-forward")
            z = self.device.mvm(layer, h, "train-forward")
            self.hold_activations(h, z)
            if learn_hidden:
                self.hebbian_update(layer, h, z)
            h = self.hidden_activation(z)
            self.device.record_elementwise("train-forward", layer, z.size, 2, self.activation_ops)
        scores = self.device.mvm(last, h, "train-forward")
        self.hold_activations(h, scores)
        e, loss = softmax_error(self.device, last, scores, onehot)
        self.device.update(last, h, -e, self.lr)
        return loss

    def hebbian_update(self, layer: int, x: np.ndarray, z: np.ndarray) -> None:
        raise NotImplementedError
