"""The numba-free half of the neuromorphic cost model: where the cost kernel (``cost.price``)
reads each spec number, the columns it fills, summary ratios and the spec's declared
capabilities. Listing specs and plugins imports only this."""

from __future__ import annotations

from typing import Any

from xpusim.core.backend import ParamVector
from xpusim.core.capabilities import Capabilities

COST_PARAMS = ParamVector(
    steps=lambda p: p.steps, e_synop="energy.synop_pj", e_update="energy.synaptic_update_pj",
    e_neuron="energy.neuron_update_pj", e_route="energy.spike_route_pj",
    t_synop="time.synop_ns", t_update="time.synaptic_update_ns",
    t_neuron="time.neuron_update_ns", t_sync="time.timestep_sync_ns", cores="mesh.cores",
    per_core="mesh.neurons_per_core")
"""The cost kernel's parameter vector (SI units: J, s)."""
COMPONENTS = ("synaptic_ops", "learning", "neurons", "routing")  # energy, J
EXTRAS = ("spikes", "synaptic_op_count", "synaptic_update_count", "neuron_update_count",
          "spike_messages", "timesteps")  # counters


def summarize(totals: dict[str, float], params: Any = None) -> dict[str, float]:
    """Synaptic ops per second and energy per synaptic op over the priced rows."""
    t, e = totals.get("time_s", 0.0), totals.get("energy_j", 0.0)
    synops = totals.get("synaptic_op_count", 0.0)
    return {"synaptic_ops_per_s": synops / t if t else 0.0,
            "pj_per_synaptic_op": e / synops * 1e12 if synops else 0.0}


def capabilities(spec: Any) -> Capabilities:
    """Synapses the mesh holds at ``weight_bits``; peak = every core doing synaptic ops
    (2 ops each, as a MAC), the bound of ``price`` for inputs of at most one event per
    element and timestep."""
    p = spec.params
    synapse_bits = p.mesh.cores * p.mesh.synapse_memory_kib * 8192.0
    peak = 2.0 * p.mesh.cores / (p.time.synop_ns * 1e-9)
    return Capabilities(
        peak_ops_per_s={"spike": peak}, weight_capacity=synapse_bits / p.weight_bits,
        notes=("peak counts synaptic ops (one per input event and fan-out target); sparse "
               "inputs do fewer ops per model MAC", "no off-chip memory: every weight and "
               "neuron state lives in the cores"))
