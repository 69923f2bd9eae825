"""Systolic-array backend (TPU-like): int16..binary and bf16/fp16/fp8 numerics with saturating
accumulators, training with or without a master copy, SCALE-Sim-exact cycles, energy."""

from xpusim import hookimpl
from xpusim.core import BackendInfo, CostModel, KernelSet
from xpusim.numerics import formats
from xpusim.numerics.standard import FLOATS, INTS

from . import compute, params
from .device import SystolicDevice
from .twins import TWINS  # noqa: F401  (kernel/twin pairs, exercised by tests/test_twins.py)

BACKEND = "systolic"


@hookimpl
def xpusim_register_backends():
    return [BackendInfo(BACKEND, params=params.SystolicParams, device=SystolicDevice,
                        primitives={"mvm", "mvm_t", "update", "matmul", "elementwise", "reduce",
                                    "write"},
                        doc="systolic array: int8..binary / bf16..fp8 numerics, SCALE-Sim cycles",
                        formats=FLOATS + INTS, capabilities=_capabilities)]


def _capabilities(spec):
    from . import cost  # the cost model is its own module (cycles, buffers, energy)

    return cost.capabilities(spec)


@hookimpl(trylast=True)
def xpusim_compute_kernels(spec):
    if spec.backend != BACKEND:
        return None
    nx = spec.params.numerics
    used = {nx.weights, nx.activations, nx.errors, nx.gradients, nx.outputs}
    kernels = {}  # the kernels this spec's formats call, and only those
    if used & set(params.INT_BITS):
        kernels.update(quantize_codes=compute.quantize_codes, int_gemm=compute.int_gemm)
    if used & set(params.FLOAT_BITS):
        kernels.update(round_float_array=formats.to_format)
        if nx.rounding == "stochastic" or (nx.update_rounding == "stochastic"
                                           and not nx.master_weights):
            kernels.update(round_float_stochastic_array=formats.to_format_stochastic)
    return KernelSet(**kernels)


@hookimpl(trylast=True)
def xpusim_cost_kernels(spec):
    if spec.backend != BACKEND:
        return None
    from . import cost  # the cost model is its own module (cycles, buffers, energy)

    p = spec.params
    return CostModel(price=cost.price, params=cost.pack(p), components=cost.COMPONENTS,
                     extras=cost.EXTRAS, static_power_w=p.static_power_w,
                     price_usd_per_hour=p.price_usd_per_hour, summarize=cost.summarize,
                     boundary="device: one accelerator chip + its DRAM; host excluded")
