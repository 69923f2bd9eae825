"""Analog in-memory-computing backend: crossbar tiles, DAC/ADC, PCM drift, in-situ pulses.

Kernels are named by reference and ``cost`` is imported inside the functions that need it, so
that registering the backend and loading its specs import no numba."""

from functools import partial

from xpusim import hookimpl
from xpusim.core import BackendInfo, CostModel, Format, KernelSet
from xpusim.numerics.standard import STANDARD

from . import params
from .device import AnalogDevice

BACKEND = "analog"
ANALOG = Format("analog", None, "device", "conductances read through DACs and ADCs; bits = "
                "DAC resolution")
"""The same definition as ``cost.ANALOG`` (a format may be registered twice if it agrees),
here so that registration does not import the cost kernel's module."""


def _capabilities(spec):
    from . import cost

    return cost.capabilities(spec)


@hookimpl
def xpusim_register_backends():
    return [BackendInfo(BACKEND, params=params.AnalogParams, device=AnalogDevice,
                        primitives={"mvm", "mvm_t", "update", "matmul", "elementwise", "reduce",
                                    "write"},
                        doc="analog crossbars: DAC/ADC, PCM drift, hardware-aware/in-situ/hybrid",
                        formats=(ANALOG, *STANDARD), capabilities=_capabilities,
                        twins=f"{__name__}.twins:TWINS")]


@hookimpl(trylast=True)
def xpusim_compute_kernels(spec):
    if spec.backend != BACKEND:
        return None
    compute = f"{__name__}.compute"
    return KernelSet(dac=f"{compute}:dac_any_size", periphery=f"{compute}:periphery_any_size",
                     normals=f"{compute}:normals_any_size", pulse_update=f"{compute}:pulse_update",
                     coincidences=f"{compute}:coincidences")


@hookimpl(trylast=True)
def xpusim_cost_kernels(spec):
    if spec.backend != BACKEND:
        return None
    from . import cost

    p = spec.params
    return CostModel(price=cost.price, params=cost.pack(p), components=cost.COMPONENTS,
                     extras=cost.EXTRAS, static_power_w=p.static_power_w,
                     price_usd_per_hour=p.price_usd_per_hour, summarize=partial(cost.summarize,
                                                            tiles_on_chip=p.tile.tiles_on_chip),
                     boundary="device: one analog chip (tiles + periphery); host excluded")
