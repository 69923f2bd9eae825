"""Neuromorphic (Loihi-like) chip parameters. Units in the names; see the spec TOMLs' [source]."""

from __future__ import annotations

from typing import Literal

import attrs

from xpusim.core.specs import check, option, quantity


@attrs.frozen(kw_only=True)
class EventEnergy:
    """Energy per event of the chip's pipelines (Loihi: Davies et al. 2018, Table 2)."""

    synop_pj: float = quantity(unit="pJ", doc="one synaptic spike operation (per fan-out)", ge=0)
    synaptic_update_pj: float = quantity(unit="pJ", doc="one learning-engine synapse update", ge=0)
    neuron_update_pj: float = quantity(unit="pJ", doc="one compartment update of an active neuron",
                                       ge=0)
    spike_route_pj: float = quantity(unit="pJ", doc="routing one spike message to one core", ge=0)


@attrs.frozen(kw_only=True)
class EventTime:
    """Time per event of one core's pipelines, and the per-timestep barrier."""

    synop_ns: float = quantity(unit="ns", doc="synaptic op, one core", gt=0)
    synaptic_update_ns: float = quantity(unit="ns", doc="synapse update, one core", gt=0)
    neuron_update_ns: float = quantity(unit="ns", doc="neuron update, one core", gt=0)
    timestep_sync_ns: float = quantity(unit="ns", doc="barrier synchronisation per timestep", ge=0)


@attrs.frozen(kw_only=True)
class Cores:
    """The mesh of neuro-cores."""

    cores: int = quantity(unit="cores", doc="neuro-cores on the chip (Loihi: 128)", gt=0,
                          le=1 << 20)
    neurons_per_core: int = quantity(unit="neurons", doc="compartments per core (Loihi: 1024)",
                                     gt=0, le=1 << 20)
    synapse_memory_kib: float = quantity(unit="KiB", doc="synaptic memory per core (weights of "
                                         "weight_bits each)", gt=0)


@attrs.frozen(kw_only=True)
class NeuromorphicParams:
    """A local-learning spiking chip: fixed-point synapses, spike-coded activity, on-chip rule."""

    weight_bits: int = quantity(unit="bits", doc="signed synaptic weight width", ge=2, le=16)
    weight_headroom: float = quantity(
        unit="1", doc="weight range reserved above the initial largest |w| (growth room)", ge=1)
    coding: Literal["rate", "graded"] = option(
        doc="rate: spike counts over `timesteps`; graded: one spike with a `graded_bits` payload")
    timesteps: int = quantity(unit="steps", doc="timesteps per sample (rate coding)", ge=1,
                              le=1 << 16)
    graded_bits: int = quantity(unit="bits", doc="spike payload width (graded coding)", ge=1,
                                le=32)
    threshold: float = quantity(unit="1", doc="firing threshold, relative to the layer's input "
                                              "scale: higher = sparser, coarser", gt=0)
    trace_bits: int = quantity(unit="bits", doc="learning-engine trace magnitude (unsigned; the "
                                                 "sign rides on a second channel)", ge=2, le=16)
    accumulator_bits: int = quantity(unit="bits", doc="compartment current width (saturating)",
                                     ge=8, le=32)
    energy: EventEnergy
    time: EventTime
    mesh: Cores
    static_power_w: float = quantity(unit="W", doc="chip power drawn whatever runs", ge=0)
    price_usd_per_hour: float = quantity(unit="USD/h", doc="amortised cost per chip-hour", ge=0)
    process_nm: float = quantity(unit="nm", doc="process node", gt=0)

    def __attrs_post_init__(self) -> None:
        check(self.accumulator_bits >= self.weight_bits + 4, "accumulator_bits",
              f"must be at least weight_bits + 4 ({self.weight_bits + 4}) to sum spikes, "
              f"found {self.accumulator_bits}")

    @property
    def steps(self) -> int:
        """Timesteps a sample occupies: ``timesteps`` for rate coding, 1 for graded spikes."""
        return self.timesteps if self.coding == "rate" else 1

    @property
    def levels(self) -> int:
        """Largest spike count (rate) or payload (graded) an input can carry."""
        return self.timesteps if self.coding == "rate" else 2 ** self.graded_bits - 1
