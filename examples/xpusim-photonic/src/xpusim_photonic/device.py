"""Photonic runtime: fp32 master weights in SRAM, quantized phases in the mesh, noisy reads."""

from __future__ import annotations

import numpy as np

from xpusim.core import Device


def _absmax(a: np.ndarray) -> float:
    return float(np.max(np.abs(a))) if a.size else 0.0


class PhotonicDevice(Device):
    """Weights as the mesh holds them: ``weight_bits`` levels over the layer's |w| max.

    Inputs are scaled to the DAC range per batch (digital gain), products get Gaussian read
    noise relative to the output full scale, and the ADC quantizes over that full scale
    (automatic gain control). Gradients and the optimizer run in the digital periphery (fp32);
    after each update the layer is reprogrammed.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.master: dict[int, np.ndarray] = {}
        self.mesh: dict[int, np.ndarray] = {}

    def operand_format(self, primitive: str, phase: str) -> tuple[int, str]:
        p = self.params
        if primitive in ("mvm", "mvm_t"):
            return p.dac.bits, "photonic"
        if primitive == "write":
            return p.mesh.weight_bits, "photonic"
        return 32, "fp32"

    def _program(self, layer: int) -> None:
        w = self.master[layer]
        out = np.empty_like(w)
        self.kernels.quantize(w, out, self.params.mesh.weight_bits, _absmax(w))
        self.mesh[layer] = out

    def _write(self, layer: int, w: np.ndarray) -> None:
        self.master[layer] = w.copy()
        self._program(layer)

    def _read(self, layer: int) -> np.ndarray:
        return self.mesh[layer].copy()

    def _product(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        p = self.params
        xq = np.empty_like(x)
        self.kernels.quantize(x, xq, p.dac.bits, _absmax(x))
        clean = np.empty((x.shape[0], w.shape[1]), np.float32)
        zeros = np.zeros(clean.shape)
        self.kernels.noisy_product(xq, w, zeros, 0.0, clean)
        full_scale = _absmax(clean)
        noise = self.rng.standard_normal(clean.shape)
        noisy = np.empty_like(clean)
        self.kernels.noisy_product(xq, w, noise, p.noise.output_std * full_scale, noisy)
        y = np.empty_like(noisy)
        self.kernels.quantize(noisy, y, p.adc.bits, full_scale)
        return y

    def _mvm(self, layer: int, x: np.ndarray, phase: str) -> np.ndarray:
        return self._product(x, self.mesh[layer])

    def _mvm_t(self, layer: int, e: np.ndarray, phase: str) -> np.ndarray:
        # light sent backwards through the same mesh computes e @ Wᵀ (Hughes et al. 2018)
        return self._product(e, np.ascontiguousarray(self.mesh[layer].T))

    def _update(self, layer: int, pre: np.ndarray, post: np.ndarray, lr: float,
                decay: np.ndarray | None, phase: str) -> None:
        w = self.master[layer]
        d = pre.T @ post
        if decay is not None:
            d = d - w * decay[None, :]
        self.master[layer] = w + self.optimizer.step(layer, d.astype(np.float32), lr)
        self._program(layer)
        self.record_optimizer(layer, w.size, phase)
