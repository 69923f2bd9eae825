"""Digital optimizers that devices with a digital weight path apply to an update direction.

A method asks for ``update(pre, post)``, i.e. a direction D = preᵀ·post - decay·W (ascent
on the objective); a digital device turns D into a weight change with one of these. Analog
in-situ devices have no optimizer state and apply D as pulses instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Optimizer:
    """Base: ``step(key, direction, lr) -> delta`` to add to the weights (float32)."""

    name = "sgd"
    arrays_per_element = 3  # read W, read D, write W
    ops_per_element = 2

    def step(self, key: Any, direction: np.ndarray, lr: float) -> np.ndarray:
        return (lr * direction).astype(np.float32, copy=False)


class SGD(Optimizer):
    """SGD with (heavy-ball) momentum: v = μ·v + D; ΔW = lr·v."""

    def __init__(self, momentum: float = 0.0):
        self.momentum = float(momentum)
        self.velocity: dict[Any, np.ndarray] = {}
        self.name = "sgd" if self.momentum == 0 else "momentum"
        if self.momentum:
            self.arrays_per_element, self.ops_per_element = 5, 4

    def step(self, key: Any, direction: np.ndarray, lr: float) -> np.ndarray:
        if not self.momentum:
            return super().step(key, direction, lr)
        v = self.velocity.get(key)
        v = direction.astype(np.float32) if v is None else self.momentum * v + direction
        self.velocity[key] = v
        return (lr * v).astype(np.float32, copy=False)


class Adam(Optimizer):
    """Adam (Kingma & Ba, ICLR 2015) with bias correction, maximising along D."""

    name = "adam"
    arrays_per_element = 7  # read W, D, m, v; write W, m, v
    ops_per_element = 12

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.state: dict[Any, tuple[np.ndarray, np.ndarray, int]] = {}

    def step(self, key: Any, direction: np.ndarray, lr: float) -> np.ndarray:
        m, v, t = self.state.get(key, (np.zeros_like(direction, dtype=np.float32),
                                       np.zeros_like(direction, dtype=np.float32), 0))
        t += 1
        m = self.beta1 * m + (1 - self.beta1) * direction
        v = self.beta2 * v + (1 - self.beta2) * direction * direction
        self.state[key] = (m, v, t)
        m_hat = m / (1 - self.beta1 ** t)
        v_hat = v / (1 - self.beta2 ** t)
        return (lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(np.float32)


OPTIMIZERS = ("sgd", "momentum", "adam")


def make_optimizer(name: str, momentum: float = 0.9) -> Optimizer:
    """``sgd`` (no momentum), ``momentum`` (SGD with momentum) or ``adam``."""
    if name == "sgd":
        return SGD(0.0)
    if name == "momentum":
        return SGD(momentum)
    if name == "adam":
        return Adam()
    from .errors import UnknownNameError

    raise UnknownNameError("optimizer", name, OPTIMIZERS)
