"""GPU runtime: fp32 master weights, a working copy in the compute format, loss scaling."""

from __future__ import annotations

import numpy as np

from xpusim.core import Device
from xpusim.core.formats import FORMATS


GROWTH_INTERVAL = 2000  # clean steps before the dynamic loss scale doubles (PyTorch AMP default)


class GpuDevice(Device):
    """Weights as a GPU training loop holds them: fp32 master + ``compute_format`` copy."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fmt = self.params.compute_format
        self._round = self.kernels.round_float if "round_float" in self.kernels else None
        self.activation_bits = FORMATS.get(self.fmt).bits
        self.master: dict[int, np.ndarray] = {}
        self.working: dict[int, np.ndarray] = {}
        self.loss_scale = float(self.params.loss_scale)
        self.clean_updates = 0
        self.skipped_updates = 0

    def operand_format(self, primitive: str, phase: str) -> tuple[int, str]:
        """Operands in ``compute_format`` at its storage width (tf32 is a math mode on fp32
        storage); elementwise work in fp32, or in the 16-bit format of 16/8-bit training."""
        fmt = self.params.compute_format
        if primitive == "write" and self.params.master_weights:
            return 32, "fp32"
        if primitive in ("elementwise", "reduce"):
            if fmt in ("fp32", "tf32") or (phase == "train-update"
                                           and self.params.master_weights):
                return 32, "fp32"  # with a master copy, optimizer states are fp32 too
            return 16, "fp16" if fmt == "fp16" else "bf16"
        return FORMATS.get(fmt).bits, fmt

    def _q(self, x: np.ndarray) -> np.ndarray:
        """``x`` in the compute format, through the spec's ``quantize`` kernel."""
        return self.kernels.quantize(x, self.fmt, self._round)

    def _write(self, layer: int, w: np.ndarray) -> None:
        self.working[layer] = self._q(w)
        if self.params.master_weights:
            self.master[layer] = w.copy()

    def _read(self, layer: int) -> np.ndarray:
        return (self.master if self.params.master_weights else self.working)[layer].copy()

    def _mvm(self, layer: int, x: np.ndarray, phase: str) -> np.ndarray:
        return self._q(self.kernels.gemm(self._q(x), self.working[layer], self.fmt))

    def _matmul(self, a: np.ndarray, b: np.ndarray, phase: str) -> np.ndarray:
        """Activation products on the tensor cores: both operands in ``compute_format``,
        fp32 accumulation, the result rounded back (as attention kernels write it)."""
        return self._q(self.kernels.gemm(self._q(a), self._q(b), self.fmt))

    def _mvm_t(self, layer: int, e: np.ndarray, phase: str) -> np.ndarray:
        s = np.float32(self.loss_scale)
        out = self._q(self.kernels.gemm(self._q(e * s), self.working[layer].T, self.fmt))
        return out / s

    def _update(self, layer: int, pre: np.ndarray, post: np.ndarray, lr: float,
                decay: np.ndarray | None, phase: str) -> None:
        s = np.float32(self.loss_scale)
        grad = self.kernels.gemm(self._q(pre).T, self._q(post * s), self.fmt) / s
        if not np.isfinite(grad).all():  # fp16 overflow: skip the step, lower the scale
            self.skipped_updates += 1
            if self.params.dynamic_loss_scaling:
                self.loss_scale /= 2.0
                self.clean_updates = 0
            return
        if self.params.dynamic_loss_scaling:
            self.clean_updates += 1
            if self.clean_updates % GROWTH_INTERVAL == 0:
                self.loss_scale *= 2.0
        store = self.master if self.params.master_weights else self.working
        w = store[layer]
        direction = grad if decay is None else grad - w * decay[None, :]
        w = w + self.optimizer.step(layer, direction.astype(np.float32), lr)
        store[layer] = w if self.params.master_weights else self._q(w)
        if self.params.master_weights:
            self.working[layer] = self._q(w)
        self.record_optimizer(layer, w.size, phase)
