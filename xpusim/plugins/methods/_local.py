"""Shared pieces of the local learning rules (fa, dfa, oja, krotov-hopfield, forward-forward).

Not a plugin (underscore module). Everything here goes through device primitives: fixed random
feedback matrices live *on the device* as extra, never-updated layers (ids from
``network.FEEDBACK_BASE`` up) and are read with ``mvm`` in phase ``train-backward``, so no rule
here needs ``mvm_t`` of trained weights.
"""

from __future__ import annotations

import numpy as np

from xpusim.core.errors import XpusimError
from xpusim.core.layers import activate
from xpusim.core.loss import softmax_error
from xpusim.core.optim import SGD


def place_feedback(device, layer_id: int, shape: tuple[int, int], rng: np.random.Generator,
                   scale: float | None = None) -> None:
    """Draw a fixed random k x n matrix (normal, std 1/sqrt(k) unless ``scale``) and write it
    onto the device as layer ``layer_id`` (no bias). It is read with ``mvm``, never updated."""
    k, n = shape
    std = float(scale) if scale is not None else 1.0 / np.sqrt(k)
    b = (rng.standard_normal((k, n)) * std).astype(np.float32)
    device.place(layer_id, b, None)


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


HEBBIAN_LAYERS = ("dense", "conv2d", "activation", "pool", "global-avg-pool", "flatten")
"""Layer kinds a Hebbian network may hold: products of one input with one weight matrix
(learned patch-wise for convolutions, Grinberg et al. 2019) and weight-free reshaping."""


class HebbianReadout:
    """Mixin for unsupervised Hebbian hidden layers followed by a supervised delta-rule readout.

    Every weight matrix but the output layer's (dense or conv, no bias) learns with
    ``hebbian_update`` on the rows it multiplies (a conv layer's patches: each output position
    is a sample of its local rule, Grinberg, Hopfield & Krotov, "Local Unsupervised Learning
    for Image Analysis", 2019) and its own outputs; the output layer is a softmax readout
    trained with the delta rule (ΔW ∝ hᵀ(t - p): the error is the readout unit's own, so the
    rule is local). Both learn on every batch; option ``hidden_batches`` (int) freezes the
    hidden layers after that many batches. Only one layer's input and output are held at a
    time (layers learn as the pass goes), so the peak activation memory is one layer pair.

    Subclasses set ``hidden_default_lr`` and implement ``hebbian_update(layer, x, z)`` and
    ``hidden_activation(z)`` (the representation the next layer sees).
    """

    hidden_default_lr = 1e-3
    init_std: float | None = None  # None: 1/sqrt(fan-in), columns of norm ~1
    unsupported = {kind: "Hebbian rules learn a layer from its own input and output; only dense "
                         "and conv layers (and weight-free reshaping between them) have that"
                   for kind in ("attention", "embedding", "layernorm", "batchnorm", "add",
                                "positions", "tokens", "softmax", "swiglu")}

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
        self._learning = False
        self.init_std = option(self.hyper, "init_std", self.init_std)
        self._plain = SGD(0.0)

    def initialize(self) -> None:
        """Hidden matrices: normal entries of std ``init_std`` (default 1/sqrt(fan-in)), no
        bias; readout: Glorot-normal with a zero bias."""
        self.check_model(self.model)
        self.readout = self.model.nodes[-1]
        if self.readout.layer.kind != "dense":
            raise XpusimError(f"method {self.name!r}: the model's last layer must be a dense "
                              f"readout (it is a {self.readout.layer.kind} layer)")
        self.hidden = {n.name: i for i, n in enumerate(self.model.weighted)
                       if n is not self.readout}
        consumers = self.model.consumers
        self.after_hidden = {c for name in self.hidden for c in consumers[name]}
        self._setup_hebbian()
        self.net.initialize(self.rng, rule=self)

    @property
    def hidden_widths(self) -> list[int]:
        return [self.net.matrix_shape(n, 0)[1] for n in self.model.weighted
                if n.name in self.hidden]

    def init(self, net, node, slot, matrix, rng):
        k, n = matrix.fan_in, matrix.fan_out
        if node is self.readout:
            w = rng.standard_normal((k, n)).astype(np.float32) * np.float32(np.sqrt(2.0 / (k + n)))
            return w, np.zeros(n, dtype=np.float32)
        std = self.init_std if self.init_std is not None else 1.0 / np.sqrt(k)
        return rng.standard_normal((k, n)).astype(np.float32) * np.float32(std), None

    def hidden_activation(self, z: np.ndarray) -> np.ndarray:
        return activate(self.act_kind, z)

    #: Hidden layers from this index on see their input rows scaled to unit length (a
    #: periphery norm), which bounds the Hebbian step (η·y² stays small however wide the
    #: layer below).
    normalize_from = 1
    activation_ops = 1
    act_kind = "relu"

    # -- network hooks -----------------------------------------------------------------------

    def transform(self, net, node, slot, rows, phase):
        index = self.hidden.get(node.name)
        if index is None or index < self.normalize_from:
            return rows
        self.device.record_elementwise(phase, net.ids[(node.name, slot)], rows.size, 2, 3)
        return rows / (np.linalg.norm(rows, axis=1, keepdims=True) + np.float32(1e-6))

    def observe(self, net, node, slot, rows, z, phase):
        if phase != "train-forward" or node.name not in self.hidden:
            return
        self.hold_activations(rows, z)
        if self._learning:
            self.hebbian_update(net.ids[(node.name, slot)], rows, z)

    def activation(self, net, node, kind, z):
        if node.name not in self.after_hidden:
            return None
        self.act_kind = kind
        return self.hidden_activation(z), self.activation_ops

    # -- training ----------------------------------------------------------------------------

    def train_batch(self, x: np.ndarray, targets: np.ndarray) -> float:
        self._learning = self.hidden_batches is None or self.batches_seen < self.hidden_batches
        self.batches_seen += 1
        scores, tape = self.forward(x, "train-forward", keep=True)
        h = self.readout.layer.rows(tape.cache(self.readout.name))
        self.hold_activations(h, scores)
        e, loss = softmax_error(self.device, self.output_layer, scores, targets)
        self.device.update(self.net.ids[(self.readout.name, 0)], h, -e, self.lr)
        return loss

    def hebbian_update(self, layer: int, x: np.ndarray, z: np.ndarray) -> None:
        raise NotImplementedError
