"""Analog in-memory-computing backend: crossbar tiles, DAC/ADC, PCM drift, in-situ pulses.

Kernels are named by reference: registering the backend, loading its specs, declaring their
capabilities and naming who supplies the kernels import no numba."""

from functools import partial

from xpusim import hookimpl
from xpusim.core import BackendInfo, CostModel, KernelSet
from xpusim.numerics.standard import STANDARD

from . import costmodel, params
from .device import AnalogDevice

BACKEND = "analog"


@hookimpl
def xpusim_register_backends():
    return [BackendInfo(BACKEND, params=params.AnalogParams, device=AnalogDevice,
                        primitives={"mvm", "mvm_t", "update", "matmul", "elementwise", "reduce",
                                    "write"},
                        doc="analog crossbars: DAC/ADC, PCM drift, hardware-aware/in-situ/hybrid",
                        formats=(costmodel.ANALOG, *STANDARD),
                        capabilities=costmodel.capabilities,
                        twins=f"{__name__}.twins:TWINS")]


@hookimpl(trylast=True)
def xpusim_compute_kernels(spec):
    if spec.backend != BACKEND:
        return None
    return KernelSet(**kernels_for(spec.params))


def _ref(module: str, name: str) -> str:
    return f"{__name__}.{module}:{name}"


def kernels_for(p) -> dict:
    """The kernels a spec's runs call, by reference (no more: an override plugin must see its
    kernel run): the read pipeline always; the pulsed update in-situ; the rest as the spec or
    one of its layer tables switches them on."""
    layers = [p] + [params.layer_params(p, int(k)) for k in p.layers]
    k = {"read": _ref("compute", "read_any_size")}
    if p.training_mode == "hardware-aware":
        k.update(program_noise=_ref("noise_models", "program_noise"),
                 age_noise=_ref("noise_models", "age_noise"))
        if any(lp.hwa_noise_scale > 0 for lp in layers):
            k["prog_sigmas"] = _ref("noise_models", "prog_sigmas")
        if any(lp.modifier.type != "none" or lp.modifier.pdrop > 0 for lp in layers):
            k["modify_weights"] = _ref("hwa", "modify_weights")
        return k
    if p.training_mode == "hybrid":
        k["pulse_counts"] = _ref("pulsed", "apply_counts")
    else:
        k["pulse_batch"] = _ref("pulsed", "pulse_batch")
        if any(lp.transfer.algorithm != "none" for lp in layers):
            k["transfer_batch"] = _ref("transfer", "transfer_batch")
        if any(lp.transfer.algorithm != "none" or lp.pulsed.one_sided.enabled for lp in layers):
            k["read_row"] = _ref("transfer", "read_row")
    if any(lp.pulsed.lifetime > 0 for lp in layers):
        k["pulse_decay"] = _ref("pulsed", "decay")
    return k


@hookimpl(trylast=True)
def xpusim_cost_kernels(spec):
    if spec.backend != BACKEND:
        return None
    p = spec.params
    per_layer = {int(k): costmodel.pack(params.layer_params(p, int(k))) for k in p.layers}
    return CostModel(price=f"{__name__}.cost:price", params=costmodel.pack(p),
                     components=costmodel.COMPONENTS, extras=costmodel.EXTRAS,
                     layer_params=per_layer, static_power_w=p.static_power_w,
                     price_usd_per_hour=p.price_usd_per_hour,
                     summarize=partial(costmodel.summarize, tiles_on_chip=p.tile.tiles_on_chip),
                     boundary="device: one analog chip (tiles + periphery); host excluded")
