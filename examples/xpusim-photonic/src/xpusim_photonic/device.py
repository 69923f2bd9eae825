"""Photonic runtime: fp32 master weights in SRAM, quantized phases in the mesh, noisy reads."""

import numpy as np

from xpusim.core import MasterWeightsDevice


def _absmax(a):
    return float(np.max(np.abs(a))) if a.size else 0.0


class PhotonicDevice(MasterWeightsDevice):
    """Weights as the mesh holds them: ``weight_bits`` levels over the layer's |w| max.

    Inputs are scaled to the DAC range per batch (digital gain), products get Gaussian read
    noise relative to the output full scale, and the ADC quantizes over that full scale
    (automatic gain control). Light sent backwards through the same mesh computes e @ Wᵀ
    (Hughes et al. 2018). Gradients and the optimizer run in the digital periphery (fp32);
    after each update the layer is reprogrammed.
    """

    def operand_format(self, primitive, phase):
        if primitive in ("mvm", "mvm_t"):
            return self.params.dac.bits, "photonic"
        if primitive == "write":
            return self.params.mesh.weight_bits, "photonic"
        return 32, "fp32"

    def _quantize(self, x, bits, scale):
        out = np.empty_like(x)
        self.kernels.quantize(x, out, bits, scale)
        return out

    def _program(self, layer, w):
        return self._quantize(w, self.params.mesh.weight_bits, _absmax(w))

    def _product(self, x, w):
        p = self.params
        xq = self._quantize(x, p.dac.bits, _absmax(x))
        clean = np.empty((x.shape[0], w.shape[1]), np.float32)
        self.kernels.noisy_product(xq, w, np.zeros(clean.shape), 0.0, clean)
        full_scale = _absmax(clean)
        noisy = np.empty_like(clean)
        self.kernels.noisy_product(xq, w, self.rng.standard_normal(clean.shape),
                                   p.noise.output_std * full_scale, noisy)
        return self._quantize(noisy, p.adc.bits, full_scale)
