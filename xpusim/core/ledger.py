"""Pricing a trace: the backend's cost kernel per row, then breakdowns by phase/layer/component.

The core adds the one cost every backend shares, static power x time, as the ``static``
component, and turns device time into money. A row the kernel cannot price is a ``CostError``.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from .kernels import CostModel
from .pricing import price_columns
from .trace import PHASES, PRIMITIVES, Trace

STATIC = "static"


@attrs.frozen
class Ledger:
    """Time, energy and money of a priced trace, per row and aggregated.

    ``energy_j`` has one column per name in ``components`` (the backend's, then ``static``).
    """

    trace: Trace
    time_s: np.ndarray
    energy_j: np.ndarray
    extras: np.ndarray
    components: tuple[str, ...]
    extra_names: tuple[str, ...]
    price_usd_per_hour: float
    boundary: str

    @property
    def total_time_s(self) -> float:
        return float(self.time_s.sum())

    @property
    def total_energy_j(self) -> float:
        return float(self.energy_j.sum())

    @property
    def total_money_usd(self) -> float:
        return self.total_time_s / 3600.0 * self.price_usd_per_hour

    def by_component(self) -> dict[str, float]:
        """Energy in joules per component, summed over rows."""
        sums = self.energy_j.sum(axis=0)
        return {c: float(s) for c, s in zip(self.components, sums)}

    def _grouped(self, keys: np.ndarray, names) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        row_energy = self.energy_j.sum(axis=1)
        for key in np.unique(keys):
            sel = keys == key
            out[names(int(key))] = {"time_s": float(self.time_s[sel].sum()),
                                    "energy_j": float(row_energy[sel].sum())}
        return out

    def by_phase(self) -> dict[str, dict[str, float]]:
        return self._grouped(self.trace.column("phase"), lambda i: PHASES[i])

    def by_layer(self) -> dict[str, dict[str, float]]:
        return self._grouped(self.trace.column("layer"), lambda i: str(i))

    def by_primitive(self) -> dict[str, dict[str, float]]:
        return self._grouped(self.trace.column("primitive"), lambda i: PRIMITIVES[i])

    def extra_totals(self) -> dict[str, float]:
        sums = self.extras.sum(axis=0) if len(self.extra_names) else []
        return {n: float(s) for n, s in zip(self.extra_names, sums)}

    def scaled(self, factor: float) -> dict[str, Any]:
        """Totals multiplied by ``factor`` (e.g. 1/samples for a per-sample cost)."""
        return {
            "time_s": self.total_time_s * factor,
            "energy_j": self.total_energy_j * factor,
            "money_usd": self.total_money_usd * factor,
            "energy_by_component_j": {c: e * factor for c, e in self.by_component().items()},
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready totals and breakdowns (units in the key names)."""
        return {
            "time_s": self.total_time_s,
            "energy_j": self.total_energy_j,
            "money_usd": self.total_money_usd,
            "cost_boundary": self.boundary,
            "energy_by_component_j": self.by_component(),
            "by_phase": self.by_phase(),
            "by_layer": self.by_layer(),
            "by_primitive": self.by_primitive(),
            "counters": self.extra_totals(),
        }


def price(trace: Trace, cost: CostModel, spec_name: str = "?") -> Ledger:
    """Price every row of ``trace`` with ``cost`` (``pricing.price_columns``: a ``CostError``
    on rows the backend cannot price) and keep the per-row costs for breakdowns."""
    rows = price_columns(cost, trace.columns(), spec_name)
    return Ledger(trace=trace, time_s=rows.time_s,
                  energy_j=np.hstack([rows.dynamic_j, rows.static_j[:, None]]),
                  extras=rows.extras, components=(*cost.components, STATIC),
                  extra_names=cost.extras, price_usd_per_hour=cost.price_usd_per_hour,
                  boundary=cost.boundary)
