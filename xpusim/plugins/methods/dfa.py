"""Direct feedback alignment (Nøkland, "Direct Feedback Alignment Provides Learning in Deep
Neural Networks", NeurIPS 2016).

The output error e reaches every hidden layer directly through its own fixed random matrix
Bₗ (classes x width): δₗ = (e · Bₗ) ⊙ f'(zₗ), ΔWₗ ∝ -hₗ₋₁ᵀ δₗ; the output layer learns from e.
The Bₗ live on the device as extra non-trained layers (ids 1000 + l) read with ``mvm`` in phase
``train-backward``: the rule needs only ``mvm`` and ``update`` (no ``mvm_t`` of trained weights),
and the hidden updates do not wait on each other (no sequential backward pass).

State: trained weights and biases and the fixed feedback matrices (all on the device); between
the forward pass and the updates, each layer's input hₗ only (f' is computed from the layer's
output), which is less than backprop keeps (inputs and pre-activations).
"""

from __future__ import annotations

import numpy as np

from xpusim import hookimpl
from xpusim.core import MethodInfo, TrainingMethod

from ._local import (FEEDBACK_BASE, check_options, derivative_from_output,
                     forward_outputs, option, place_feedback, softmax_error)

REFERENCE = ("Nøkland, Direct Feedback Alignment Provides Learning in Deep Neural Networks, "
             "NeurIPS 2016")


class DirectFeedbackAlignment(TrainingMethod):
    """Softmax cross-entropy; each hidden layer gets the output error through its own B.

    Options: ``feedback_scale`` (std of the feedback entries; default 1/sqrt(classes)).
    """

    name = "dfa"
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
        classes = self.model.sizes[-1]
        for layer, (_, n) in enumerate(self.model.layer_shapes()[:-1]):
            place_feedback(self.device, FEEDBACK_BASE + layer, (classes, n), self.rng, scale)

    def train_batch(self, x: np.ndarray, onehot: np.ndarray) -> float:
        scores, inputs = forward_outputs(self, x, "train-forward")
        self.hold_activations(*inputs)
        last = self.model.n_layers - 1
        e, loss = softmax_error(self.device, last, scores, onehot)
        self.device.update(last, inputs[last], -e, self.lr)
        for layer in range(last):
            back = self.device.mvm(FEEDBACK_BASE + layer, e, "train-backward")
            h = inputs[layer + 1]  # this layer's output
            delta = back * derivative_from_output(self.model.activation, h)
            self.device.record_elementwise("train-backward", layer, h.size, 3, 2)
            self.device.update(layer, inputs[layer], -delta, self.lr)
        return loss


@hookimpl
def xpusim_register_methods():
    return [MethodInfo("dfa", DirectFeedbackAlignment, DirectFeedbackAlignment.needs,
                       f"direct feedback alignment: output error to every layer through fixed "
                       f"random matrices ({REFERENCE})", options=("feedback_scale",))]
