"""Forward-Forward (Hinton, "The Forward-Forward Algorithm: Some Preliminary Investigations",
arXiv:2212.13345, 2022), supervised variant, with a softmax readout.

Each hidden layer has its own objective and learns from two forward passes only: its
"goodness" G = mean(h²) should exceed a threshold θ on positive data (an image with its own
label written into it) and stay below θ on negative data (the same image with a wrong label,
drawn at random): loss = softplus(θ - G⁺) + softplus(G⁻ - θ). The gradient of that loss with
respect to the layer's own pre-activation is local, so each layer is one ``update`` with
pre = its (length-normalised) input and post = -∂loss/∂z: no backward pass, no ``mvm_t``.
Each layer passes on its activity divided by its length (Hinton, sec. 2), so goodness is not
simply handed from layer to layer. Positive and negative passes are applied one after the
other, so a layer holds one batch of its input and output at a time.

The label is written into ``n_classes`` input features that are blank in the data (Hinton used
the first 10 pixels of MNIST): for 64-feature (8x8 digits) inputs the blank left column and the
top of the right one, otherwise the first ``n_classes`` features, or option ``label_features``.

Classification (option ``predict``): ``goodness`` (default, Hinton's main MNIST results) runs
the image once with every label and takes the label of highest summed goodness (n_classes
forward passes per sample); the model's last layer is then unused and not trained.
``softmax`` (Hinton sec. 3.3, one pass) trains the model's last layer as a softmax readout of
the last hidden layer's normalised activity for the image with a neutral label (every label
feature 1/classes), with the delta rule at ``lr``. Defaults (θ = 0.5, ``hidden_lr`` = 0.1 with
Adam) were tuned on digits; Hinton's θ and step sizes are for MNIST-sized layers.
"""

from __future__ import annotations

import numpy as np

from xpusim import hookimpl
from xpusim.core import MethodInfo, TrainingMethod, XpusimError
from xpusim.core.layers import activate, derivative
from xpusim.core.loss import softmax_error

from ._local import check_options, option

REFERENCE = ("Hinton, The Forward-Forward Algorithm: Some Preliminary Investigations, "
             "arXiv:2212.13345 (2022)")

