"""Analog in-memory-computing backend: crossbar tiles, DAC/ADC, PCM drift, in-situ pulses."""

from functools import partial

from xpusim import hookimpl
from xpusim.core import BackendInfo, CostModel, KernelSet
from xpusim.numerics.standard import STANDARD

from . import compute, cost, hwa, noise_models, params, pulsed, transfer
from .device import AnalogDevice
from .twins import TWINS  # noqa: F401  (kernel/twin pairs, exercised by tests/test_twins.py)

BACKEND = "analog"


@hookimpl
def xpusim_register_backends():
    return [BackendInfo(BACKEND, params=params.AnalogParams, device=AnalogDevice,
                        primitives={"mvm", "mvm_t", "update", "matmul", "elementwise", "reduce",
                                    "write"},
                        doc="analog crossbars: DAC/ADC, PCM drift, hardware-aware/in-situ/hybrid",
                        formats=(cost.ANALOG, *STANDARD), capabilities=cost.capabilities)]


@hookimpl(trylast=True)
def xpusim_compute_kernels(spec):
    if spec.backend != BACKEND:
        return None
    return KernelSet(**kernels_for(spec.params))


def kernels_for(p) -> dict:
    """The kernels a spec's runs call (no more: an override plugin must see its kernel run):
    the read pipeline always; the pulsed update in-situ; the rest as the spec or one of its
    layer tables switches them on."""
    layers = [p] + [params.layer_params(p, int(k)) for k in p.layers]
    k = {"read": compute.read_any_size}
    if p.training_mode == "hardware-aware":
        k.update(program_noise=noise_models.program_noise, age_noise=noise_models.age_noise)
        if any(lp.hwa_noise_scale > 0 for lp in layers):
            k["prog_sigmas"] = noise_models.prog_sigmas
        if any(lp.modifier.type != "none" or lp.modifier.pdrop > 0 for lp in layers):
            k["modify_weights"] = hwa.modify_weights
        return k
    if p.training_mode == "hybrid":
        k["pulse_counts"] = pulsed.apply_counts
    else:
        k["pulse_batch"] = pulsed.pulse_batch
        if any(lp.transfer.algorithm != "none" for lp in layers):
            k["transfer_batch"] = transfer.transfer_batch
        if any(lp.transfer.algorithm != "none" or lp.pulsed.one_sided.enabled for lp in layers):
            k["read_row"] = transfer.read_row
    if any(lp.pulsed.lifetime > 0 for lp in layers):
        k["pulse_decay"] = pulsed.decay
    return k


@hookimpl(trylast=True)
def xpusim_cost_kernels(spec):
    if spec.backend != BACKEND:
        return None
    p = spec.params
    per_layer = {int(k): cost.pack(params.layer_params(p, int(k))) for k in p.layers}
    return CostModel(price=cost.price, params=cost.pack(p), components=cost.COMPONENTS,
                     layer_params=per_layer,
                     extras=cost.EXTRAS, static_power_w=p.static_power_w,
                     price_usd_per_hour=p.price_usd_per_hour, summarize=partial(cost.summarize,
                                                            tiles_on_chip=p.tile.tiles_on_chip),
                     boundary="device: one analog chip (tiles + periphery); host excluded")
