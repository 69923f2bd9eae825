"""Systolic-array backend (TPU-like): int16..binary and bf16/fp16/fp8 numerics with saturating
accumulators, training with or without a master copy, SCALE-Sim-exact cycles, energy.

Kernels are named by reference: registering the backend and loading its specs import no
numba (``compute``, ``cost`` and ``twins`` load when a run, a price or the conformance suite
first needs them)."""

from xpusim.core import HardwareBackend, KernelSet
from xpusim.core.kernels import GEOMETRY_COLUMNS, STANDARD_COLUMNS
from xpusim.numerics.standard import FLOATS, INTS

from . import costmodel, params
from .device import SystolicDevice


def _kernels(spec) -> KernelSet:
    """The kernels this spec's formats call, and only those."""
    nx = spec.params.numerics
    used = {nx.weights, nx.activations, nx.errors, nx.gradients, nx.outputs}
    compute, formats = f"{__name__}.compute", "xpusim.numerics.formats"
    kernels = {}
    if used & set(params.INT_BITS):
        kernels.update(quantize_codes=f"{compute}:quantize_codes",
                       int_gemm=f"{compute}:int_gemm")
    if used & set(params.FLOAT_BITS):
        kernels.update(round_float_array=f"{formats}:to_format")
        if nx.rounding == "stochastic" or (nx.update_rounding == "stochastic"
                                           and not nx.master_weights):
            kernels.update(round_float_stochastic_array=f"{formats}:to_format_stochastic")
    return KernelSet(**kernels)


BACKEND = HardwareBackend(
    name="systolic", package=__name__,
    doc="systolic array: int8..binary / bf16..fp8 numerics, SCALE-Sim cycles",
    params=params.SystolicParams, device=SystolicDevice,
    primitives={"mvm", "mvm_t", "update", "matmul", "elementwise", "reduce", "write"},
    formats=FLOATS + INTS, capabilities=costmodel.capabilities, compute=_kernels,
    price=f"{__name__}.cost:price", cost_params=costmodel.pack,
    components=costmodel.COMPONENTS, extras=costmodel.EXTRAS, summarize=costmodel.summarize,
    boundary="device: one accelerator chip + its DRAM; host excluded",
    columns=STANDARD_COLUMNS + GEOMETRY_COLUMNS)
xpusim_register_backends, _, xpusim_compute_kernels, xpusim_cost_kernels = BACKEND.hooks()
