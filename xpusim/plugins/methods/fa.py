"""Feedback alignment (Lillicrap, Cownden, Tweed & Akerman, "Random synaptic feedback weights
support error backpropagation for deep learning", Nat. Commun. 7:13276, 2016).

Errors travel back layer by layer as in backprop, but through fixed random matrices Bₗ
(shaped like Wₗᵀ) instead of the transposed forward weights:
δₗ₋₁ = (δₗ · Bₗ) ⊙ f'(zₗ₋₁), ΔWₗ ∝ -hₗ₋₁ᵀ δₗ. The Bₗ live on the device as extra non-trained
layers (ids 1000 + l) read with ``mvm`` in phase ``train-backward``, so the rule needs only
``mvm`` and ``update``: no transposed read of trained weights (it runs on chips without one).

State: the trained weights and biases (on the device), the fixed feedback matrices (on the
device), and between the forward pass and the updates each layer's input hₗ only (f' is
computed from the layer's output, so pre-activations are not kept).
"""

from __future__ import annotations

import numpy as np

from xpusim import hookimpl
from xpusim.core import MethodInfo, TrainingMethod

from ._local import (FEEDBACK_BASE, check_options, derivative_from_output,
                     forward_outputs, option, place_feedback, softmax_error)

REFERENCE = ("Lillicrap, Cownden, Tweed & Akerman, Random synaptic feedback weights support "
             "error backpropagation for deep learning, Nat. Commun. 7:13276 (2016)")


class FeedbackAlignment(TrainingMethod):
    """Softmax cross-entropy; hidden errors through fixed random feedback matrices.

    Options: ``feedback_scale`` (std of the feedback entries; default 1/sqrt(fan-in of B)).
    """

    name = "fa"
    needs = frozenset({"mvm", "update"})
    #: What the rule keeps (declared; peak activations are measured).
    state = ("weights and biases; fixed feedback B_l on the device (layers 1000 + l); between "
             "the passes: each layer's input")
    default_lr = 1e-3  # Adam (RunConfig's default optimizer)
    sgd_lr = 0.3  # --optimizer sgd (on-chip learning engines); momentum: x (1 - mu)

    def initialize(self) -> None:
        check_options(self, ("feedback_scale",))
        super().initialize()
        scale = option(self.hyper, "feedback_scale", None)
        for layer, (k, n) in enumerate(self.model.layer_shapes()):
            if layer > 0:  # B_l maps layer l's error (n) back to its input (k)
                place_feedback(self.device, FEEDBACK_BASE + layer, (n, k), self.rng, scale)

    def train_batch(self, x: np.ndarray, onehot: np.ndarray) -> float:
        scores, inputs = forward_outputs(self, x, "train-forward")
        self.hold_activations(*inputs)
        last = self.model.n_layers - 1
        delta, loss = softmax_error(self.device, last, scores, onehot)
        for layer in reversed(range(self.model.n_layers)):
            if layer > 0:
                back = self.device.mvm(FEEDBACK_BASE + layer, delta, "train-backward")
                h = inputs[layer]
                grad_z = back * derivative_from_output(self.model.activation, h)
                self.device.record_elementwise("train-backward", layer - 1, h.size, 3, 2)
            self.device.update(layer, inputs[layer], -delta, self.lr)
            if layer > 0:
                delta = grad_z
        return loss


@hookimpl
def xpusim_register_methods():
    return [MethodInfo("fa", FeedbackAlignment, FeedbackAlignment.needs,
                       f"feedback alignment: errors through fixed random matrices ({REFERENCE})",
                       options=("feedback_scale",))]
