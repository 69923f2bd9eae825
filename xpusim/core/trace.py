"""The hardware-neutral op trace: one row per primitive a run asked for.

Columns are growable numpy arrays so cost kernels can price a whole trace in one call.
Shapes follow one rule for every GEMM-like primitive: an (m x k) . (k x n) product
(``update`` reduces over the batch ``m`` to a k x n weight change). For ``elementwise`` and
``reduce`` rows, ``m`` is the number of elements, ``n`` the number of arrays read or written
(each of ``m`` elements of ``bits`` bits) and ``k`` the arithmetic operations per element.
``activity`` is the mean fraction of input elements that carry an event (1.0 = dense); event-
driven hardware prices by it, dense hardware ignores it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .formats import FORMATS, format_code  # noqa: F401 - FORMATS re-exported

PHASES: tuple[str, ...] = ("train-forward", "train-backward", "train-update", "inference", "deploy")
"""Phases. ``deploy``: one-time work to put trained weights on the serving device."""

PRIMITIVES: tuple[str, ...] = ("mvm", "mvm_t", "update", "elementwise", "reduce", "write",
                               "matmul")
"""The closed vocabulary of primitives (see docs/concepts.md). ``write``: weights written into
device storage (m=1, k x n weights) -- programming cost on analog, a copy elsewhere.
``matmul``: a product of two activations (attention's Q.Kᵀ and P.V), (m x k).(k x n) per
product, ``count`` products."""

PHASE = {name: i for i, name in enumerate(PHASES)}
PRIMITIVE = {name: i for i, name in enumerate(PRIMITIVES)}
GEMM_PRIMITIVES: tuple[str, ...] = ("mvm", "mvm_t", "update", "matmul")
"""Primitives that are (m x k).(k x n) products: their MACs are m x n x k x count."""

_COLUMNS: dict[str, Any] = {
    "phase": np.int8, "layer": np.int32, "primitive": np.int8,
    "m": np.int64, "n": np.int64, "k": np.int64,
    "bits": np.int16, "fmt": np.int16, "count": np.int64, "activity": np.float64,
}


class Trace:
    """A growable struct-of-arrays record of primitives (see module docstring for shapes)."""

    COLUMNS = tuple(_COLUMNS)

    def __init__(self, capacity: int = 256):
        self._cols = {c: np.zeros(capacity, dtype=t) for c, t in _COLUMNS.items()}
        self._n = 0
        self.enabled = True

    def __len__(self) -> int:
        return self._n

    def add(self, phase: str, layer: int, primitive: str, m: int, n: int, k: int,
            bits: int, fmt: str, count: int = 1, activity: float = 1.0) -> None:
        """Append one row (a no-op while ``enabled`` is False, e.g. during evaluation)."""
        if not self.enabled:
            return
        if self._n == len(self._cols["phase"]):
            self._grow()
        i = self._n
        c = self._cols
        c["phase"][i] = PHASE[phase]
        c["layer"][i] = layer
        c["primitive"][i] = PRIMITIVE[primitive]
        c["m"][i], c["n"][i], c["k"][i] = m, n, k
        c["bits"][i] = bits
        c["fmt"][i] = format_code(fmt)
        c["count"][i] = count
        c["activity"][i] = activity
        self._n += 1

    def _grow(self) -> None:
        for name, arr in self._cols.items():
            new = np.zeros(max(2 * len(arr), 16), dtype=arr.dtype)
            new[: len(arr)] = arr
            self._cols[name] = new

    def column(self, name: str) -> np.ndarray:
        """A view of one column, trimmed to the rows recorded."""
        return self._cols[name][: self._n]

    def columns(self) -> dict[str, np.ndarray]:
        """All columns, trimmed views."""
        return {c: self.column(c) for c in self.COLUMNS}

    @classmethod
    def from_columns(cls, cols: Mapping[str, Iterable]) -> Trace:
        """Build a trace from column arrays (names as ``Trace.COLUMNS``; missing ones default)."""
        arrays = {c: np.asarray(cols[c], dtype=t) for c, t in _COLUMNS.items() if c in cols}
        n = len(next(iter(arrays.values()))) if arrays else 0
        t = cls(capacity=max(n, 1))
        defaults = {"count": 1, "activity": 1.0}
        for c, dtype in _COLUMNS.items():
            t._cols[c][:n] = arrays.get(c, np.full(n, defaults.get(c, 0), dtype=dtype))
        t._n = n
        return t

    def select(self, mask: np.ndarray) -> Trace:
        """The rows where ``mask`` is true, as a new trace."""
        return Trace.from_columns({c: a[mask] for c, a in self.columns().items()})

    def phase_mask(self, *phases: str) -> np.ndarray:
        """Boolean mask of rows in any of ``phases``."""
        return np.isin(self.column("phase"), [PHASE[p] for p in phases])

    def macs(self) -> np.ndarray:
        """Multiply-accumulates per row (GEMM-like primitives; zero for elementwise/reduce/write),
        as float64: an int64 product of m, n, k and count can overflow."""
        gemm = np.isin(self.column("primitive"), [PRIMITIVE[p] for p in GEMM_PRIMITIVES])
        return np.where(gemm, self.column("m").astype(np.float64) * self.column("n")
                        * self.column("k") * self.column("count"), 0.0)

    def summary(self) -> dict[str, Any]:
        """Row count and MACs per phase: a small, JSON-ready digest."""
        macs = self.macs()
        ph = self.column("phase")
        return {
            "rows": int(self._n),
            "macs_by_phase": {p: int(macs[ph == i].sum()) for i, p in enumerate(PHASES)
                              if (ph == i).any()},
        }
