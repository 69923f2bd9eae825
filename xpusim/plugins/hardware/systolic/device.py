"""Systolic runtime: weights held in the array's weight format (with or without an fp32
master copy), every GEMM run on quantized operands with the array's accumulator.

* Forward ``mvm``: activations (per-tensor scale, symmetric or asymmetric) x weights
  (per-tensor or per-output-channel scale); the accumulator is dequantized, then requantized
  to the ``outputs`` format as the next layer would receive it.
* Error propagation ``mvm_t``: errors x weights^T. A per-channel weight scale varies along this
  GEMM's reduction, so it is folded into the errors before they are quantized (per tensor).
* Weight gradient ``update``: activations^T x errors, reduced over the batch in the
  accumulator and rounded to the ``gradients`` format; the optimizer step runs on the vector
  unit in fp32. With ``master_weights`` the step lands on the fp32 copy and the array reads
  its re-quantized copy: quantization-aware training with the straight-through estimator
  (the method's backward pass treats the quantizers as identity). Without it the weights
  live only in the low-precision grid and each update is rounded onto it (stochastically by
  default, Gupta et al. 2015), the grid scale growing only when weights outgrow it.
"""

from __future__ import annotations

import numpy as np

from xpusim.core import Device

from . import quant
from .params import FLOAT_BITS, format_bits

FORWARD_PHASES = ("inference", "train-forward")


def _wider(a: str, b: str) -> tuple[int, str]:
    """(bits, fmt) of the wider operand: the one that sets the array's pass count."""
    fa, fb = format_bits(a), format_bits(b)
    if a in FLOAT_BITS or b in FLOAT_BITS:  # a float operand makes it a float MAC
        f = a if (a in FLOAT_BITS and (fa >= fb or b not in FLOAT_BITS)) else b
        return format_bits(f), f
    return (fa, a) if fa >= fb else (fb, b)


class SystolicDevice(Device):
    """Weights as a low-precision accelerator holds them (see module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.nx = self.params.numerics
        self.fold = int(self.params.array_rows)
        self.acc_bits = int(self.params.accumulator_bits)
        self.activation_bits = format_bits(self.nx.activations)
        self.master: dict[int, np.ndarray] = {}
        self.stored: dict[int, quant.QTensor] = {}

    # -- formats -----------------------------------------------------------------------------

    def operand_format(self, primitive: str, phase: str) -> tuple[int, str]:
        nx = self.nx
        if primitive == "mvm":
            return _wider(nx.activations, nx.weights)
        if primitive == "mvm_t":
            return _wider(nx.errors, nx.weights)
        if primitive == "update":
            return _wider(nx.activations, nx.errors)
        if primitive == "write":
            return format_bits(nx.weights), nx.weights
        if primitive == "matmul":  # two activations (errors too, going backward)
            return _wider(nx.activations, nx.activations) if phase in FORWARD_PHASES else \
                _wider(nx.errors, nx.activations)
        if phase in FORWARD_PHASES:
            # the activation pipeline reads and writes activations as the array stores them
            # (TPU v1: accumulators -> activation unit -> 8-bit Unified Buffer)
            return format_bits(nx.outputs), nx.outputs
        return 32, "fp32"  # vector unit: errors, losses' gradients, optimizer

    # -- quantization helpers ----------------------------------------------------------------

    def _q(self, x: np.ndarray, fmt: str, *, symmetric: bool = True) -> quant.QTensor:
        stochastic = self.nx.rounding == "stochastic"
        return quant.quantize(x, fmt, self.kernels, symmetric=symmetric, stochastic=stochastic,
                              rng=self.rng)

    def _requantize(self, y: np.ndarray, fmt: str) -> np.ndarray:
        if fmt == "fp32":
            return y
        return self._q(y, fmt).value()

    def _quantize_weights(self, w: np.ndarray, scale: np.ndarray | None = None,
                          stochastic: bool = False) -> quant.QTensor:
        return quant.quantize(w, self.nx.weights, self.kernels,
                              per_column=self.nx.weight_granularity == "per-channel",
                              stochastic=stochastic, rng=self.rng, scale=scale)

    # -- numerics ----------------------------------------------------------------------------

    def _write(self, layer: int, w: np.ndarray) -> None:
        self.stored[layer] = self._quantize_weights(w)
        if self.nx.master_weights:
            self.master[layer] = w.copy()

    def _read(self, layer: int) -> np.ndarray:
        return self.master[layer].copy() if self.nx.master_weights else \
            self.stored[layer].value()

    def _mvm(self, layer: int, x: np.ndarray, phase: str) -> np.ndarray:
        xq = self._q(x, self.nx.activations, symmetric=self.nx.symmetric)
        y = quant.gemm(xq, self.stored[layer], self.kernels, self.fold, self.acc_bits)
        return self._requantize(y, self.nx.outputs)

    def _matmul(self, a: np.ndarray, b: np.ndarray, phase: str) -> np.ndarray:
        """Products of two activations on the array, one per leading index: both operands
        quantized per tensor to the format ``operand_format`` names, accumulated as ``_mvm``
        does, the result requantized to ``outputs`` in the forward phases."""
        fmt = self.operand_format("matmul", phase)[1]
        out = np.empty((*a.shape[:-1], b.shape[-1]), np.float32)
        for idx in np.ndindex(*a.shape[:-2]):
            aq = self._q(a[idx], fmt, symmetric=self.nx.symmetric)
            bq = self._q(b[idx], fmt)
            y = quant.gemm(aq, bq, self.kernels, self.fold, self.acc_bits)
            out[idx] = self._requantize(y, self.nx.outputs) if phase in FORWARD_PHASES else y
        return out

    def _mvm_t(self, layer: int, e: np.ndarray, phase: str) -> np.ndarray:
        w = self.stored[layer]
        eq = self._q(e * w.scale[None, :], self.nx.errors)
        wt = quant.QTensor(np.ascontiguousarray(w.codes.T),
                           np.ones(w.codes.shape[0], np.float32), w.fmt, w.max_code)
        return quant.gemm(eq, wt, self.kernels, self.fold, self.acc_bits)

    def _update(self, layer: int, pre: np.ndarray, post: np.ndarray, lr: float,
                decay: np.ndarray | None, phase: str) -> None:
        nx = self.nx
        pre_t = self._q(np.ascontiguousarray(pre.T), nx.activations)
        post_q = self._q(post, nx.errors)
        post_q = quant.QTensor(post_q.codes, np.full_like(post_q.scale, post_q.scale[0]),
                               post_q.fmt, post_q.max_code)
        grad = quant.gemm(pre_t, post_q, self.kernels, self.fold, self.acc_bits)
        grad = self._requantize(grad, nx.gradients)
        w = self._read(layer)
        direction = grad if decay is None else grad - w * decay[None, :]
        w = w + self.optimizer.step(layer, direction.astype(np.float32), lr)
        if nx.master_weights:
            self.master[layer] = w
            self.stored[layer] = self._quantize_weights(w)
        else:
            old = self.stored[layer]
            grid = None
            if nx.weights not in FLOAT_BITS and nx.weights not in ("ternary", "binary"):
                _, qmax = quant.int_range(nx.weights)
                need = np.abs(w).max(axis=0) if nx.weight_granularity == "per-channel" \
                    else np.full(w.shape[1], np.abs(w).max())
                grid = np.maximum(old.scale, (need / qmax).astype(np.float32))
            self.stored[layer] = self._quantize_weights(
                w, scale=grid, stochastic=nx.update_rounding == "stochastic")
        self.record_optimizer(layer, w.size, phase)
