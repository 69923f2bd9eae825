"""What a spec's hardware declares it can hold and do: the facts estimates and reports read.

The core never guesses hardware facts from parameter names; each backend turns its spec into
``Capabilities`` (``BackendInfo.capabilities``) and the LLM estimator, ``xpusim price`` and
``xpusim specs show`` read only these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs


def _positive_or_none(name: str):
    def check(_inst: Any, _attr: Any, value: float | None) -> None:
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError(f"capabilities: {name} must be a positive finite number or None, "
                             f"found {value!r}")
    return check


def _peaks(value: Mapping[str, float]) -> Mapping[str, float]:
    peaks = {str(k): float(v) for k, v in dict(value).items()}
    for name, v in peaks.items():
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"capabilities: peak_ops_per_s[{name!r}] must be a positive finite "
                             f"number, found {v!r}")
    return MappingProxyType(peaks)


@attrs.frozen
class Capabilities:
    """Declared facts about one spec's device (per device; SI units).

    Attributes:
        memory_bytes: capacity of the memory that holds weights, activations and optimizer
            state (HBM, DRAM); None when the device has none (weights live in the array).
        peak_ops_per_s: dense peak rate per compute format, in operations per second (two
            per multiply-accumulate), first the format the device computes in by default;
            the bound no priced product may beat.
        weight_capacity: weights the chip holds on-chip at once (crossbar cells over slices,
            synapses); None when weights stream from ``memory_bytes``.
        onchip_bytes: on-chip SRAM (buffers, caches) or None.
        format_settings: per format, the ``--set`` overrides that make the device compute in
            it (what an estimate applies to run a spec in mixed precision).
        optimizers: the run optimizers this spec's device applies, when that depends on the
            spec (an analog chip training by pulses applies plain SGD only); None: the
            backend's ``BackendInfo.optimizers``.
        notes: what a reader should know about these numbers (assumptions, boundaries).
    """

    memory_bytes: float | None = attrs.field(default=None,
                                             validator=_positive_or_none("memory_bytes"))
    peak_ops_per_s: Mapping[str, float] = attrs.field(factory=dict, converter=_peaks)
    weight_capacity: float | None = attrs.field(default=None,
                                                validator=_positive_or_none("weight_capacity"))
    onchip_bytes: float | None = attrs.field(default=None,
                                             validator=_positive_or_none("onchip_bytes"))
    format_settings: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=dict, converter=lambda d: MappingProxyType({str(k): tuple(v)
                                                            for k, v in dict(d).items()}))
    optimizers: frozenset[str] | None = attrs.field(
        default=None, converter=lambda v: None if v is None else frozenset(map(str, v)))
    notes: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    @property
    def formats(self) -> tuple[str, ...]:
        """Formats the device computes products in, default first."""
        return tuple(self.peak_ops_per_s)

    def peak(self, fmt: str) -> float | None:
        """Peak ops/s in ``fmt``, or None when the device does not compute in it."""
        return self.peak_ops_per_s.get(fmt)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``xpusim specs show``)."""
        return {"memory_bytes": self.memory_bytes,
                "peak_ops_per_s": dict(self.peak_ops_per_s),
                "weight_capacity": self.weight_capacity, "onchip_bytes": self.onchip_bytes,
                "format_settings": {k: list(v) for k, v in self.format_settings.items()},
                "optimizers": None if self.optimizers is None else sorted(self.optimizers),
                "notes": list(self.notes)}


NONE_DECLARED = Capabilities(notes=("the backend declares no capabilities",))
"""What a backend without a ``capabilities`` function gets: nothing can be checked."""
