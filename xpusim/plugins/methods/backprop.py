"""Backpropagation (Rumelhart, Hinton & Williams, Nature 1986): errors travel back through Wᵀ.

Needs ``mvm`` (forward), ``mvm_t`` (error propagation) and ``update`` (weight change where the
weights live). Stores every layer's input and pre-activation between the passes.
"""

from __future__ import annotations

import numpy as np

from xpusim import hookimpl
from xpusim.core import MethodInfo, TrainingMethod
from xpusim.core.models import activation_grad, cross_entropy, softmax


class Backprop(TrainingMethod):
    """Softmax cross-entropy, gradients by the chain rule, optimizer applied by the device."""

    name = "backprop"
    needs = frozenset({"mvm", "mvm_t", "update"})
    default_lr = 1e-3  # Adam's customary step; use --lr 0.05 with --optimizer momentum

    def output_error(self, scores: np.ndarray, onehot: np.ndarray) -> tuple[np.ndarray, float]:
        """δ at the output (mean over the batch) and the loss, recorded as periphery work."""
        probs = softmax(scores)
        loss = cross_entropy(probs, onehot)
        self.device.record_elementwise("train-forward", self.model.n_layers - 1, probs.size, 3, 6)
        return (probs - onehot) / len(onehot), loss

    def train_batch(self, x: np.ndarray, onehot: np.ndarray) -> float:
        scores, inputs, pre = self.forward(x, "train-forward", keep=True)
        self.hold_activations(*inputs, *pre)
        delta, loss = self.output_error(scores, onehot)
        act = self.model.activation
        for layer in reversed(range(self.model.n_layers)):
            if layer > 0:
                back = self.device.mvm_t(layer, delta, "train-backward")
                z = pre[layer - 1]
                grad_z = back * activation_grad(act, z, inputs[layer])
                self.device.record_elementwise("train-backward", layer - 1, z.size, 3, 2)
            self.device.update(layer, inputs[layer], -delta, self.lr)
            if layer > 0:
                delta = grad_z
        return loss


@hookimpl
def xpusim_register_methods():
    return [MethodInfo("backprop", Backprop, Backprop.needs,
                       "backpropagation (Rumelhart, Hinton & Williams 1986); sgd/momentum/adam",
                       options=())]
