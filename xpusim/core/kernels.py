"""What a backend hands the core: compute kernels for numerics, a cost model for prices.

Both are resolved once per run through the firstresult hooks ``xpusim_compute_kernels`` and
``xpusim_cost_kernels``; the hot loop only calls what they hold.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs
import numpy as np

from .errors import PluginError


def load(ref: Any) -> Any:
    """``ref`` itself, or the object a ``"package.module:name"`` reference names.

    Kernels may be handed to the core by where they live, so that registering a backend,
    loading its specs or listing who supplies its kernels imports no numba (about 0.3 s);
    the module is imported when a kernel is first used.
    """
    if not isinstance(ref, str):
        return ref
    module, sep, name = ref.partition(":")
    if not (sep and module and name):
        raise PluginError(f"kernel reference {ref!r}: expected 'package.module:name'")
    try:
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"kernel reference {ref!r} cannot be loaded: "
                          f"{type(exc).__name__}: {exc}") from exc
    return obj


class KernelSet:
    """Named compute kernels (usually numba ``@njit`` functions) for one spec.

    Read them as attributes (``kernels.mvm``) or by name (``kernels["mvm"]``). A kernel may be
    given as a ``"package.module:name"`` reference, loaded when it is first read (see
    ``load``). To override one kernel of an existing backend, return
    ``base.replace(adc=my_adc)`` from a ``tryfirst`` hook. ``provider`` names the plugin that
    returned the set and ``provider_of(name)`` the plugin that supplied each kernel (both
    filled in by the plugin manager).
    """

    __slots__ = ("_kernels", "_loaded", "_providers", "provider")

    def __init__(self, provider: str = "", providers: Mapping[str, str] | None = None,
                 **kernels: Callable[..., Any] | str):
        object.__setattr__(self, "_kernels", MappingProxyType(dict(kernels)))
        object.__setattr__(self, "_loaded", {})
        object.__setattr__(self, "_providers", MappingProxyType(
            {name: (providers or {}).get(name, "") for name in kernels}))
        object.__setattr__(self, "provider", provider)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"kernel set has no kernel {name!r} "
                                 f"(has: {', '.join(sorted(self._kernels))})") from None

    def __getitem__(self, name: str) -> Callable[..., Any]:
        loaded = self._loaded.get(name)
        if loaded is None:
            loaded = self._loaded[name] = load(self._kernels[name])
        return loaded

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("KernelSet is immutable; use .replace(...)")

    def __contains__(self, name: str) -> bool:
        return name in self._kernels

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._kernels))

    def as_dict(self) -> Mapping[str, Callable[..., Any]]:
        """Every kernel by name (references loaded)."""
        return MappingProxyType({name: self[name] for name in self._kernels})

    def refs(self) -> Mapping[str, Callable[..., Any] | str]:
        """Every kernel by name as given: functions, or references not loaded yet."""
        return self._kernels

    def provider_of(self, name: str) -> str:
        """The plugin that supplied kernel ``name``."""
        return self._providers[name]

    def replace(self, **kernels: Callable[..., Any] | str) -> KernelSet:
        """A copy with some kernels swapped (what an override plugin returns)."""
        providers = {**self._providers, **{name: "" for name in kernels}}
        return KernelSet(self.provider, providers, **{**self._kernels, **kernels})

    def stamped(self, plugin: str) -> KernelSet:
        """This set as returned by ``plugin``: kernels of unknown origin are attributed to it."""
        providers = {name: who or plugin for name, who in self._providers.items()}
        return KernelSet(plugin, providers, **self._kernels)

    def __repr__(self) -> str:
        return f"KernelSet({', '.join(self.names)}; provider={self.provider!r})"


STANDARD_COLUMNS = ("phase", "primitive", "m", "n", "k", "bits", "fmt", "count", "activity")
"""The trace columns a cost kernel takes, in order, unless its ``CostModel.columns`` asks for
more (``GEOMETRY_COLUMNS``)."""
GEOMETRY_COLUMNS = ("samples", "inputs")
"""Trace columns saying how a product's rows map onto inputs (see ``xpusim.core.trace``):
kernels that price convolutions by the image, or spiking chips by the sample, take them."""

PriceKernel = Callable[..., None]
"""Signature of a cost kernel (numba ``@njit``; one ``prange`` iteration per row)::

    price(phase, primitive, m, n, k, bits, fmt, count, activity,   # trace columns
          [samples, inputs,]                                       # when CostModel.columns has
          params,                                                  # float64 vector
          time_s, energy_j, extras)                                # outputs, caller-allocated

