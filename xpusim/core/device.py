"""The device: a backend's runtime, holding weights as the hardware holds them.

Methods never touch weight arrays; they ask the device for primitives. The base class records
every primitive in the trace, keeps layer biases in the digital periphery (fp32) and refuses
primitives the backend does not declare. A backend subclasses it and implements the
``_write``/``_read``/``_mvm``/``_mvm_t``/``_update`` numerics with its compute kernels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import IncompatibleError
from .kernels import KernelSet
from .optim import Optimizer, SGD
from .trace import Trace


class Device:
    """Base class for backend runtimes (see module docstring)."""

    #: Bits per stored activation, for activation-memory accounting.
    activation_bits: int = 32

    def __init__(self, spec: Any, kernels: KernelSet, rng: np.random.Generator,
                 trace: Trace | None = None, optimizer: Optimizer | None = None,
                 primitives: frozenset[str] = frozenset({"mvm", "mvm_t", "update"})):
        self.spec = spec
        self.params = spec.params
        self.kernels = kernels
        self.rng = rng
        self.trace = trace if trace is not None else Trace()
        self.optimizer = optimizer if optimizer is not None else SGD(0.0)
        self.primitives = frozenset(primitives)
        self.shapes: dict[int, tuple[int, int]] = {}
        self.bias: dict[int, np.ndarray] = {}
        #: digital periphery parameters of weight-free layers (norm gains, embedding tables)
        self.periphery: dict[tuple[str, str], np.ndarray] = {}
        #: (samples, inputs) of the products being recorded when their rows are not
        #: independent inputs (a convolution's patches); None: m samples of k values
        self.row_geometry: tuple[int, int] | None = None

    # -- what methods call -----------------------------------------------------------------------

    def place(self, layer: int, weights: np.ndarray, bias: np.ndarray | None = None,
              phase: str = "train-update") -> None:
        """Write a k x n weight matrix (and optional bias) for ``layer`` onto the device."""
        w = np.ascontiguousarray(weights, dtype=np.float32)
        self.shapes[layer] = w.shape
        if bias is not None:
            self.bias[layer] = np.asarray(bias, dtype=np.float32).copy()
        self._write(layer, w)
        bits, fmt = self.operand_format("write", phase)
        self.trace.add(phase, layer, "write", 1, w.shape[1], w.shape[0], bits, fmt)

    def mvm(self, layer: int, x: np.ndarray, phase: str) -> np.ndarray:
        """Forward product x (m x k) . W (k x n) (+ bias), as the hardware computes it.

        Non-finite outputs raise ``FloatingPointError``: the run ends as diverged."""
        self._require("mvm")
        x = np.ascontiguousarray(x, dtype=np.float32)
        k, n = self.shapes[layer]
        y = self._mvm(layer, x, phase)
        if not np.isfinite(y).all():  # the run reports it as diverged, never as ok
            nan = int(np.isnan(y).sum())
            raise FloatingPointError(f"layer {layer} {phase} mvm on spec {self.spec.name!r} "
                                     f"gave non-finite outputs ({nan} nan, "
                                     f"{int(np.isinf(y).sum())} inf of {y.size})")
        if layer in self.bias:
            y = y + self.bias[layer]
        self._record_product(phase, layer, "mvm", x.shape[0], n, k, x)
        return y

    def mvm_t(self, layer: int, e: np.ndarray, phase: str = "train-backward") -> np.ndarray:
        """Transposed product e (m x n) . Wᵀ (n x k): error propagation through the weights.

        Not checked for non-finite values (``mvm`` is): fp16 training overflows here on
        purpose, and the device skips that update and lowers its loss scale."""
        self._require("mvm_t")
        e = np.ascontiguousarray(e, dtype=np.float32)
        k, n = self.shapes[layer]
        out = self._mvm_t(layer, e, phase)
        self._record_product(phase, layer, "mvm_t", e.shape[0], k, n, e)
        return out

    def update(self, layer: int, pre: np.ndarray, post: np.ndarray, lr: float,
               decay: np.ndarray | None = None, phase: str = "train-update") -> None:
        """Move W along D = preᵀ·post - W·diag(decay) with step ``lr`` (and the bias along
        sum(post) - decay·b). Gradient descent passes post = -δ."""
        self._require("update")
        pre = np.ascontiguousarray(pre, dtype=np.float32)
        post = np.ascontiguousarray(post, dtype=np.float32)
        k, n = self.shapes[layer]
        self._update(layer, pre, post, float(lr), decay, phase)
        if layer in self.bias:
            b = self.bias[layer]
            d = post.sum(axis=0)
            if decay is not None:
                d = d - decay * b
            self.bias[layer] = b + self.optimizer.step(("bias", layer),
                                                       d.astype(np.float32, copy=False), lr)
        self._record_product(phase, layer, "update", pre.shape[0], n, k, pre)

    def matmul(self, layer: int, a: np.ndarray, b: np.ndarray, phase: str) -> np.ndarray:
        """Products of two activations, a (..., m, k) . b (..., k, n) (attention's Q.Kᵀ and
        P.V): one ``matmul`` row of ``count`` = the number of products, recorded under
        ``layer``. Where it runs and in what format is the backend's ``_matmul``."""
        self._require("matmul")
        a = np.ascontiguousarray(a, dtype=np.float32)
        b = np.ascontiguousarray(b, dtype=np.float32)
        out = self._matmul(a, b, phase)
        bits, fmt = self.operand_format("matmul", phase)
        m, k = a.shape[-2:]
        self.trace.add(phase, layer, "matmul", m, b.shape[-1], k, bits, fmt,
                       count=int(np.prod(a.shape[:-2], dtype=np.int64)))
        return out

    def periphery_step(self, key: tuple[str, str], grad: np.ndarray, lr: float,
                       layer: int = 0, phase: str = "train-update") -> None:
        """Gradient step on a digital periphery parameter with the run's optimizer (as
        biases), recorded as optimizer work."""
        value = self.periphery[key]
        value += self.optimizer.step(("periphery", key), -grad.astype(np.float32), lr)
        self.record_optimizer(layer, value.size, phase)

    def weights(self, layer: int) -> np.ndarray:
        """The effective weights (k x n, float) as the hardware would read them; free of cost."""
        return self._read(layer)

    def record_elementwise(self, phase: str, layer: int, elements: int, arrays: int = 2,
                           ops: int = 1, primitive: str = "elementwise") -> None:
        """Record digital periphery work: ``elements`` values, ``arrays`` read/written, ``ops``
        operations each (activations, losses, optimizer steps, norms). Nothing is asked of
        the backend while the trace is off (the formats of digital work hold no per-call
        state, unlike a product's)."""
        if not self.trace.enabled:
            return
        bits, fmt = self.operand_format(primitive, phase)
        self.trace.add(phase, layer, primitive, int(elements), int(arrays), int(ops), bits, fmt)

    def record_optimizer(self, layer: int, elements: int, phase: str = "train-update") -> None:
        """Record the digital optimizer's elementwise pass over ``elements`` weights."""
        self.record_elementwise(phase, layer, elements, self.optimizer.arrays_per_element,
                                self.optimizer.ops_per_element)

    def finalize_training(self) -> None:
        """Called once after the last training step (e.g. program trained weights for serving,
        recording ``deploy`` rows). Default: nothing to do."""

    def prepare_inference(self) -> None:
        """Called before each evaluation or inference pass (e.g. advance drift to the serving
        time). Default: nothing to do."""

    # -- what backends customise -----------------------------------------------------------------

    def operand_format(self, primitive: str, phase: str) -> tuple[int, str]:
        """(bits, format name) of the operands a primitive row is recorded with."""
        return 32, "fp32"

    def activity(self, x: np.ndarray) -> float:
        """Fraction of input elements carrying an event; dense hardware records 1.0."""
        return 1.0

    def _write(self, layer: int, w: np.ndarray) -> None:
        raise NotImplementedError

    def _read(self, layer: int) -> np.ndarray:
        raise NotImplementedError

    def _mvm(self, layer: int, x: np.ndarray, phase: str) -> np.ndarray:
        raise NotImplementedError

    def _mvm_t(self, layer: int, e: np.ndarray, phase: str) -> np.ndarray:
        raise NotImplementedError

    def _update(self, layer: int, pre: np.ndarray, post: np.ndarray, lr: float,
                decay: np.ndarray | None, phase: str) -> None:
        raise NotImplementedError

    def _matmul(self, a: np.ndarray, b: np.ndarray, phase: str) -> np.ndarray:
        """Activation products in the digital periphery, fp32 (backends with their own
        arithmetic for it override this and ``operand_format("matmul", ...)``)."""
        return np.matmul(a, b)

    def _record_product(self, phase: str, layer: int, primitive: str, m: int, n: int, k: int,
                        x: np.ndarray) -> None:
        """Record one product row with input ``x``. The backend's ``operand_format`` and
        ``activity`` are asked even while the trace is off (they may consume per-call state);
        the row itself is built only while it is on."""
        bits, fmt = self.operand_format(primitive, phase)
        activity = self.activity(x)
        if self.trace.enabled:
            self.trace.add(phase, layer, primitive, m, n, k, bits, fmt, activity=activity,
                           **self._geometry())

    def _geometry(self) -> dict[str, int]:
        if self.row_geometry is None:
            return {}
        samples, inputs = self.row_geometry
        return {"samples": samples, "inputs": inputs}

    def _require(self, primitive: str) -> None:
        if primitive not in self.primitives:
            raise IncompatibleError(f"spec {self.spec.name!r} (backend {self.spec.backend!r}) "
                                    f"does not support primitive {primitive!r}")


