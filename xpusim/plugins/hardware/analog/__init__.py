"""Analog in-memory-computing backend: crossbar tiles, DAC/ADC, PCM drift, in-situ pulses."""

from functools import partial

from xpusim import hookimpl
from xpusim.core import BackendInfo, CostModel, KernelSet
from xpusim.numerics import gauss
from xpusim.numerics.standard import STANDARD

from . import compute, cost, hwa, noise_models, params, pulsed, transfer
from .device import AnalogDevice
from .twins import TWINS  # noqa: F401  (kernel/twin pairs, exercised by tests/test_twins.py)

BACKEND = "analog"


@hookimpl
def xpusim_register_backends():
    return [BackendInfo(BACKEND, params=params.AnalogParams, device=AnalogDevice,
                        primitives={"mvm", "mvm_t", "update", "elementwise", "reduce", "write"},
                        doc="analog crossbars: DAC/ADC, PCM drift, hardware-aware/in-situ/hybrid",
                        formats=(cost.ANALOG, *STANDARD), capabilities=cost.capabilities)]


@hookimpl(trylast=True)
def xpusim_compute_kernels(spec):
    if spec.backend != BACKEND:
        return None
    return KernelSet(dac=compute.dac, periphery=compute.periphery, dac_serial=compute.dac_serial,
                     periphery_serial=compute.periphery_serial, normals=gauss.fill_normal,
                     normals_serial=gauss.fill_normal_serial, pulse_batch=pulsed.pulse_batch,
                     pulse_counts=pulsed.apply_counts, pulse_decay=pulsed.decay,
                     transfer_batch=transfer.transfer_batch, read_row=transfer.read_row,
                     program_noise=noise_models.program_noise, prog_sigmas=noise_models.prog_sigmas, age_noise=noise_models.age_noise,
                     modify_weights=hwa.modify_weights, read_small=compute.read_small)


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