``time_s[i]`` is the row's time in seconds (all ``count`` repetitions), or -1.0 when the
backend cannot price that primitive (the core turns this into a ``CostError``).
``energy_j[i, c]`` is the energy in joules of component ``components[c]``; the core adds
static power x time itself. ``extras[i, e]`` holds backend-specific counters (cycles, bytes
per memory level, ADC conversions, ...), named by ``extras``.
"""


@attrs.frozen
class CostModel:
    """A backend's pricing of a trace on one spec.

    Attributes:
        price: the cost kernel (see ``PriceKernel``), or a ``"package.module:name"``
            reference to it, loaded on first use (see ``load``).
        params: the spec's numbers as a float64 vector, in the order ``price`` expects.
        components: names of the dynamic energy columns ``price`` fills.
        extras: names of the counter columns ``price`` fills (units in the names).
        static_power_w: power drawn whatever runs, W; the core charges it over row time.
        price_usd_per_hour: money per device-hour (rental or amortised purchase).
        boundary: what the cost covers, e.g. ``"device: chip + HBM"`` (never implicit).
        provider: the plugin that supplied it (filled in by the plugin manager).
        summarize: optional ``f(totals) -> dict`` deriving ratios (utilization, TOPS/W, ...)
            from summed ``extras`` plus ``time_s`` and ``energy_j``, for ``xpusim price``.
        columns: the trace columns ``price`` takes, in order: ``STANDARD_COLUMNS``, or with
            ``GEOMETRY_COLUMNS`` after them.
        layer_params: optional ``{layer id: params vector}`` for layers whose spec numbers
            differ (per-layer settings); rows of other layers are priced with ``params``.
    """

    _price: PriceKernel | str = attrs.field(alias="price")
    params: np.ndarray = attrs.field(converter=lambda a: np.ascontiguousarray(a, dtype=np.float64))
    components: tuple[str, ...] = attrs.field(converter=tuple)
    extras: tuple[str, ...] = attrs.field(converter=tuple, default=())
    static_power_w: float = 0.0
    price_usd_per_hour: float = 0.0
    boundary: str = "device"
    provider: str = ""
    summarize: Callable[[dict[str, float]], dict[str, float]] | None = None
    columns: tuple[str, ...] = attrs.field(default=STANDARD_COLUMNS, converter=tuple)
    layer_params: Mapping[int, np.ndarray] = attrs.field(
        factory=dict, converter=lambda d: {int(k): np.ascontiguousarray(v, dtype=np.float64)
                                           for k, v in d.items()})

    @columns.validator
    def _check_columns(self, _attribute: Any, value: tuple[str, ...]) -> None:
        if value not in (STANDARD_COLUMNS, STANDARD_COLUMNS + GEOMETRY_COLUMNS):
            raise ValueError(f"CostModel.columns must be STANDARD_COLUMNS, optionally followed "
                             f"by GEOMETRY_COLUMNS, found {value}")

    @property
    def price(self) -> PriceKernel:
        """The cost kernel (its module imported now if it was given by reference)."""
        return load(self._price)


@attrs.frozen
class Twin:
    """A numba kernel, its independent NumPy reference twin, and how to test them.

    ``make_args(rng)`` returns a list of fresh arguments (arrays the kernels fill count as
    outputs). The twin test calls both on copies and compares every array argument and the
    return values: exactly when ``rtol == atol == 0`` (rounding emulation), else with
    ``numpy.testing.assert_allclose(rtol, atol)`` and ``why`` stating the reason.
    """

    kernel: Callable[..., Any]
    reference: Callable[..., Any]
    make_args: Callable[[np.random.Generator], list[Any]]
    rtol: float = 0.0
    atol: float = 0.0
    why: str = "bit-exact emulation"


COST_FASTMATH = {"nsz"}
"""The one fastmath flag set cost kernels may use (``@njit(fastmath=COST_FASTMATH)``), safe in
kernels that take ceilings, floors or rounded counts (tiles, folds, cores): no ``arcp``
(x / y becomes x * (1 / y), which can land above an exact integer quotient, so a ceiling
counts one tile or core too many), no ``contract`` (fused multiply-adds round differently from
the NumPy twin, which moves values across a ceiling), no ``afn`` (approximate functions), no
``reassoc`` (sums stay in a fixed order), no ``nnan``/``ninf`` (unpriceable rows are flagged
with -1 and must stay visible). ``tests/meta/test_house_rules.py`` enforces it. Compute
kernels use no fastmath at all."""
