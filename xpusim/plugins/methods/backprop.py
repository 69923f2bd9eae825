"""Backpropagation (Rumelhart, Hinton & Williams, Nature 1986): errors travel back through Wᵀ.

Needs ``mvm`` (forward), ``mvm_t`` (error propagation) and ``update`` (weight change where the
weights live). Written once against the layer graph: every layer type's backward pass carries
the error through ``mvm_t`` of its weights (col2im for convolutions, both attention products
as ``matmul``). Keeps what each layer's backward needs between the passes (inputs, patches,
activation outputs).
"""

from __future__ import annotations

import numpy as np

from xpusim import hookimpl
from xpusim.core import MethodInfo, TrainingMethod
from xpusim.core.loss import softmax_error


class Backprop(TrainingMethod):
    """Softmax cross-entropy, gradients by the chain rule, optimizer applied by the device."""

    name = "backprop"
    needs = frozenset({"mvm", "mvm_t", "update"})
    default_lr = 1e-3  # Adam's customary step; use --lr 0.05 with --optimizer momentum

    def train_batch(self, x: np.ndarray, targets: np.ndarray) -> float:
        scores, tape = self.forward(x, "train-forward", keep=True)
        self.hold_activations(*tape.held_arrays())
        e, loss = softmax_error(self.device, self.output_layer, scores, targets)
        self.net.backward(tape, e, self)
        return loss


@hookimpl
def xpusim_register_methods():
    return [MethodInfo("backprop", Backprop, Backprop.needs,
                       "backpropagation (Rumelhart, Hinton & Williams 1986); sgd/momentum/adam",
                       options=())]
