"""Direct feedback alignment (Nøkland, "Direct Feedback Alignment Provides Learning in Deep
Neural Networks", NeurIPS 2016).

The output error e reaches every hidden layer directly through its own fixed random matrix
Bₗ (classes x width): δₗ = (e · Bₗ) ⊙ f'(zₗ), ΔWₗ ∝ -hₗ₋₁ᵀ δₗ; the output layer learns from e.
The Bₗ live on the device as extra non-trained layers (ids 1000 + the matrix's id) read with
``mvm`` in phase ``train-backward``: the rule needs only ``mvm`` and ``update`` (no ``mvm_t`` of
trained weights), and the hidden updates do not wait on each other (no sequential backward).

Over a layer graph (``Network.dfa_targets``): a dense or conv layer gets e·B at its output,
after the activation that directly follows it (a conv layer's whole feature map, Nøkland
2016); each projection of an attention layer gets e·B at its own product's output, token by
token when the output is per token (Launay et al. 2020); embedding tables learn from e·B at
their output. Normalisation gains keep their initial values (no error reaches them).

State: trained weights and biases and the fixed feedback matrices (all on the device); between
the forward pass and the updates, each layer's input and activation output.
"""

from __future__ import annotations

import numpy as np

from xpusim import hookimpl
from xpusim.core import MethodInfo, TrainingMethod
from xpusim.core.loss import softmax_error
from xpusim.core.network import FEEDBACK_BASE, Network

from ._local import check_options, option, place_feedback

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
             "the passes: each layer's input and activation output")
    default_lr = 1e-3  # Adam (RunConfig's default optimizer)
    sgd_lr = 0.3  # --optimizer sgd (on-chip learning engines); momentum: x (1 - mu)

    def initialize(self) -> None:
        check_options(self, ("feedback_scale",))
        super().initialize()
        scale = option(self.hyper, "feedback_scale", None)
        self.feedback: dict[tuple[str, int], int] = {}
        for node, slot, target in self.net.dfa_targets():
            layer = FEEDBACK_BASE + self.net.ids[(node.name, slot)]
            shape = Network.feedback_shape(self.model.output_shape, target)
            place_feedback(self.device, layer, shape, self.rng, scale)
            self.feedback[(node.name, slot)] = layer

    def train_batch(self, x: np.ndarray, targets: np.ndarray) -> float:
        scores, tape = self.forward(x, "train-forward", keep=True)
        self.hold_activations(*tape.held_arrays())
        e, loss = softmax_error(self.device, self.output_layer, scores, targets)
        self.net.direct_feedback(tape, e, self, self.feedback)
        return loss


@hookimpl
def xpusim_register_methods():
    return [MethodInfo("dfa", DirectFeedbackAlignment, DirectFeedbackAlignment.needs,
                       f"direct feedback alignment: output error to every layer through fixed "
                       f"random matrices ({REFERENCE})", options=("feedback_scale",))]
