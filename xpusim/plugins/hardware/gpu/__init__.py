"""GPU backend: tensor-core number formats, roofline time, energy by format and memory level.

Kernels are named by reference: registering the backend and loading its specs import no
numba (``compute``, ``cost`` and ``twins`` load when a run, a price or the conformance suite
first needs them)."""

from xpusim.core import HardwareBackend, KernelSet
from xpusim.core.kernels import GEOMETRY_COLUMNS, STANDARD_COLUMNS
from xpusim.numerics.standard import FLOATS, INTS

from . import costmodel, params
from .device import GpuDevice


def _kernels(spec) -> KernelSet:
    kernels = KernelSet(gemm=f"{__name__}.compute:gemm", quantize=f"{__name__}.compute:quantize")
    if spec.params.compute_format == "fp32":
        return kernels  # fp32 operands are exact: nothing to round
    return kernels.replace(round_float="xpusim.numerics.formats:round_float")


def _summarize(totals: dict[str, float], p: params.GpuParams) -> dict[str, float]:
    return costmodel.summarize(totals, hbm_bandwidth_gbs=p.memory.hbm_bandwidth_gbs)


BACKEND = HardwareBackend(
    name="gpu", package=__name__,
    doc="GPU: tensor-core formats (fp32..fp8), GEMM tiles and waves, HBM energy",
    params=params.GpuParams, device=GpuDevice,
    primitives={"mvm", "mvm_t", "update", "matmul", "elementwise", "reduce", "write"},
    formats=FLOATS + INTS, capabilities=costmodel.capabilities, compute=_kernels,
    price=f"{__name__}.cost:price", cost_params=costmodel.pack,
    components=costmodel.COMPONENTS, extras=costmodel.EXTRAS, summarize=_summarize,
    boundary="device: one GPU board (chip + HBM); host, network and cooling excluded",
    columns=STANDARD_COLUMNS + GEOMETRY_COLUMNS)
xpusim_register_backends, _, xpusim_compute_kernels, xpusim_cost_kernels = BACKEND.hooks()
