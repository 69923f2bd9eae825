"""xpusim-photonic: a photonic MVM accelerator backend (MZI mesh tiles, DAC/ADC, lasers)."""

from xpusim.core import Capabilities, Format, HardwareBackend
from xpusim.numerics.standard import STANDARD

from .device import PhotonicDevice
from .params import COST_PARAMS, PhotonicParams

__version__ = "0.1.0"
PHOTONIC = Format("photonic", None, "device", "optical amplitudes set by DACs, read by ADCs")


def capabilities(spec):
    """Weights the tiles hold and the peak rate: every tile taking one input vector per
    symbol (rows x cols MACs each, 2 ops per MAC); digital products at the digital rate."""
    mesh = spec.params.mesh
    weights = mesh.tiles * mesh.rows * mesh.cols
    return Capabilities(peak_ops_per_s={"photonic": 2.0 * weights * mesh.symbol_rate_ghz * 1e9,
                                        "fp32": 2.0 * spec.params.digital.gops * 1e9},
                        weight_capacity=weights)


BACKEND = HardwareBackend(
    name="photonic", package=__name__, params=PhotonicParams, device=PhotonicDevice,
    doc="photonic MZI-mesh MVM tiles: DAC/ADC quantization, read noise, thermal phase "
        "programming",
    primitives={"mvm", "mvm_t", "update", "elementwise", "reduce", "write"},
    formats=(PHOTONIC, *STANDARD), capabilities=capabilities,
    compute={"quantize": "xpusim.numerics.uniform:quantize",  # DACs, ADCs, weights
             "noisy_product": f"{__name__}.kernels:noisy_product"},
    cost_params=COST_PARAMS,
    components=("conversion", "weight_programming", "digital", "onchip_memory"),
    extras=("dac_conversions", "adc_conversions", "tile_passes", "weights_programmed",
            "digital_ops", "sram_bytes"),
    boundary="chip: mesh tiles, converters, lasers, on-chip SRAM and digital periphery; host "
             "and off-chip memory excluded")
(xpusim_register_backends, xpusim_spec_dirs, xpusim_compute_kernels,
 xpusim_cost_kernels) = BACKEND.hooks()
