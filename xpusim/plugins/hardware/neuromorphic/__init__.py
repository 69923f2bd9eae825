"""Neuromorphic backend: a Loihi-like local-learning chip (spikes, fixed-point synapses,
event-driven cost, no transposed read of trained weights)."""

from xpusim import hookimpl
from xpusim.core import BackendInfo, CostModel, Format, KernelSet
from xpusim.numerics.standard import INTS

from . import compute, cost, params
from .device import NeuromorphicDevice
from .twins import TWINS  # noqa: F401  (kernel/twin pairs, exercised by tests/test_twins.py)

BACKEND = "neuromorphic"
SPIKE = Format("spike", None, "device", "spike events (rate: counts over timesteps; graded: a "
               "payload of the row's bits)")


def _summarize(totals: dict[str, float]) -> dict[str, float]:
    t, e = totals.get("time_s", 0.0), totals.get("energy_j", 0.0)
    synops = totals.get("synaptic_op_count", 0.0)
    return {"synaptic_ops_per_s": synops / t if t else 0.0,
            "pj_per_synaptic_op": e / synops * 1e12 if synops else 0.0}


@hookimpl
def xpusim_register_backends():
    return [BackendInfo(BACKEND, params=params.NeuromorphicParams, device=NeuromorphicDevice,
                        primitives={"mvm", "update", "elementwise", "reduce", "write"},
                        doc="Loihi-like spiking chip: on-chip local learning, event-driven cost",
                        optimizers={"sgd"}, capabilities=cost.capabilities,
                        formats=(*INTS, SPIKE))]


@hookimpl(trylast=True)
def xpusim_compute_kernels(spec):
    if spec.backend != BACKEND:
        return None
    return KernelSet(encode_rate=compute.encode_rate, encode_graded=compute.encode_graded,
                     quantize_trace=compute.quantize_trace, learn=compute.learn)


@hookimpl(trylast=True)
def xpusim_cost_kernels(spec):
    if spec.backend != BACKEND:
        return None
    p = spec.params
    return CostModel(price=cost.price, params=cost.pack(p), components=cost.COMPONENTS,
                     extras=cost.EXTRAS, static_power_w=p.static_power_w,
                     price_usd_per_hour=p.price_usd_per_hour, summarize=_summarize,
                     boundary="chip: one neuromorphic chip (cores + on-chip memory); host, "
                              "board and I/O excluded")
