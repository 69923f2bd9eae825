"""The one place a backend's cost kernel is called: trace columns in, checked costs out.

Functional runs (through ``ledger.price``), LLM-scale estimates, ``xpusim price`` and the
conformance checks all price rows here, so every caller gets the same checks: a row the
kernel cannot price is a ``CostError`` naming it, and no negative, NaN or infinite time or
energy gets through. The core adds the one cost every backend shares, static power x time.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numba
import numpy as np

from .errors import CostError
from .formats import FORMATS
from .kernels import GEOMETRY_COLUMNS, STANDARD_COLUMNS, CostModel
from .trace import PHASES, PRIMITIVES

KERNEL_COLUMNS = STANDARD_COLUMNS + GEOMETRY_COLUMNS
_DTYPES = {"phase": np.int8, "primitive": np.int8, "m": np.int64, "n": np.int64,
           "k": np.int64, "bits": np.int16, "fmt": np.int16, "count": np.int64,
           "activity": np.float64, "samples": np.int64, "inputs": np.int64}
SMALL_CALL_ROWS = 2000
"""Below this many rows the kernel runs on one thread (same results; thread start-up would
cost more than the work)."""


@attrs.frozen(eq=False)
class PricedRows:
    """Per-row costs: ``time_s`` (n,), ``dynamic_j`` (n x components), ``static_j`` (n,),
    ``extras`` (n x extras); rows with ``count == 0`` cost nothing."""

    time_s: np.ndarray
    dynamic_j: np.ndarray
    static_j: np.ndarray
    extras: np.ndarray

    @property
    def energy_j(self) -> np.ndarray:
        """Total energy per row (dynamic components + static)."""
        return self.dynamic_j.sum(axis=1) + self.static_j


def _column(cols: Mapping[str, np.ndarray], name: str, n: int) -> np.ndarray:
    if name in cols:
        return np.ascontiguousarray(np.asarray(cols[name]).reshape(-1), dtype=_DTYPES[name])
    default = {"count": 1, "activity": 1.0}.get(name, 0)
    return np.full(n, default, dtype=_DTYPES[name])


def _row_groups(layers, n: int, cost: CostModel):
    """(row indices, or None for all rows; params) to price: the rows of layers that have
    their own ``cost.layer_params`` (per-layer spec settings), then the rest with ``params``."""
    if not cost.layer_params or layers is None or n == 0:
        return [(None, cost.params)]
    layers = np.asarray(layers).reshape(-1)
    special = [lid for lid in cost.layer_params if (layers == lid).any()]
    if not special:
        return [(None, cost.params)]
    groups = [(np.flatnonzero(layers == lid), cost.layer_params[lid]) for lid in special]
    rest = np.flatnonzero(~np.isin(layers, special))
    return groups + ([(rest, cost.params)] if rest.size else [])


def price_columns(cost: CostModel, cols: Mapping[str, np.ndarray],
                  spec_name: str = "?") -> PricedRows:
    """Price every row of ``cols`` (trace columns, any shape, flattened) with ``cost``.

    Rows of a layer with its own ``cost.layer_params`` (needs a ``layer`` column) are priced
    with those. Raises ``CostError`` naming the first row the kernel cannot price (time -1) or
    prices with a negative or non-finite time, energy or counter.
    """
    n = int(np.asarray(cols["m"]).size)
    args = [_column(cols, c, n) for c in cost.columns]
    time_s = np.zeros(n)
    dyn = np.zeros((n, len(cost.components)))
    extras = np.zeros((n, len(cost.extras)))
    threads = numba.get_num_threads()
    single = n < SMALL_CALL_ROWS and threads > 1
    if single:
        numba.set_num_threads(1)
    try:
        for rows, params in _row_groups(cols.get("layer"), n, cost):
            if rows is None:
                cost.price(*args, params, time_s, dyn, extras)
                continue
            t, e, x = np.zeros(rows.size), np.zeros((rows.size, dyn.shape[1])), \
                np.zeros((rows.size, extras.shape[1]))
            cost.price(*(a[rows] for a in args), params, t, e, x)
            time_s[rows], dyn[rows], extras[rows] = t, e, x
    finally:
        if single:
            numba.set_num_threads(threads)
    absent = args[cost.columns.index("count")] == 0
    time_s[absent], dyn[absent], extras[absent] = 0.0, 0.0, 0.0
    bad = ~((time_s >= 0.0) & np.isfinite(time_s)) | \
        ~(np.isfinite(dyn) & (dyn >= 0.0)).all(axis=1) | ~np.isfinite(extras).all(axis=1)
    if bad.any():
        _refuse(cost, args, time_s, int(np.flatnonzero(bad)[0]), spec_name)
    return PricedRows(time_s=time_s, dynamic_j=dyn, static_j=time_s * cost.static_power_w,
                      extras=extras)


def _refuse(cost: CostModel, args: list[np.ndarray], time_s: np.ndarray, i: int,
            spec_name: str) -> None:
    c = dict(zip(cost.columns, args))
    code = int(c["fmt"][i])
    fmt = FORMATS.name(code) if 0 <= code < len(FORMATS) else f"code {code}"
    why = "cannot price it" if time_s[i] == -1.0 else \
        "returned a negative or non-finite cost"
    raise CostError(f"spec {spec_name!r} ({cost.provider or 'backend'}) {why}: primitive "
                    f"{PRIMITIVES[int(c['primitive'][i])]!r} in format {fmt!r} (phase "
                    f"{PHASES[int(c['phase'][i])]}, m,n,k={c['m'][i]},{c['n'][i]},{c['k'][i]}, "
                    f"{c['bits'][i]} bits)")
