"""Oja's rule (Oja, "A simplified neuron model as a principal component analyzer", J. Math.
Biol. 15:267-273, 1982) for an unsupervised hidden layer, then a supervised delta-rule readout.

Each hidden unit j with linear output yⱼ = wⱼ·x follows Oja's rule Δwⱼ = η yⱼ (x - yⱼ wⱼ): a
Hebbian term with a decay that keeps |wⱼ| near 1, so a unit converges to the input's principal
direction. On the device this is exactly one ``update`` with pre = x, post = y and
decay = Σ y² (D = xᵀy - W·diag(Σ y²)); no transposed read, no stored activations.

Independent Oja units all converge to the same principal component (measured: with
``winners=0`` every unit ends at ±PC1 and the readout is at chance). Option ``winners`` adds
the usual competition: only the ``winners`` most active units of each sample take the Hebbian
step (competitive, winner-take-all Hebbian learning: Rumelhart & Zipser, Cognitive Science
9:75, 1985), which keeps the units apart; ``winners=0`` is the plain rule for every unit.
Hidden weights start with columns of norm ~1 (N(0, 1/fan-in), option ``init_std``). Oja's rule
is stable only for η·y² < 2, so each hidden layer sees its input scaled to unit length (a
periphery norm; |y| ≤ |w|). With the defaults about 70 % of the units end within 10 % of unit
norm after 20 digits epochs (the rule's fixed point); the rest rarely win. The readout sees
relu(y) (the model's activation) and learns with the delta rule.
"""

from __future__ import annotations

import numpy as np

from xpusim import hookimpl
from xpusim.core import MethodInfo, TrainingMethod, XpusimError

from ._local import HebbianReadout, option

REFERENCE = ("Oja, A simplified neuron model as a principal component analyzer, "
             "J. Math. Biol. 15:267 (1982)")


class Oja(HebbianReadout, TrainingMethod):
    """Options: ``hidden_lr``, ``winners`` (per sample; 0 = plain Oja for all units),
    ``init_std``, ``hidden_batches``."""

    name = "oja"
    OPTIONS = ("hidden_lr", "winners", "init_std", "hidden_batches")
    needs = frozenset({"mvm", "update"})
    #: What the rule keeps (declared; peak activations are measured).
    state = ("hidden weights (no bias), readout weights and bias; one layer's input and output "
             "at a time; a batch counter")
    default_lr = 1e-2  # readout, with Adam
    sgd_lr = 3.0  # readout with sgd: its inputs relu(w·x̂) are small (|w|, |x̂| ~ 1)
    hidden_default_lr = 0.05
    normalize_from = 0  # every hidden input at unit length: η·y² ≤ η·|w|² stays < 2

    def _setup_hebbian(self) -> None:
        super()._setup_hebbian()
        self.winners = option(self.hyper, "winners", 5, int)
        width = min(self.hidden_widths, default=0)
        if not 0 <= self.winners <= width:
            raise XpusimError(f"oja: option winners={self.winners} must be between 0 and the "
                              f"hidden width {width} (model {self.model.name})")

    def hebbian_update(self, layer: int, x: np.ndarray, z: np.ndarray) -> None:
        y = z
        if self.winners:
            kth = np.partition(z, -self.winners, axis=1)[:, -self.winners][:, None]
            y = np.where(z >= kth, z, 0.0).astype(np.float32)
            self.device.record_elementwise("train-update", layer, z.size, 2, 2, "reduce")
        m = len(x)
        decay = (y * y).sum(axis=0) / m
        self.device.record_elementwise("train-update", layer, y.size, 2, 2, "reduce")
        self.hebbian_step(layer, x, y / m, decay)


@hookimpl
def xpusim_register_methods():
    return [MethodInfo("oja", Oja, Oja.needs,
                       f"Oja's Hebbian rule for the hidden layer + delta-rule readout "
                       f"({REFERENCE})", options=Oja.OPTIONS)]
