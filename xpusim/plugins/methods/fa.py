"""Feedback alignment (Lillicrap, Cownden, Tweed & Akerman, "Random synaptic feedback weights
support error backpropagation for deep learning", Nat. Commun. 7:13276, 2016).

Errors travel back layer by layer as in backprop, but through fixed random matrices Bₗ
(shaped like Wₗᵀ) instead of the transposed forward weights:
δₗ₋₁ = (δₗ · Bₗ) ⊙ f'(zₗ₋₁), ΔWₗ ∝ -hₗ₋₁ᵀ δₗ. The Bₗ live on the device as extra non-trained
layers (ids 1000 + the matrix's id) read with ``mvm`` in phase ``train-backward``, so the rule
needs only ``mvm`` and ``update``: no transposed read of trained weights (it runs on chips
without one). Every layer type works: a convolution's error crosses its B as patches and is
folded back (col2im), attention's projections each have their own B and the products of two
activations stay exact; weight-free layers (pooling, norms) pass errors as in backprop.

State: the trained weights and biases (on the device), the fixed feedback matrices (on the
device), and between the passes what each layer's backward needs (its input, its output).
"""

from __future__ import annotations

import numpy as np

from xpusim import hookimpl
from xpusim.core import MethodInfo, TrainingMethod
from xpusim.core.loss import softmax_error
from xpusim.core.network import FEEDBACK_BASE, Network

from ._local import check_options, option, place_feedback

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
             "the passes: each layer's input and activation output")
    default_lr = 1e-3  # Adam (RunConfig's default optimizer)
    sgd_lr = 0.3  # --optimizer sgd (on-chip learning engines); momentum: x (1 - mu)

    def initialize(self) -> None:
        check_options(self, ("feedback_scale",))
        super().initialize()
        scale = option(self.hyper, "feedback_scale", None)
        self.feedback: dict[int, int] = {}
        for node, slot, m in self.model.matrices():
            if not self._crosses(node):
                continue
            layer = self.net.ids[(node.name, slot)]
            # B maps the matrix's output error (fan_out) back to its input (fan_in)
            place_feedback(self.device, FEEDBACK_BASE + layer, (m.fan_out, m.fan_in), self.rng,
                           scale)
            self.feedback[layer] = FEEDBACK_BASE + layer

    def _crosses(self, node) -> bool:
        """Whether an error crosses this node's matrices: always inside multi-matrix layers,
        else when the layer's input needs one."""
        return len(node.layer.matrices(self.model.input_shapes(node))) > 1 or \
            any(self.net.needs[node.name])

    def propagate(self, net: Network, layer_id: int, e: np.ndarray) -> np.ndarray:
        return self.device.mvm(self.feedback[layer_id], e, "train-backward")

    def train_batch(self, x: np.ndarray, targets: np.ndarray) -> float:
        scores, tape = self.forward(x, "train-forward", keep=True)
        self.hold_activations(*tape.held_arrays())
        e, loss = softmax_error(self.device, self.output_layer, scores, targets)
        self.net.backward(tape, e, self)
        return loss


@hookimpl
def xpusim_register_methods():
    return [MethodInfo("fa", FeedbackAlignment, FeedbackAlignment.needs,
                       f"feedback alignment: errors through fixed random matrices ({REFERENCE})",
                       options=("feedback_scale",))]
