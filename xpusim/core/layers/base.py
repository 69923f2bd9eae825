"""What every layer type answers, and the operations it may ask of the device.

A layer type is hardware-neutral and rule-neutral (DESIGN.md, "Models as layer graphs"): it
says what it holds on the device (weight matrices, fan_in x fan_out, and small digital
periphery parameters such as norm gains or embedding tables), how data goes forward in
primitives and how an error at its output becomes an error at its input. It never touches a
weight array: it asks ``Ops``, which the network builds for each call and which a learning
rule may reshape (backprop propagates errors with ``mvm_t``, feedback alignment with a fixed
random matrix, Hebbian rules watch each product).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import attrs
import numpy as np

Shape = tuple[int, ...]
"""Shape of one sample (no batch axis): (features,), (C, H, W), (T, D) or (T,) tokens."""


@attrs.frozen
class Matrix:
    """A weight matrix a layer places on the device: ``fan_in`` x ``fan_out`` (+ a bias of
    ``fan_out`` values kept in the digital periphery when ``bias``); ``role`` names it."""

    fan_in: int
    fan_out: int
    bias: bool = True
    role: str = "weight"


class Ops(Protocol):
    """What a layer may ask during one forward or backward call (see ``network.py``).

    ``slot`` indexes the layer's own ``matrices``. Products and records land in the trace under
    the phase of the pass; ``record`` adds digital periphery work (``elements`` values,
    ``arrays`` read or written, ``ops`` operations each).
    """

    phase: str
    train: bool

    def mvm(self, slot: int, x: np.ndarray) -> np.ndarray: ...
    def propagate(self, slot: int, e: np.ndarray) -> np.ndarray: ...
    def update(self, slot: int, pre: np.ndarray, post: np.ndarray) -> None: ...
    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray: ...
    def record(self, elements: int, arrays: int, ops: int, primitive: str = "elementwise"
               ) -> None: ...
    def param(self, name: str) -> np.ndarray: ...
    def param_grad(self, name: str, grad: np.ndarray) -> None: ...
    def activation(self, kind: str, z: np.ndarray) -> tuple[np.ndarray, int] | None: ...
    def geometry(self, samples: int, inputs: int) -> None:
        """The products this layer records next come from ``samples`` samples holding
        ``inputs`` distinct values (a convolution's patches), not one row per sample."""


class Layer:
    """Base class of layer types (one small class per type; see the module docstring).

    Subclasses are frozen attrs classes holding their hyper-parameters (sizes, strides...).
    ``kind`` is the name the rule x layer-type matrix and error messages use.
    """

    kind: ClassVar[str] = "?"
    #: Number of inputs the layer takes (a residual ``add`` takes two).
    arity: ClassVar[int] = 1

    # -- description ---------------------------------------------------------------------

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        """Shape of one output sample given the input sample shapes."""
        raise NotImplementedError

    def matrices(self, shapes: Sequence[Shape]) -> tuple[Matrix, ...]:
        """The weight matrices this layer places on the device (none by default)."""
        return ()

    def params(self, shapes: Sequence[Shape], rng: np.random.Generator
               ) -> dict[str, np.ndarray]:
        """Initial digital periphery parameters (norm gains, tables), trained digitally;
        names listed in ``state`` are kept but not trained (running statistics)."""
        return {}

    #: Periphery parameters that are state, not trained (no gradient).
    state: ClassVar[tuple[str, ...]] = ()

    def init(self, slot: int, matrix: Matrix, rng: np.random.Generator) -> np.ndarray:
        """Initial weights of ``matrix`` (He-normal: std sqrt(2 / fan_in))."""
        return initial_weights("he", matrix, rng)

    def macs(self, shapes: Sequence[Shape]) -> int:
        """Multiply-accumulates of one sample's forward pass (for the model summary)."""
        return 0

    def describe(self) -> str:
        """Short text for listings (``conv2d 16x3x3 s1 p1``)."""
        return self.kind

    # -- arithmetic, in primitives -------------------------------------------------------

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        """Output for a batch of inputs and what ``backward`` needs (the cache)."""
        raise NotImplementedError

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        """Errors at the inputs (None where ``need`` is False) for the error ``dy`` at the
        output, applying this layer's own weight and parameter changes through ``ops``."""
        raise NotImplementedError

    def rows(self, cache: Any, slot: int = 0) -> np.ndarray:
        """The (M x fan_in) matrix product ``slot`` took in the last forward pass (patches
        for conv): what a local rule updates that matrix with."""
        raise NotImplementedError(f"{self.kind} layers hold no weight matrices")


INITS = ("he", "glorot", "uniform")
"""Weight initialisations: He-normal (std sqrt(2 / fan_in), He et al. 2015), Glorot-normal
(std sqrt(2 / (fan_in + fan_out)), Glorot & Bengio 2010), and ``uniform`` on
±1/sqrt(fan_in), PyTorch's default for linear and conv layers (Kaiming-uniform, a = sqrt 5)."""


def initial_weights(kind: str, matrix: Matrix, rng: np.random.Generator) -> np.ndarray:
    """A fan_in x fan_out float32 matrix drawn from ``rng`` for initialisation ``kind``."""
    k, n = matrix.fan_in, matrix.fan_out
    if kind == "uniform":
        bound = np.float32(1.0 / np.sqrt(k))
        return (rng.random((k, n), dtype=np.float32) * 2 - 1) * bound
    gain = 2.0 / k if kind == "he" else 2.0 / (k + n)
    return rng.standard_normal((k, n)).astype(np.float32) * np.float32(np.sqrt(gain))


def held(cache: Any) -> list[np.ndarray]:
    """Arrays a cache keeps between the forward and the backward pass (for memory), in
    order: depth first through tuples, lists and dict values."""
    out: list[np.ndarray] = []
    _collect(cache, out)
    return out


def _collect(cache: Any, out: list[np.ndarray]) -> None:
    if isinstance(cache, np.ndarray):
        out.append(cache)
        return
    if isinstance(cache, dict):
        cache = cache.values()
    elif not isinstance(cache, (tuple, list)):
        return
    for c in cache:
        if isinstance(c, np.ndarray):
            out.append(c)
        elif isinstance(c, (tuple, list, dict)):
            _collect(c, out)