class MasterWeightsDevice(Device):
    """A device whose products use the weights as the hardware holds them, while fp32 master
    weights stay in digital memory for the optimizer (quantized arrays, programmed meshes).

    A backend says what the hardware holds (``_program``: e.g. the weights quantized) and how
    it computes a product with that (``_product(x, w)``, ``w`` the held k x n weights or their
    transpose). An update runs the run's digital optimizer on the master copy, records it, and
    programs the hardware again (the backend's ``update`` rows price that).
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.master: dict[int, np.ndarray] = {}
        #: the weights as the hardware holds them (what ``weights()`` reads)
        self.held: dict[int, np.ndarray] = {}

    def _program(self, layer: int, w: np.ndarray) -> np.ndarray:
        """The weights ``w`` (k x n, fp32) as the hardware holds them after programming."""
        raise NotImplementedError

    def _product(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``x @ w`` as the hardware computes it, ``w`` a held weight matrix (or its transpose)."""
        raise NotImplementedError

    def _write(self, layer: int, w: np.ndarray) -> None:
        self.master[layer] = w.copy()
        self.held[layer] = self._program(layer, self.master[layer])

    def _read(self, layer: int) -> np.ndarray:
        return self.held[layer].copy()

    def _mvm(self, layer: int, x: np.ndarray, phase: str) -> np.ndarray:
        return self._product(x, self.held[layer])

    def _mvm_t(self, layer: int, e: np.ndarray, phase: str) -> np.ndarray:
        return self._product(e, np.ascontiguousarray(self.held[layer].T))

    def _update(self, layer: int, pre: np.ndarray, post: np.ndarray, lr: float,
                decay: np.ndarray | None, phase: str) -> None:
        w = self.master[layer]
        d = pre.T @ post
        if decay is not None:
            d = d - w * decay[None, :]
        self.master[layer] = w + self.optimizer.step(layer, d.astype(np.float32), lr)
        self.held[layer] = self._program(layer, self.master[layer])
        self.record_optimizer(layer, w.size, phase)
