"""Helpers for writing the twin of a cost kernel: random trace rows to price
(``price_twin``), and the kernel's arguments as a vectorised NumPy twin reads and writes them
(``TraceRows``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from xpusim.core.formats import FORMATS
from xpusim.core.kernels import Twin
from xpusim.core.trace import PHASES, PRIMITIVE, PRIMITIVES

__all__ = ["TraceRows", "geometry", "jitter", "price_args", "price_twin", "spec_params"]


class TraceRows:
    """A cost kernel's arguments as its NumPy twin uses them.

    ``TraceRows(*args)`` takes ``price``'s thirteen arguments: ``m``, ``n``, ``k`` and
    ``count`` become float arrays, ``bytes`` is ``bits / 8``; ``of("mvm", "mvm_t")`` is the
    mask of rows of those primitives; ``store(time, priced, energy, extras)`` writes per-row
    values for one repetition into the caller's outputs, times ``count``, with time -1 (and
    nothing else) on rows that are not ``priced``.
    """

    def __init__(self, phase: np.ndarray, primitive: np.ndarray, m: np.ndarray, n: np.ndarray,
                 k: np.ndarray, bits: np.ndarray, fmt: np.ndarray, count: np.ndarray,
                 activity: np.ndarray, params: np.ndarray, time_s: np.ndarray,
                 energy_j: np.ndarray, extras: np.ndarray):
        self.phase, self.primitive, self.fmt, self.params = phase, primitive, fmt, params
        self.m, self.n, self.k = (np.asarray(a, dtype=np.float64) for a in (m, n, k))
        self.bits = np.asarray(bits, dtype=np.float64)
        self.bytes = self.bits / 8.0
        self.count = np.asarray(count, dtype=np.float64)
        self.activity = np.asarray(activity, dtype=np.float64)
        self._out = (time_s, energy_j, extras)

    def __len__(self) -> int:
        return len(self.m)

    def of(self, *primitives: str) -> np.ndarray:
        """Mask of the rows whose primitive is one of ``primitives`` (names)."""
        return np.isin(self.primitive, [PRIMITIVE[p] for p in primitives])

    def store(self, time: Any, priced: Any, energy: Sequence[Any] = (),
              extras: Sequence[Any] = ()) -> None:
        """Write one repetition's time, energy per component and counters per row, x count;
        rows not ``priced`` get time -1 and zeros."""
        time_s, energy_j, extras_out = self._out
        priced = np.broadcast_to(np.asarray(priced, dtype=bool), (len(self),))
        time_s[:] = np.where(priced, np.asarray(time, dtype=np.float64) * self.count, -1.0)
        for out, columns in ((energy_j, energy), (extras_out, extras)):
            if len(columns) != out.shape[1]:
                raise ValueError(f"store: {len(columns)} columns given, the kernel fills "
                                 f"{out.shape[1]}")
            for c, value in enumerate(columns):
                out[:, c] = np.where(priced, np.asarray(value, dtype=np.float64) * self.count,
                                     0.0)


def spec_params(backend: Any) -> Any:
    """The params of the first spec file of a ``HardwareBackend`` (its spec folder), loaded
    without a plugin manager (twins run where no manager is at hand)."""
    from xpusim.core.specs import read_toml, spec_from_dict

    for folder in backend.spec_dirs():
        for path in sorted(folder.glob("*.toml")):
            raw = read_toml(path)
            if raw.get("backend") == backend.name:
                return spec_from_dict(raw, lambda _b: backend.params, where=path.name).params
    raise LookupError(f"backend {backend.name!r}: no spec file in {backend.spec_dirs()}")


def jitter(vector: np.ndarray, rng: np.random.Generator, spread: float = 8.0) -> np.ndarray:
    """``vector`` with each entry scaled by a random factor in [1/spread, spread]: zeros stay
    zero, whole numbers >= 1 (array sizes, tile counts) stay whole and >= 1."""
    v = np.asarray(vector, dtype=np.float64)
    f = spread ** rng.uniform(-1.0, 1.0, v.shape)
    whole = (v >= 1.0) & (v == np.round(v))
    return np.where(whole, np.maximum(1.0, np.round(v * f)), v * f)


def geometry(rng: np.random.Generator, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Random ``samples`` and ``inputs`` columns: about half the rows 0 (not given), the others
    as a convolution records them."""
    given = rng.random(rows) < 0.5
    samples = np.where(given, rng.integers(1, 64, rows), 0).astype(np.int64)
    inputs = np.where(given, rng.integers(1, 200000, rows), 0).astype(np.int64)
    return samples, inputs


def price_args(rng: np.random.Generator, params: np.ndarray, components: int, extras: int, *,
               rows: int = 300, dims: tuple[int, int] = (1, 3000),
               bits: Sequence[int] = (1, 2, 4, 8, 16, 32), counts: tuple[int, int] = (1, 50)
               ) -> list[Any]:
    """Fresh arguments for a cost kernel: up to ``rows`` random trace rows (every phase,
    primitive and registered format, sizes in ``dims``), ``params``, zeroed outputs."""
    r = int(rng.integers(0, rows + 1))
    cols = [rng.integers(0, len(PHASES), r).astype(np.int8),
            rng.integers(0, len(PRIMITIVES), r).astype(np.int8),
            *(rng.integers(dims[0], dims[1], r).astype(np.int64) for _ in range(3)),
            rng.choice(np.asarray(bits), r).astype(np.int16),
            rng.integers(0, len(FORMATS), r).astype(np.int16),
            rng.integers(counts[0], counts[1], r).astype(np.int64), rng.random(r)]
    return [*cols, np.array(params, dtype=np.float64), np.zeros(r), np.zeros((r, components)),
            np.zeros((r, extras))]


def price_twin(kernel: Callable[..., Any], reference: Callable[..., Any], backend: Any, *,
               params: Callable[[np.random.Generator], np.ndarray] | None = None,
               rtol: float = 1e-12, atol: float = 0.0,
               why: str = "same formulas; float operations ordered differently",
               **options: Any) -> Twin:
    """The ``Twin`` of a ``HardwareBackend``'s cost kernel: random rows (``price_args``) priced
    with its first spec's numbers, each entry jittered (``jitter``) per draw, or with
    ``params(rng)`` when given (vectors holding flags or codes)."""
    def make_args(rng: np.random.Generator) -> list[Any]:
        vector = params(rng) if params is not None else \
            jitter(backend.cost_params.pack(spec_params(backend)), rng)
        return price_args(rng, vector, len(backend.components), len(backend.extras), **options)

    return Twin(kernel, reference, make_args, rtol=rtol, atol=atol, why=why)
