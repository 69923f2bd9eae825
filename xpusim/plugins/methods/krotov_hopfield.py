"""Krotov-Hopfield competing hidden units (Krotov & Hopfield, "Unsupervised learning by
competing hidden units", PNAS 116:7723-7731, 2019), then a supervised delta-rule readout.

For each sample the hidden units are ranked by their input Iμ = ⟨Wμ, v⟩; the strongest unit
gets g = 1 (Hebbian), the k-th strongest g = -Δ (anti-Hebbian), all others g = 0, and
ΔWμ ∝ g(Qμ) (v - Iμ Wμ) (the paper's eq. with Lebesgue p = 2; the decay keeps every |Wμ|
near 1). On the device this is one ``update`` with pre = v, post = g and decay = Σ g·I:
D = vᵀg - W·diag(Σ g·I) -- no transposed read and no stored activations. The readout sees
hμ = relu(Iμ)ⁿ and learns with the delta rule. The paper uses n = 4.5 (MNIST, float); the
default here is n = 1: a 4.5th power needs a dynamic range that a spike-coded readout lacks
(measured on ``loihi``, 16 rate-coded timesteps: 0.10 with n = 4.5, 0.944 with n = 1), while on
float hardware both give the same digits accuracy (0.958 and 0.957). The paper
has one hidden layer; with more, each further layer sees the one below scaled to unit length.

Only p = 2 is expressible through device primitives (other p need |W|^(p-1)·sign(W) in the
product, a different matrix from the one stored); other values are refused with a message.
Δ = 0.4 and k = 2 follow the authors' code (github.com/DimaKrotov/Biological_Learning). The
learning-rate schedule of the code (linear annealing, steps scaled by max |ΔW|)
is replaced by the device's optimizer (Adam by default) at ``hidden_lr``.
"""

from __future__ import annotations

import numpy as np

from xpusim import hookimpl
from xpusim.core import MethodInfo, TrainingMethod, XpusimError

from ._local import HebbianReadout, option

REFERENCE = ("Krotov & Hopfield, Unsupervised learning by competing hidden units, "
             "PNAS 116:7723 (2019)")


class KrotovHopfield(HebbianReadout, TrainingMethod):
    """Options: ``delta`` (anti-Hebbian strength Δ), ``k`` (rank that gets -Δ), ``n`` (power
    of the rectified hidden response the readout sees; paper 4.5, default 1), ``p`` (Lebesgue
    norm; only 2),
    ``hidden_lr``, ``hidden_batches``."""

    name = "krotov-hopfield"
    OPTIONS = ("delta", "k", "n", "p", "hidden_lr", "init_std", "hidden_batches")
    needs = frozenset({"mvm", "update"})
    #: What the rule keeps (declared; peak activations are measured).
    state = ("hidden weights (no bias), readout weights and bias; one layer's input and output "
             "at a time; a batch counter")
    default_lr = 1e-2  # readout, with Adam
    sgd_lr = 0.03  # readout with sgd
    hidden_default_lr = 0.1
    activation_ops = 3
    # The authors draw hidden weights from N(0, 1): units start far from the unit sphere the
    # rule converges to, so units that have not won yet still get large inputs and are
    # recruited in turn (with unit-norm starts one unit wins every sample).
    init_std = 1.0

    def _setup_hebbian(self) -> None:
        super()._setup_hebbian()
        self.delta = option(self.hyper, "delta", 0.4)
        self.k = option(self.hyper, "k", 2, int)
        self.n = option(self.hyper, "n", 1.0)
        p = option(self.hyper, "p", 2.0)
        if p != 2.0:
            raise XpusimError(f"krotov-hopfield: option p={p:g} is not supported: only the "
                              f"Lebesgue norm p=2 is a plain product with the stored weights "
                              f"(other p need |W|^(p-1)·sign(W), which no device primitive gives)")
        width = min(self.hidden_widths, default=0)
        if not self.hidden_widths or not 2 <= self.k <= width:
            raise XpusimError(f"krotov-hopfield: needs a hidden layer and 2 <= k <= its width "
                              f"(got k={self.k}, model {self.model.name})")

    def hidden_activation(self, z: np.ndarray) -> np.ndarray:
        return np.maximum(z, 0.0) ** np.float32(self.n)

    def hebbian_update(self, layer: int, x: np.ndarray, z: np.ndarray) -> None:
        m = len(x)
        order = np.argpartition(-z, (0, self.k - 1), axis=1)
        g = np.zeros_like(z)
        rows = np.arange(m)
        g[rows, order[:, 0]] = 1.0
        g[rows, order[:, self.k - 1]] = -self.delta
        decay = (g * z).sum(axis=0) / m
        self.device.record_elementwise("train-update", layer, z.size, 2, 3, "reduce")
        self.hebbian_step(layer, x, g / m, decay)


@hookimpl
def xpusim_register_methods():
    return [MethodInfo("krotov-hopfield", KrotovHopfield, KrotovHopfield.needs,
                       f"competing hidden units (Hebbian/anti-Hebbian ranking) + delta-rule "
                       f"readout ({REFERENCE})", options=KrotovHopfield.OPTIONS)]
