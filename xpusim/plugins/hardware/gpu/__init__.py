"""GPU backend: tensor-core number formats, roofline time, energy by format and memory level."""

from xpusim import hookimpl
from xpusim.core import BackendInfo, CostModel, KernelSet
from xpusim.numerics import formats, reference as formats_reference

from . import compute, cost, params, reference
from .device import GpuDevice

BACKEND = "gpu"

TWINS = {
    "round_float": (formats.round_float, formats_reference.round_float),
    "round_float_stochastic": (formats.round_float_stochastic,
                               formats_reference.round_float_stochastic),
    "price": (cost.price, reference.price),
}


@hookimpl
def xpusim_register_backends():
    return [BackendInfo(BACKEND, params=params.GpuParams, device=GpuDevice,
                        primitives={"mvm", "mvm_t", "update", "elementwise", "reduce", "write"},
                        doc="GPU: tensor-core formats (fp32..fp8), roofline time, HBM energy")]


@hookimpl(trylast=True)
def xpusim_compute_kernels(spec):
    if spec.backend != BACKEND:
        return None
    return KernelSet(round_float=formats.round_float, gemm=compute.gemm, quantize=compute.quantize)


@hookimpl(trylast=True)
def xpusim_cost_kernels(spec):
    if spec.backend != BACKEND:
        return None
    p = spec.params
    return CostModel(price=cost.price, params=cost.pack(p), components=cost.COMPONENTS,
                     extras=cost.EXTRAS, static_power_w=p.static_power_w,
                     price_usd_per_hour=p.price_usd_per_hour,
                     boundary="device: one GPU board (chip + HBM); host, network and cooling excluded")
