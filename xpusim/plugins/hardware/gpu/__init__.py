"""GPU backend: tensor-core number formats, roofline time, energy by format and memory level."""

from functools import partial

from xpusim import hookimpl
from xpusim.core import BackendInfo, CostModel, KernelSet
from xpusim.numerics import formats
from xpusim.numerics.standard import FLOATS, INTS

from . import compute, cost, params
from .device import GpuDevice
from .twins import TWINS  # noqa: F401  (kernel/twin pairs, exercised by tests/test_twins.py)

BACKEND = "gpu"


@hookimpl
def xpusim_register_backends():
    return [BackendInfo(BACKEND, params=params.GpuParams, device=GpuDevice,
                        primitives={"mvm", "mvm_t", "update", "matmul", "elementwise", "reduce",
                                    "write"},
                        doc="GPU: tensor-core formats (fp32..fp8), GEMM tiles and waves, HBM energy",
                        formats=FLOATS + INTS, capabilities=cost.capabilities)]


@hookimpl(trylast=True)
def xpusim_compute_kernels(spec):
    if spec.backend != BACKEND:
        return None
    kernels = KernelSet(gemm=compute.gemm, quantize=compute.quantize)
    if spec.params.compute_format == "fp32":
        return kernels  # fp32 operands are exact: nothing to round
    return kernels.replace(round_float=formats.round_float)


@hookimpl(trylast=True)
def xpusim_cost_kernels(spec):
    if spec.backend != BACKEND:
        return None
    p = spec.params
    return CostModel(price=cost.price, params=cost.pack(p), components=cost.COMPONENTS,
                     extras=cost.EXTRAS, static_power_w=p.static_power_w,
                     price_usd_per_hour=p.price_usd_per_hour,
                     summarize=partial(cost.summarize,
                                       hbm_bandwidth_gbs=p.memory.hbm_bandwidth_gbs),
                     boundary="device: one GPU board (chip + HBM); host, network and cooling excluded")
