"""xpusim-photonic: a photonic MVM accelerator backend (MZI mesh tiles, DAC/ADC, lasers)."""

from pathlib import Path

from xpusim import hookimpl
from xpusim.core import BackendInfo, CostModel, Format, KernelSet
from xpusim.numerics.standard import STANDARD

from . import compute, cost, params
from .device import PhotonicDevice
from .twins import TWINS  # noqa: F401  (kernel/twin pairs: the conformance suite checks them)

BACKEND = "photonic"
PHOTONIC = Format("photonic", None, "device", "optical amplitudes set by DACs, read by ADCs")
__version__ = "0.1.0"


@hookimpl
def xpusim_register_backends():
    return [BackendInfo(BACKEND, params=params.PhotonicParams, device=PhotonicDevice,
                        primitives={"mvm", "mvm_t", "update", "elementwise", "reduce", "write"},
                        doc="photonic MZI-mesh MVM tiles: DAC/ADC quantization, read noise, "
                            "thermal phase programming",
                        formats=(PHOTONIC, *STANDARD), capabilities=cost.capabilities)]


@hookimpl
def xpusim_spec_dirs():
    return [Path(__file__).resolve().parent / "specs"]


@hookimpl(trylast=True)
def xpusim_compute_kernels(spec):
    if spec.backend != BACKEND:
        return None
    return KernelSet(quantize=compute.quantize, noisy_product=compute.noisy_product)


@hookimpl(trylast=True)
def xpusim_cost_kernels(spec):
    if spec.backend != BACKEND:
        return None
    p = spec.params
    return CostModel(price=cost.price, params=cost.pack(p), components=cost.COMPONENTS,
                     extras=cost.EXTRAS, static_power_w=p.static_power_w,
                     price_usd_per_hour=p.price_usd_per_hour,
                     boundary="chip: mesh tiles, converters, lasers, on-chip SRAM and digital "
                              "periphery; host and off-chip memory excluded")