# sklearn digits, 8x8 row-major: column 0 and column 7 are (almost) always blank.
DIGITS_BLANK = (0, 8, 16, 24, 32, 40, 48, 56, 7, 15, 23, 31, 39, 47, 55, 63)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class ForwardForward(TrainingMethod):
    """Options: ``threshold`` (θ, default 0.5), ``predict`` (``goodness`` | ``softmax``),
    ``label_features`` (comma-separated input indices for the label), ``hidden_lr`` (0.1)."""

    OPTIONS = ("threshold", "predict", "label_features", "hidden_lr")

    name = "forward-forward"
    needs = frozenset({"mvm", "update"})
    unsupported = {kind: "forward-forward is defined for a chain of dense layers (Hinton 2022): "
                         "each layer's goodness is the sum of squares of its whole output"
                   for kind in ("conv2d", "pool", "global-avg-pool", "add", "layernorm",
                                "batchnorm", "embedding", "positions", "attention", "tokens",
                                "softmax", "swiglu")}
    #: What the rule keeps (declared; peak activations are measured).
    state = ("weights and biases; one layer's input and output at a time (positive, then "
             "negative pass)")
    default_lr = 3e-3  # Adam (softmax readout)
    sgd_lr = 0.3  # softmax readout with sgd (hidden_lr 0.1 suits both optimizers)

    def initialize(self) -> None:
        check_options(self, self.OPTIONS)
        try:
            self.sizes, self.act = self.model.dense_chain()
        except XpusimError as exc:
            raise XpusimError(f"method 'forward-forward' is defined for multilayer perceptrons "
                              f"(dense layers and one activation): {exc} of model "
                              f"{self.model.name!r}") from None
        super().initialize()
        if len(self.sizes) < 3:
            raise XpusimError(f"forward-forward: needs at least one hidden layer (got "
                              f"{self.model.name})")
        classes, features = self.sizes[-1], self.sizes[0]
        self.threshold = option(self.hyper, "threshold", 0.5)
        mu = float(getattr(self.device.optimizer, "momentum", 0.0))  # heavy ball: x 1/(1 - mu)
        self.hidden_lr = option(self.hyper, "hidden_lr", 0.1 * (1.0 - mu))
        self.mode = str(self.hyper.get("predict", "goodness"))
        if self.mode not in ("softmax", "goodness"):
            raise XpusimError(f"forward-forward: option predict={self.mode!r}: expected "
                              f"'softmax' or 'goodness'")
        given = self.hyper.get("label_features")
        if given is not None:
            items = given if isinstance(given, (list, tuple)) else str(given).split(",")
            try:
                idx = [int(i) for i in items if str(i).strip()]
            except ValueError:
                raise XpusimError(f"forward-forward: label_features must be integers "
                                  f"(got {given!r})") from None
        elif features == 64 and classes <= len(DIGITS_BLANK):
            idx = list(DIGITS_BLANK[:classes])
        else:
            idx = list(range(classes))
        in_range = all(0 <= i < features for i in idx)
        if len(idx) != classes or len(set(idx)) != classes or not in_range:
            raise XpusimError(f"forward-forward: label_features must be {classes} distinct "
                              f"input indices below {features} (got {idx})")
        if classes > features:
            raise XpusimError("forward-forward: needs at least as many input features as classes")
        self.label_idx = np.asarray(idx)

    # -- pieces -----------------------------------------------------------------------------

    def _with_label(self, x: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        """x with the label one-hot (or the neutral 1/classes when ``labels`` is None)."""
        x = np.array(x, dtype=np.float32, copy=True)
        classes = self.sizes[-1]
        if labels is None:
            x[:, self.label_idx] = 1.0 / classes
        else:
            x[:, self.label_idx] = np.eye(classes, dtype=np.float32)[labels]
        return x

    def _normalise(self, h: np.ndarray, phase: str, layer: int) -> np.ndarray:
        self.device.record_elementwise(phase, layer, h.size, 2, 3)
        return h / (np.linalg.norm(h, axis=1, keepdims=True) + np.float32(1e-4))

    def _hidden(self, x: np.ndarray, phase: str):
        """Yield (layer, normalised input, pre-activation, activity) through the hidden layers."""
        h = x
        for layer in range(len(self.sizes) - 2):
            inp = self._normalise(h, phase, layer)
            z = self.device.mvm(layer, inp, phase)
            h = activate(self.act, z)
            self.device.record_elementwise(phase, layer, z.size, 2, 1)
            yield layer, inp, z, h

    def _ff_pass(self, x: np.ndarray, positive: bool) -> float:
        """One positive or negative pass: every hidden layer takes its local step."""
        total = 0.0
        sign = 1.0 if positive else -1.0
        for layer, inp, z, h in self._hidden(x, "train-forward"):
            self.hold_activations(inp, z)
            g = np.mean(h * h, axis=1)
            margin = sign * (self.threshold - g)            # loss = softplus(margin)
            total += float(np.mean(_softplus(margin)))
            # d loss / d g = -sign * sigmoid(margin); d g / d h = 2h / width. The error is
            # scaled by the constant batch x width / 2 (as loss scaling does) so that it does
            # not underflow low-precision formats (fp8: it did, and nothing learned); with Adam
            # a constant scale leaves the steps unchanged.
            dg = (-sign * _sigmoid(margin))[:, None]
            dz = dg * h * derivative(self.act, z, h)
            self.device.record_elementwise("train-backward", layer, z.size, 4, 6)
            self.device.update(layer, inp, -dz.astype(np.float32), self.hidden_lr)
        return total

    # -- the method -------------------------------------------------------------------------

    def train_batch(self, x: np.ndarray, targets: np.ndarray) -> float:
        labels = targets
        classes = self.sizes[-1]
        wrong = (labels + self.rng.integers(1, classes, size=len(labels))) % classes
        loss = self._ff_pass(self._with_label(x, labels), positive=True)
        loss += self._ff_pass(self._with_label(x, wrong), positive=False)
        if self.mode == "goodness":
            return loss
        # readout: delta rule on the neutral-label activity of the last hidden layer
        for _, _, _, h in self._hidden(self._with_label(x, None), "train-forward"):
            pass
        last = len(self.sizes) - 2
        r = self._normalise(h, "train-forward", last)
        scores = self.device.mvm(last, r, "train-forward")
        self.hold_activations(r, scores)
        e, _ = softmax_error(self.device, last, scores, targets)
        self.device.update(last, r, -e, self.lr)
        return loss

    def forward(self, x: np.ndarray, phase: str = "inference", keep: bool = False):
        if self.mode == "goodness":
            classes = self.sizes[-1]
            scores = np.zeros((len(x), classes), dtype=np.float32)
            for c in range(classes):
                xc = self._with_label(x, np.full(len(x), c))
                for _, _, _, h in self._hidden(xc, phase):
                    scores[:, c] += np.mean(h * h, axis=1)
            return scores, None
        for _, _, _, h in self._hidden(self._with_label(x, None), phase):
            pass
        last = len(self.sizes) - 2
        return self.device.mvm(last, self._normalise(h, phase, last), phase), None


@hookimpl
def xpusim_register_methods():
    return [MethodInfo("forward-forward", ForwardForward, ForwardForward.needs,
                       f"forward-forward: layer-local goodness on positive/negative data + "
                       f"softmax readout ({REFERENCE})", options=ForwardForward.OPTIONS)]
