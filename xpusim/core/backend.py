"""What every hardware plugin would otherwise write again: the cost kernel's parameter vector
(``ParamVector``), SI conversion from a key's unit (``si_factor``), and ``HardwareBackend``,
which declares a backend once and implements its four hooks.

``HardwareBackend`` hands the core its kernels by reference (``"package.module:name"``), so
registering the backend, loading and listing its specs and listing who supplies its kernels
import no numba; the kernel module is imported when a run or a price first needs it. The cost
kernel itself stays the plugin's own module-level ``@njit`` function: numba cannot cache a
kernel built by a factory around a plugin's row formula (numba#6264), so there is no generic
row loop to fill in.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from xpusim import hookimpl

from .capabilities import Capabilities
from .errors import PluginError
from .kernels import STANDARD_COLUMNS, CostModel, KernelSet
from .registry import BackendInfo

#: SI prefixes ``si_factor`` converts, before one of ``SI_UNITS``.
SI_PREFIXES = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "m": 1e-3, "k": 1e3,
               "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
#: Binary prefixes (``KiB``, ``GiB``).
BINARY_PREFIXES = {"Ki": 1024.0, "Mi": 2.0 ** 20, "Gi": 2.0 ** 30, "Ti": 2.0 ** 40}
#: Units whose prefixed forms are converted: seconds, hertz, joules, watts, bytes, operations.
SI_UNITS = ("s", "Hz", "J", "W", "B", "op", "OP", "FLOP")


def _token_factor(token: str) -> float:
    if token in SI_UNITS:
        return 1.0
    for prefixes in (BINARY_PREFIXES, SI_PREFIXES):
        for prefix, factor in prefixes.items():
            if token.startswith(prefix) and token[len(prefix):] in SI_UNITS:
                return factor
    return 1.0


def si_factor(unit: str) -> float:
    """The factor that takes a value in ``unit`` to SI units: ``pJ/MAC`` -> 1e-12 (J/MAC),
    ``GB/s`` -> 1e9, ``KiB`` -> 1024, ``us`` -> 1e-6, ``J/GB`` -> 1e-9.

    Prefixed seconds, hertz, joules, watts, bytes and operations (``SI_UNITS``) are converted;
    anything else (counts such as ``MAC/cycle`` or ``tiles``, ``nm``, ``USD/h``, ``1``) is
    taken as written.
    """
    factor = 1.0
    for i, token in enumerate(unit.split("/")):
        f = _token_factor(token.strip())
        factor = factor * f if i == 0 else factor / f
    return factor


def _unit_of(params: Any, path: str) -> tuple[Any, str]:
    """(value, unit) of the dotted key ``path`` of an attrs params object."""
    obj = params
    *tables, key = path.split(".")
    for table in tables:
        obj = getattr(obj, table)
    fields = attrs.fields_dict(type(obj)) if attrs.has(type(obj)) else {}
    if key not in fields or "unit" not in fields[key].metadata:
        raise PluginError(f"ParamVector: {type(params).__name__} has no key {path!r} declared "
                          f"with quantity(unit=...); give a function of the params instead")
    return getattr(obj, key), fields[key].metadata["unit"]


class ParamVector:
    """The float64 vector a cost kernel reads a spec's numbers from: its entries, in order,
    and how each comes from the params.

    ``ParamVector(rate=lambda p: p.macs_per_cycle * p.clock_ghz * 1e9, e_mac="mac_energy_pj")``:
    a string is a dotted key of the params class, converted to SI units by its declared unit
    (``si_factor``); a function of the params returns the value in SI units itself. The kernel
    module names the positions once, ``RATE, E_MAC = COST_PARAMS.indices``, and reads
    ``params[RATE]``; ``pack(params)`` builds the vector ``CostModel.params`` holds.
    """

    def __init__(self, **entries: str | Callable[[Any], float]):
        for name, how in entries.items():
            if not (isinstance(how, str) or callable(how)):
                raise TypeError(f"ParamVector entry {name!r}: expected a dotted key or a "
                                f"function of the params, found {how!r}")
        self.entries: Mapping[str, str | Callable[[Any], float]] = dict(entries)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.entries)

    @property
    def indices(self) -> tuple[int, ...]:
        """0, 1, ... in declaration order (unpack them into the kernel module's constants)."""
        return tuple(range(len(self.entries)))

    def index(self, name: str) -> int:
        return self.names.index(name)

    def __len__(self) -> int:
        return len(self.entries)

    def value(self, params: Any, name: str) -> float:
        """Entry ``name`` for ``params``, in SI units."""
        how = self.entries[name]
        if callable(how):
            value = float(how(params))
        else:
            raw, unit = _unit_of(params, how)
            factor = si_factor(unit)
            value = float(raw) if factor == 1.0 else raw * factor
        if not math.isfinite(value):
            raise PluginError(f"ParamVector entry {name!r} of {type(params).__name__} is "
                              f"{value!r}; cost parameters must be finite")
        return value

    def pack(self, params: Any) -> np.ndarray:
        """The vector for ``params`` (a backend's attrs params object), SI units."""
        return np.array([self.value(params, name) for name in self.entries], dtype=np.float64)

    def __repr__(self) -> str:
        return f"ParamVector({', '.join(self.names)})"


def _frozen(value: Any) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen(kw_only=True)
class HardwareBackend:
    """A hardware backend declared once; ``hooks()`` gives the four hook implementations.

    A plugin module (or package ``__init__``) declares it and binds its hooks::

        BACKEND = HardwareBackend(name="int8array", package=__name__, ...)
        (xpusim_register_backends, xpusim_spec_dirs, xpusim_compute_kernels,
         xpusim_cost_kernels) = BACKEND.hooks()

    pluggy registers them as the module's hooks (bound methods, marked like any ``@hookimpl``;
    the kernel hooks ``trylast``, so other plugins can override them).

    Attributes:
        name: the ``backend = "..."`` value of its spec files.
        package: the plugin's import name (``__name__``); the defaults below hang off it.
        params: the attrs parameter class; it has ``static_power_w`` (and may have
            ``price_usd_per_hour``), which the cost model charges.
        device: the ``Device`` subclass.
        primitives: the primitives its device supports natively.
        doc: one line for ``xpusim plugins``.
        compute: the compute kernels: names of functions in ``kernels``, a mapping name ->
            function or ``"module:name"`` reference, or ``f(spec) -> KernelSet`` for kernel
            sets that depend on the spec.
        cost_params: how ``CostModel.params`` comes from the spec: a ``ParamVector``, or
            ``f(params) -> np.ndarray``.
        components: the energy columns the cost kernel fills, in order.
        extras: the counter columns it fills (units in the names).
        boundary: what the cost covers (``"chip + DRAM; host excluded"``).
        capabilities: ``f(spec) -> Capabilities`` (see ``BackendInfo.capabilities``).
        formats: the number formats its device records (``Format``; standard ones are in
            ``xpusim.numerics.standard``).
        optimizers: the run optimizers its device can apply (None: all).
        summarize: ``f(totals, params) -> dict`` of derived ratios for ``xpusim price``.
        kernels: module holding the kernels (default ``{package}.kernels``), imported when
            a kernel is first used.
        price: the cost kernel (default ``{kernels}:price``).
        twins: the ``TWINS`` mapping the conformance suite compares (default
            ``{package}.twins:TWINS``), imported only by the suite.
        spec_dir: folder of its spec files (default: ``specs`` beside the package's
            ``__init__.py``).
        columns: the trace columns its cost kernel takes (``CostModel.columns``).
    """

    name: str
    package: str
    params: type
    device: type
    primitives: frozenset[str] = attrs.field(converter=_frozen)
    doc: str = ""
    compute: Iterable[str] | Mapping[str, Any] | Callable[[Any], KernelSet] = ()
    cost_params: ParamVector | Callable[[Any], np.ndarray]
    components: tuple[str, ...] = attrs.field(converter=tuple)
    extras: tuple[str, ...] = attrs.field(converter=tuple, default=())
    boundary: str
    capabilities: Callable[[Any], Capabilities] | None = None
    formats: tuple[Any, ...] = attrs.field(converter=tuple, default=())
    optimizers: frozenset[str] | None = None
    summarize: Callable[[dict[str, float], Any], dict[str, float]] | None = None
    kernels: str = attrs.field()
    price: str = attrs.field()
    twins: str = attrs.field()
    spec_dir: Path | None = None
    columns: tuple[str, ...] = attrs.field(default=STANDARD_COLUMNS, converter=tuple)

    @kernels.default
    def _kernels(self) -> str:
        return f"{self.package}.kernels"

    @price.default
    def _price(self) -> str:
        return f"{self.kernels}:price"

    @twins.default
    def _twins(self) -> str:
        return f"{self.package}.twins:TWINS"

    @cached_property
    def info(self) -> BackendInfo:
        """The ``BackendInfo`` it registers."""
        return BackendInfo(self.name, params=self.params, device=self.device,
                           primitives=self.primitives, doc=self.doc, optimizers=self.optimizers,
                           formats=self.formats, capabilities=self.capabilities,
                           twins=self.twins)

    def spec_dirs(self) -> list[Path]:
        """Its spec folder (``spec_dir``, or ``specs`` beside the package), if it exists."""
        folder = self.spec_dir
        if folder is None:
            module = sys.modules.get(self.package)
            where = getattr(module, "__file__", None)
            folder = Path(where).resolve().parent / "specs" if where else None
        return [Path(folder)] if folder is not None and Path(folder).is_dir() else []

    def kernel_set(self, spec: Any) -> KernelSet:
        """The compute kernels for ``spec`` (references: nothing is imported yet)."""
        if callable(self.compute):
            return self.compute(spec)
        if isinstance(self.compute, Mapping):
            return KernelSet(**self.compute)
        return KernelSet(**{name: f"{self.kernels}:{name}" for name in self.compute})

    def cost_model(self, spec: Any) -> CostModel:
        """The cost model for ``spec``: the cost kernel (by reference), the packed numbers,
        static power and price from the params."""
        p = spec.params
        if not hasattr(p, "static_power_w"):
            raise PluginError(f"backend {self.name!r}: {type(p).__name__} has no "
                              "static_power_w (W), which the cost model charges over time")
        pack = self.cost_params.pack if isinstance(self.cost_params, ParamVector) \
            else self.cost_params
        summarize = None if self.summarize is None else _Summary(self.summarize, p)
        return CostModel(price=self.price, params=pack(p), components=self.components,
                         extras=self.extras, static_power_w=float(p.static_power_w),
                         price_usd_per_hour=float(getattr(p, "price_usd_per_hour", 0.0)),
                         boundary=self.boundary, summarize=summarize, columns=self.columns)

    # -- the hook implementations --------------------------------------------------------------

    @hookimpl
    def xpusim_register_backends(self) -> list[BackendInfo]:
        return [self.info]

    @hookimpl
    def xpusim_spec_dirs(self) -> list[Path]:
        return self.spec_dirs()

    @hookimpl(trylast=True)
    def xpusim_compute_kernels(self, spec: Any) -> KernelSet | None:
        return self.kernel_set(spec) if spec.backend == self.name else None

    @hookimpl(trylast=True)
    def xpusim_cost_kernels(self, spec: Any) -> CostModel | None:
        return self.cost_model(spec) if spec.backend == self.name else None

    def hooks(self) -> tuple[Callable[..., Any], ...]:
        """(xpusim_register_backends, xpusim_spec_dirs, xpusim_compute_kernels,
        xpusim_cost_kernels), to bind as module attributes of the same names."""
        return (self.xpusim_register_backends, self.xpusim_spec_dirs,
                self.xpusim_compute_kernels, self.xpusim_cost_kernels)


@attrs.frozen(repr=False)
class _Summary:
    """``summarize(totals, params)`` bound to one spec's params (``CostModel.summarize``)."""

    fn: Callable[[dict[str, float], Any], dict[str, float]]
    params: Any

    def __call__(self, totals: dict[str, float]) -> dict[str, float]:
        return self.fn(totals, self.params)

    def __repr__(self) -> str:
        return f"{getattr(self.fn, '__qualname__', self.fn)!r} (with the spec's params)"
