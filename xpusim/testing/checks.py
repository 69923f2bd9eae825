"""The conformance checks a backend or training method must pass.

Each check is a plain function ``check_<what>(target)`` that raises ``ConformanceError``
(an ``AssertionError``) with a readable message, or ``CheckSkipped`` when it does not apply.
``target`` is a ``BackendUnderTest`` or ``MethodUnderTest``: a name plus a plugin manager,
caching what several checks share (specs, kernels, tiny runs).

Entry points:

* ``check_backend(name)`` / ``check_method(name)``: run every check, raise the first failure.
* ``run_checks(plugins, name)``: run every check, return one ``CheckResult`` per check
  (what ``xpusim plugins --check`` shows); never raises.
* ``parametrize_with_checks([...])``: a pytest decorator, one test per (target, check).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from xpusim import hookimpl
from xpusim.core.device import Device
from xpusim.core.errors import IncompatibleError, SpecError, XpusimError
from xpusim.core.kernels import CostModel, KernelSet, Twin, load
from xpusim.core.ledger import price
from xpusim.core.pricing import price_columns
from xpusim.core.plugins import Plugins, get_plugin_manager
from xpusim.core.registry import BackendInfo, MethodInfo
from xpusim.core.specs import Spec, numeric_paths, read_toml, spec_from_dict, uncited, \
    unstructure_params
from xpusim.core.trace import PRIMITIVES, Trace

__all__ = [
    "BACKEND_CHECKS", "METHOD_CHECKS", "BackendUnderTest", "CheckResult", "CheckSkipped",
    "ConformanceError", "MethodUnderTest", "check_backend", "check_method",
    "parametrize_with_checks", "run_checks",
]

#: Settings of the tiny runs the checks train (sklearn digits, a few seconds at most).
TINY_RUN = {"model": "mlp:64-32-10", "dataset": "digits", "epochs": 3, "batch_size": 32}
#: A tiny run must beat chance (10 classes) by this factor.
CHANCE_FACTOR = 2.0
#: Seeds per twin comparison.
TWIN_SEEDS = (0, 1, 2)
#: Relative tolerance for sums and ratios of cost (float64 rounding only).
COST_RTOL = 1e-9

PERIPHERY = frozenset({"elementwise", "reduce", "write"})
#: Phases each primitive is priced in by the cost checks.
PHASES_OF = {"mvm": ("inference", "train-forward"), "mvm_t": ("train-backward",),
             "update": ("train-update",), "elementwise": ("train-forward", "inference"),
             "reduce": ("train-forward",), "write": ("train-update", "deploy"),
             "matmul": ("inference", "train-backward")}
#: (m, n, k) shapes priced; odd sizes on purpose.
SHAPES = ((1, 1, 1), (7, 13, 5), (32, 64, 64), (129, 257, 65))


class ConformanceError(AssertionError):
    """A plugin broke the contract; the message says which check, what and where."""


class CheckSkipped(Exception):
    """The check does not apply to this target (the reason is the message)."""


def _fail(message: str) -> None:
    __tracebackhide__ = True
    raise ConformanceError(message)


@attrs.frozen
class CheckResult:
    """The outcome of one check on one target (what ``xpusim plugins --check`` lists)."""

    target: str
    name: str
    status: str  # "passed", "failed", "skipped" or "xfailed"
    message: str = ""

    @property
    def passed(self) -> bool:
        """True unless the check failed unexpectedly."""
        return self.status != "failed"


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------


def _plugins(pm: Plugins | None, plugins: Iterable[Any]) -> Plugins:
    return pm if pm is not None else get_plugin_manager(tuple(plugins))


class _Target:
    kind = "?"

    def __init__(self, name: str, pm: Plugins | None = None, plugins: Iterable[Any] = ()):
        self.name = name
        self._pm = pm
        self._plugin_refs = tuple(plugins)
        self._runs: dict[tuple[Any, ...], Any] = {}

    @cached_property
    def pm(self) -> Plugins:
        return _plugins(self._pm, self._plugin_refs)

    def __repr__(self) -> str:
        return self.name

    def tiny_run(self, hardware: str, method: str, seed: int = 0,
                 config: Mapping[str, Any] | None = None) -> Any:
        """A small digits run (cached per hardware, method and seed unless ``config`` is given,
        which replaces ``TINY_RUN``)."""
        from xpusim.core.results import RunConfig
        from xpusim.core.scheduler import accepted_optimizers, run

        key = (hardware, method, seed)
        if config is not None or key not in self._runs:
            accepted = accepted_optimizers(self.pm, self.pm.load_spec(hardware))
            optimizer = "adam" if accepted is None or "adam" in accepted else sorted(accepted)[0]
            settings = RunConfig(hardware=hardware, method=method, seed=seed,
                                 optimizer=optimizer, **(config or TINY_RUN))
            result = run(settings, plugins=self.pm)
            if config is not None:
                return result
            self._runs[key] = result
        return self._runs[key]


class BackendUnderTest(_Target):
    """A hardware backend and everything the checks need about it."""

    kind = "backend"

    @cached_property
    def info(self) -> BackendInfo:
        return self.pm.backend(self.name)

    @cached_property
    def owners(self) -> list[Any]:
        """The plugins (objects, usually modules) whose register hook declares this backend."""
        return [self.pm.pm.get_plugin(supplied.plugin)
                for supplied in self.pm.call("xpusim_register_backends")
                if any(getattr(i, "name", None) == self.name for i in supplied)]

    @cached_property
    def spec_files(self) -> dict[str, Path]:
        """Spec files (name -> path) whose ``backend`` is this backend."""
        out = {}
        for spec_name, path in sorted(self.pm.spec_files().items()):
            try:
                raw = read_toml(path)
            except SpecError:
                raw = {}
            if raw.get("backend") == self.name:
                out[spec_name] = path
        return out

    @cached_property
    def spec(self) -> Spec:
        """The first shipped spec of this backend, loaded."""
        if not self.spec_files:
            _fail(f"backend {self.name!r}: no spec file with backend = {self.name!r} in any "
                  f"spec folder ({', '.join(str(d) for d in self.pm.spec_dirs)}); ship one "
                  f"and return its folder from xpusim_spec_dirs")
        return self.pm.load_spec(next(iter(self.spec_files)))

    @cached_property
    def kernels(self) -> KernelSet:
        return self.pm.compute_kernels(self.spec)

    @cached_property
    def cost(self) -> CostModel:
        return self.pm.cost_model(self.spec)

    @cached_property
    def twins(self) -> dict[str, Any]:
        """``TWINS`` of the plugin module(s) that register this backend, and the twins its
        ``BackendInfo`` declares."""
        twins: dict[str, Any] = {}
        for plugin in self.owners:
            twins.update(getattr(plugin, "TWINS", None) or {})
        twins.update(declared_twins(self.info))
        return twins

    @cached_property
    def method(self) -> str | None:
        """A method this backend can run: ``backprop`` if possible, else the first by name."""
        ok = [m for m, info in sorted(self.pm.methods.items())
              if info.primitives <= self.info.primitives]
        return "backprop" if "backprop" in ok else (ok[0] if ok else None)

    def device(self) -> Device:
        rng = np.random.Generator(np.random.PCG64(0))
        return self.info.device(self.spec, self.kernels, rng, Trace(),
                                primitives=self.info.primitives)

    @cached_property
    def priced_primitives(self) -> list[str]:
        """Declared primitives plus ``write`` and ``elementwise`` (every device records them)."""
        return [p for p in PRIMITIVES if p in self.info.primitives | {"write", "elementwise"}]

    def row(self, trace: Trace, primitive: str, phase: str, shape: tuple[int, int, int],
            count: int = 1) -> None:
        bits, fmt = self.formats[(primitive, phase)]
        m, n, k = shape
        if primitive == "write":
            m = 1
        elif primitive in ("elementwise", "reduce"):
            n, k = 2, 1
        trace.add(phase, 0, primitive, m, n, k, bits, fmt, count=count)

    @cached_property
    def formats(self) -> dict[tuple[str, str], tuple[int, str]]:
        dev = self.device()
        return {(p, ph): dev.operand_format(p, ph) for p in self.priced_primitives
                for ph in PHASES_OF[p]}

    def priced(self, trace: Trace) -> Any:
        return price(trace, self.cost, self.spec.name)


class MethodUnderTest(_Target):
    """A training method and a spec it can run on."""

    kind = "method"

    @cached_property
    def info(self) -> MethodInfo:
        return self.pm.method(self.name)

    @cached_property
    def hardware(self) -> str:
        """``h100-sxm`` when it offers what the method needs, else the first spec that does."""
        files = self.pm.spec_files()
        names = sorted(files, key=lambda s: (s != "h100-sxm", s))
        for spec_name in names:
            try:
                backend = read_toml(files[spec_name]).get("backend")
            except SpecError:
                continue
            info = self.pm.backends.get(backend)
            if info is not None and self.info.primitives <= info.primitives:
                return spec_name
        raise CheckSkipped(f"no spec's backend offers {sorted(self.info.primitives)}")


# ---------------------------------------------------------------------------------------------
# Backend checks
# ---------------------------------------------------------------------------------------------


def check_registration(b: BackendUnderTest) -> None:
    """The backend registers once, with the right types, a Device subclass and known primitives."""
    if not b.owners:
        _fail(f"backend {b.name!r}: no plugin's xpusim_register_backends returns it")
    info = b.info
    if not isinstance(info, BackendInfo):
        _fail(f"backend {b.name!r}: registered a {type(info).__name__}, expected BackendInfo")
    if not (isinstance(info.params, type) and attrs.has(info.params)):
        _fail(f"backend {b.name!r}: params must be an attrs class, found {info.params!r}")
    if not (isinstance(info.device, type) and issubclass(info.device, Device)):
        _fail(f"backend {b.name!r}: device must subclass xpusim.core.Device, "
              f"found {info.device!r}")
    unknown = sorted(set(info.primitives) - set(PRIMITIVES))
    if unknown:
        _fail(f"backend {b.name!r}: unknown primitive(s) {unknown}; the vocabulary is "
              f"{list(PRIMITIVES)}")
    if "mvm" not in info.primitives:
        _fail(f"backend {b.name!r}: does not declare 'mvm' (every method needs it)")


def check_params_documented(b: BackendUnderTest) -> None:
    """Every leaf key of the params class has a doc (``quantity(unit=, doc=)`` or ``option(doc=)``)."""
    from .template import param_rows

    bad = [r.path for r in param_rows(b.info.params) if not r.doc]
    if bad:
        _fail(f"backend {b.name!r}: params without doc metadata (use quantity(unit=, doc=) or "
              f"option(doc=)): {', '.join(bad)}")


def check_specs_load(b: BackendUnderTest) -> None:
    """Every shipped spec loads, cites every number and survives an unstructure/structure trip."""
    b.spec  # noqa: B018 - fails clearly when there is none
    for spec_name, path in b.spec_files.items():
        try:
            spec = b.pm.load_spec(spec_name)
        except XpusimError as exc:
            _fail(f"spec {spec_name!r} ({path}) does not load: {exc}")
        missing = uncited(read_toml(path))
        if missing:
            _fail(f"spec {spec_name!r}: numbers without a [source] entry: {', '.join(missing)}")
        again = spec_from_dict(spec.to_dict(), b.pm.params_class, where=f"{spec_name} (round trip)")
        if unstructure_params(again.params) != unstructure_params(spec.params) \
                or again.hash != spec.hash:
            _fail(f"spec {spec_name!r}: params change in an unstructure/structure round trip: "
                  f"{unstructure_params(spec.params)} -> {unstructure_params(again.params)}")


def check_bad_spec_rejected(b: BackendUnderTest) -> None:
    """A wrong type, an unknown key and a missing key each give a SpecError naming the key."""
    path = next(iter(b.spec_files.values()), None)
    if path is None:
        b.spec  # noqa: B018 - raises the no-spec failure
    raw = read_toml(path)
    leaves = numeric_paths(raw)
    if not leaves:
        _fail(f"spec {path.name}: has no numeric keys to check")
    key = leaves[0]
    cases = [(f'{key}="not-a-number"', key, "wrong type"),
             (f"{key}_typo=1", f"{key}_typo", "unknown key")]
    for override, named, what in cases:
        try:
            b.pm.load_spec(path, [override])
        except SpecError as exc:
            if named not in str(exc) or path.name not in str(exc):
                _fail(f"{what} ({override}): the SpecError does not name the key {named!r} and "
                      f"file {path.name!r}: {exc}")
            continue
        except Exception as exc:
            _fail(f"{what} ({override}): raised {type(exc).__name__} instead of SpecError: {exc}")
        _fail(f"{what} ({override}): the spec loaded without error")
    required = [f.name for f in attrs.fields(b.info.params)
                if f.default is attrs.NOTHING and f.name in raw]
    if required:
        drop = required[0]
        body = {k: v for k, v in raw.items() if k != drop}
        try:
            spec_from_dict(body, b.pm.params_class, where=path.name)
        except SpecError as exc:
            if drop not in str(exc):
                _fail(f"missing key {drop!r}: the SpecError does not name it: {exc}")
        else:
            _fail(f"missing required key {drop!r}: the spec loaded without error")


def check_hook_types(b: BackendUnderTest) -> None:
    """The kernel hooks return a KernelSet and a well-formed CostModel for the backend's spec."""
    kernels, cost = b.kernels, b.cost
    if not kernels.names:
        _fail(f"backend {b.name!r}: xpusim_compute_kernels returned an empty KernelSet")
    for name, fn in kernels.as_dict().items():
        if not callable(fn):
            _fail(f"backend {b.name!r}: kernel {name!r} is not callable: {fn!r}")
    if not callable(cost.price):
        _fail(f"backend {b.name!r}: CostModel.price is not callable")
    if cost.params.ndim != 1 or not np.isfinite(cost.params).all():
        _fail(f"backend {b.name!r}: CostModel.params must be a finite 1-D float vector, "
              f"found shape {cost.params.shape} with non-finite entries "
              f"{np.flatnonzero(~np.isfinite(cost.params)).tolist()}")
    names = (*cost.components, *cost.extras)
    if not cost.components or not all(isinstance(c, str) and c for c in names) \
            or len(set(names)) != len(names):
        _fail(f"backend {b.name!r}: CostModel components/extras must be distinct non-empty "
              f"names, found components={cost.components}, extras={cost.extras}")
    for field in ("static_power_w", "price_usd_per_hour"):
        value = getattr(cost, field)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            _fail(f"backend {b.name!r}: CostModel.{field} must be finite and >= 0, found {value!r}")
    if not (isinstance(cost.boundary, str) and cost.boundary.strip()):
        _fail(f"backend {b.name!r}: CostModel.boundary must say what the cost covers")


def check_foreign_spec_ignored(b: BackendUnderTest) -> None:
    """Kernel hooks return None for a spec of another backend (no plugin claims it)."""
    foreign = attrs.evolve(b.spec, name="not-yours", backend=f"{b.name}-not-this-backend")
    for hook in ("xpusim_compute_kernels", "xpusim_cost_kernels"):
        got = b.pm.call(hook, spec=foreign)
        if got is not None:
            _fail(f"plugin {got.provider!r}: {hook} returned {type(got).__name__} for a "
                  f"spec of backend {foreign.backend!r}; return None when spec.backend is "
                  f"not yours")


def _compare(a: Any, b: Any, twin: Twin, where: str) -> None:
    exact = twin.rtol == 0 and twin.atol == 0
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            _fail(f"{where}: shapes differ: kernel {a.shape}, twin {b.shape}")
        if exact:
            same = (a == b) | ((a != a) & (b != b)) if a.dtype.kind in "fc" else a == b
            if a.dtype.kind == "f":
                same &= np.signbit(a) == np.signbit(b)
            if not np.all(same):
                i = np.flatnonzero(~np.asarray(same).ravel())[0]
                _fail(f"{where}: not bit-exact ({twin.why}): {int((~same).sum())} of {a.size} "
                      f"elements differ; first at flat index {i}: kernel "
                      f"{a.ravel()[i]!r}, twin {b.ravel()[i]!r}")
        else:
            try:
                np.testing.assert_allclose(a, b, rtol=twin.rtol, atol=twin.atol, equal_nan=True)
            except AssertionError as exc:
                _fail(f"{where}: beyond rtol={twin.rtol}, atol={twin.atol} ({twin.why}):"
                      f"{str(exc).splitlines()[3] if len(str(exc).splitlines()) > 3 else exc}")
    elif isinstance(a, (tuple, list)):
        for i, (x, y) in enumerate(zip(a, b)):
            _compare(x, y, twin, f"{where}[{i}]")
    elif isinstance(a, float) and not exact:
        if not math.isclose(a, b, rel_tol=twin.rtol, abs_tol=twin.atol):
            _fail(f"{where}: kernel {a!r} vs twin {b!r} (rtol={twin.rtol}, atol={twin.atol})")
    elif not (a == b or (a != a and b != b)):
        _fail(f"{where}: kernel {a!r} vs twin {b!r}")


def compare_twin(name: str, twin: Any, seeds: Iterable[int] = TWIN_SEEDS) -> None:
    """Run a kernel and its twin on the same fresh arguments; fail on any difference."""
    if not isinstance(twin, Twin):
        _fail(f"twin {name!r}: expected xpusim.core.Twin(kernel, reference, make_args, ...), "
              f"found {type(twin).__name__}")
    for seed in seeds:
        args = twin.make_args(np.random.default_rng(seed))
        args_ref = copy.deepcopy(args)
        where = f"kernel {name!r} vs its twin (seed {seed})"
        try:
            out = twin.kernel(*args)
        except Exception as exc:
            _fail(f"{where}: the kernel raised {type(exc).__name__}: {exc}")
        try:
            out_ref = twin.reference(*args_ref)
        except Exception as exc:
            _fail(f"{where}: the twin raised {type(exc).__name__}: {exc}")
        _compare(out, out_ref, twin, f"{where}, return value")
        for i, (a, r) in enumerate(zip(args, args_ref)):
            if isinstance(a, np.ndarray):
                _compare(a, r, twin, f"{where}, argument {i}")


def check_twins_match(b: BackendUnderTest) -> None:
    """Every kernel in the plugin's ``TWINS`` (or the ``BackendInfo.twins`` it declares)
    matches its NumPy twin on random inputs."""
    if not b.twins:
        _fail(f"backend {b.name!r}: neither its plugin module's TWINS nor BackendInfo.twins "
              f"holds a twin (TWINS = {{name: Twin(kernel, reference, make_args, rtol, atol, "
              f"why)}})")
    for name, twin in b.twins.items():
        compare_twin(name, twin)


def _same_kernel(a: Any, b: Any) -> bool:
    return a is b or getattr(a, "py_func", a) is getattr(b, "py_func", b)


def declared_twins(info: BackendInfo) -> Mapping[str, Any]:
    """The twins ``info.twins`` names (a mapping, or a reference loaded now)."""
    if info.twins is None:
        return {}
    twins = load(info.twins)
    if not isinstance(twins, Mapping):
        _fail(f"backend {info.name!r}: BackendInfo.twins must be a {{name: Twin}} mapping or "
              f"a reference to one, found {type(twins).__name__}")
    return twins


def _all_twinned(pm: Plugins) -> list[Any]:
    """Kernels with a Twin in the ``TWINS`` of any registered plugin or backend, or of
    ``xpusim.numerics`` (shared kernels count)."""
    from xpusim.numerics.twins import TWINS as NUMERICS_TWINS

    tables: list[Any] = [NUMERICS_TWINS]
    tables += [getattr(plugin, "TWINS", None) for _name, plugin in pm.pm.list_name_plugin()]
    for info in pm.backends.values():
        try:
            tables.append(declared_twins(info))
        except ConformanceError:
            continue  # that backend's own check reports it
    return [t.kernel for twins in tables if isinstance(twins, Mapping)
            for t in twins.values() if isinstance(t, Twin)]


def check_kernels_have_twins(b: BackendUnderTest) -> None:
    """Every numba kernel handed to the core (compute kernels, cost kernel) has a twin.

    A kernel shared between backends may be twinned by any registered plugin or backend;
    kernels of ``xpusim.numerics`` are twinned in ``xpusim.numerics.twins``.
    """
    twinned = [t.kernel for t in b.twins.values() if isinstance(t, Twin)] + _all_twinned(b.pm)
    candidates = {**{f"compute kernel {n!r}": f for n, f in b.kernels.as_dict().items()},
                  "cost kernel (CostModel.price)": b.cost.price}
    missing = [label for label, fn in candidates.items()
               if hasattr(fn, "py_func") and not any(_same_kernel(fn, t) for t in twinned)]
    if missing:
        _fail(f"backend {b.name!r}: numba kernels without a Twin in TWINS: {', '.join(missing)}")


class _KernelMarker:
    """A plugin wrapping ``xpusim_compute_kernels``: every kernel of ``backend``'s set is
    replaced by a copy that notes its name in ``ran`` and calls the original."""

    def __init__(self, backend: str, ran: set[str]):
        self.backend, self.ran = backend, ran

    def _marked(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def marked(*args: Any, **kwargs: Any) -> Any:
            self.ran.add(name)
            return fn(*args, **kwargs)

        return marked

    @hookimpl(wrapper=True)
    def xpusim_compute_kernels(self, spec: Spec) -> Any:
        base = yield
        if base is None or spec.backend != self.backend:
            return base
        return base.replace(**{n: self._marked(n, base[n]) for n in base.names})


def check_registered_kernels_run(b: BackendUnderTest) -> None:
    """Every compute kernel the backend registers is what runs: each is replaced by a marked
    copy (through a hook wrapper, as an override plugin would) and a one-epoch tiny run must
    call it, on at least one shipped spec whose kernel set holds it."""
    if b.method is None:
        raise CheckSkipped(f"no registered method runs on backend {b.name!r}")
    holders = {name: b.pm.compute_kernels(b.pm.load_spec(name)).names for name in b.spec_files}
    ran: set[str] = set()
    tried = []
    for spec_name, names in holders.items():
        if set(names) <= ran:
            continue
        marker = _KernelMarker(b.name, ran)
        b.pm.pm.register(marker, name=f"xpusim.testing marker for {b.name}")
        try:
            config = {**TINY_RUN, "epochs": 1}
            r = b.tiny_run(spec_name, b.method, config=config)
        finally:
            b.pm.pm.unregister(marker)
        tried.append(spec_name)
        if r.status != "ok":
            _fail(f"backend {b.name!r}: a tiny run on {spec_name!r} with its kernels wrapped "
                  f"failed: {r.failure}")
    never = sorted({n for names in holders.values() for n in names} - ran)
    if never:
        _fail(f"backend {b.name!r}: registered compute kernel(s) {', '.join(never)} never ran "
              f"in a one-epoch run of {TINY_RUN['model']} ({b.method}) on "
              f"{', '.join(tried)}: the device computes around them, so a plugin replacing "
              f"them changes nothing. Call them, or leave them out of the set for specs "
              f"that do not use them")


def check_cost_valid(b: BackendUnderTest) -> None:
    """Every primitive the backend offers prices finite and >= 0; an empty trace costs zero."""
    for prim in b.priced_primitives:
        for phase in PHASES_OF[prim]:
            for shape in SHAPES:
                t = Trace()
                b.row(t, prim, phase, shape)
                try:
                    ledger = b.priced(t)
                except XpusimError as exc:
                    _fail(f"backend {b.name!r}: {prim} in {phase}, shape {shape}: {exc}")
                if not (np.isfinite(ledger.extras).all()):
                    _fail(f"backend {b.name!r}: {prim} in {phase}, shape {shape}: non-finite "
                          f"counters {dict(zip(ledger.extra_names, ledger.extras[0]))}")
    try:
        price_columns(b.cost, Trace().columns(), b.spec.name)
    except Exception as exc:
        _fail(f"backend {b.name!r}: the cost kernel fails on a trace with no rows: "
              f"{type(exc).__name__}: {exc}")
    ledger = b.priced(Trace())
    if ledger.total_time_s != 0 or ledger.total_energy_j != 0:
        _fail(f"backend {b.name!r}: an empty trace costs {ledger.total_time_s} s, "
              f"{ledger.total_energy_j} J")


def _totals(ledger: Any) -> np.ndarray:
    return np.concatenate([[ledger.total_time_s], ledger.energy_j.sum(axis=0),
                           ledger.extras.sum(axis=0)])


def _labels(b: BackendUnderTest, ledger: Any) -> list[str]:
    return ["time_s", *(f"energy_j[{c}]" for c in ledger.components), *ledger.extra_names]


def check_cost_linear_in_count(b: BackendUnderTest) -> None:
    """A row with ``count = 5`` costs exactly five times the same row with ``count = 1``
    (``matmul``: the products of one batched call, so cost may be affine in count: a fixed
    part, such as one kernel launch, plus the same cost per product)."""
    for prim in b.priced_primitives:
        phase = PHASES_OF[prim][0]
        one, two, five = Trace(), Trace(), Trace()
        b.row(one, prim, phase, SHAPES[2], count=1)
        b.row(two, prim, phase, SHAPES[2], count=2)
        b.row(five, prim, phase, SHAPES[2], count=5)
        l1, l5 = b.priced(one), b.priced(five)
        a, c = 5 * _totals(l1), _totals(l5)
        if prim == "matmul":  # affine: c5 - c1 = 4 (c2 - c1)
            t1, t2 = _totals(l1), _totals(b.priced(two))
            a, c = 4 * (t2 - t1), c - t1
        if not np.allclose(a, c, rtol=COST_RTOL, atol=0):
            bad = [f"{n}: 5 x {x / 5:g} != {y:g}" for n, x, y in zip(_labels(b, l1), a, c)
                   if not math.isclose(x, y, rel_tol=COST_RTOL)]
            _fail(f"backend {b.name!r}: {prim} cost is not linear in count: {'; '.join(bad)}")


def check_cost_grows_with_size(b: BackendUnderTest) -> None:
    """A 16x larger problem takes at least as long and strictly more energy."""
    for prim in b.priced_primitives:
        for phase in PHASES_OF[prim]:
            small, big = Trace(), Trace()
            b.row(small, prim, phase, (8, 16, 16))
            b.row(big, prim, phase, (128, 256, 256))
            ls, lb = b.priced(small), b.priced(big)
            if not lb.total_time_s >= ls.total_time_s:
                _fail(f"backend {b.name!r}: {prim} in {phase}: a 16x larger problem takes less "
                      f"time ({lb.total_time_s:g} s < {ls.total_time_s:g} s)")
            if not lb.total_energy_j > ls.total_energy_j:
                _fail(f"backend {b.name!r}: {prim} in {phase}: a 16x larger problem does not "
                      f"cost more energy ({lb.total_energy_j:g} J <= {ls.total_energy_j:g} J)")


def check_cost_additive(b: BackendUnderTest) -> None:
    """A trace priced whole equals the sum of its rows priced one by one."""
    whole = Trace()
    rng = np.random.default_rng(0)
    for prim in b.priced_primitives:
        for phase in PHASES_OF[prim]:
            for shape in SHAPES:
                b.row(whole, prim, phase, shape, count=int(rng.integers(1, 4)))
    order = rng.permutation(len(whole))
    shuffled = Trace.from_columns({c: a[order] for c, a in whole.columns().items()})
    lw = b.priced(shuffled)
    parts = np.zeros_like(_totals(lw))
    for i in range(len(shuffled)):
        mask = np.zeros(len(shuffled), bool)
        mask[i] = True
        parts += _totals(b.priced(shuffled.select(mask)))
    total = _totals(lw)
    if not np.allclose(total, parts, rtol=COST_RTOL, atol=0):
        bad = [f"{n}: whole {x:g} != parts {y:g}" for n, x, y in
               zip(_labels(b, lw), total, parts) if not math.isclose(x, y, rel_tol=COST_RTOL)]
        _fail(f"backend {b.name!r}: pricing is not additive over rows: {'; '.join(bad)}")


def check_undeclared_primitives_refused(b: BackendUnderTest) -> None:
    """Primitives the backend does not declare raise IncompatibleError naming the primitive."""
    undeclared = [p for p in ("mvm_t", "update") if p not in b.info.primitives]
    if not undeclared:
        raise CheckSkipped(f"backend {b.name!r} declares every primitive")
    dev = b.device()
    w = np.zeros((4, 3), np.float32)
    dev.place(0, w)
    calls: dict[str, Callable[[], Any]] = {
        "mvm_t": lambda: dev.mvm_t(0, np.ones((2, 3), np.float32)),
        "update": lambda: dev.update(0, np.ones((2, 4), np.float32),
                                     np.ones((2, 3), np.float32), 0.1),
    }
    for prim in undeclared:
        try:
            calls[prim]()
        except IncompatibleError as exc:
            if prim not in str(exc):
                _fail(f"backend {b.name!r}: refusing {prim!r}, the error does not name it: {exc}")
            continue
        except Exception as exc:
            _fail(f"backend {b.name!r}: undeclared {prim!r} raised {type(exc).__name__} instead "
                  f"of IncompatibleError: {exc}")
        _fail(f"backend {b.name!r}: undeclared primitive {prim!r} ran instead of being refused")


def _result_key(result: Any) -> str:
    d = result.to_json()
    d.pop("meta", None)
    return json.dumps(d, sort_keys=True, default=repr)


def _first_difference(a: Any, b: Any) -> str:
    """The first flattened result key whose values differ, as ``key: x vs y``."""
    ra, rb = a.to_row(), b.to_row()
    for key in sorted(set(ra) | set(rb)):
        x, y = ra.get(key), rb.get(key)
        if json.dumps(x, default=repr) != json.dumps(y, default=repr):
            return f"{key}: {x!r} vs {y!r}"
    return "(results differ outside the flattened row)"


def check_seed_determinism(b: BackendUnderTest) -> None:
    """Two tiny runs with the same seed give identical numbers (accuracy, costs, curves)."""
    if b.method is None:
        raise CheckSkipped(f"no registered method runs on backend {b.name!r}")
    spec = next(iter(b.spec_files))
    first = b.tiny_run(spec, b.method, seed=0)
    b._runs.pop((spec, b.method, 0))
    second = b.tiny_run(spec, b.method, seed=0)
    if _result_key(first) != _result_key(second):
        _fail(f"backend {b.name!r}: two runs with seed 0 differ; first difference: "
              f"{_first_difference(first, second)}")


def check_tiny_run_learns(b: BackendUnderTest) -> None:
    """A tiny digits run finishes, prices and beats chance accuracy by a clear margin."""
    if b.method is None:
        raise CheckSkipped(f"no registered method runs on backend {b.name!r}")
    spec = next(iter(b.spec_files))
    r = b.tiny_run(spec, b.method, seed=0)
    _check_run(r, f"backend {b.name!r} (spec {spec!r}, method {b.method!r})")


def _check_run(r: Any, who: str) -> None:
    if r.status != "ok":
        _fail(f"{who}: the tiny run failed: {r.failure}")
    chance = 1.0 / 10
    if not r.final_test_accuracy > CHANCE_FACTOR * chance:
        _fail(f"{who}: accuracy {r.final_test_accuracy:.3f} after {TINY_RUN['epochs']} epochs "
              f"of {TINY_RUN['model']} on digits; expected > {CHANCE_FACTOR * chance:.2f} "
              f"({CHANCE_FACTOR:g} x chance)")
    if not (r.training["energy_j"] > 0 and r.training["time_s"] > 0):
        _fail(f"{who}: training cost {r.training['time_s']} s, {r.training['energy_j']} J; "
              f"expected > 0")


def check_capabilities(b: BackendUnderTest) -> None:
    """The backend declares its spec's capabilities: a peak rate for the format its device
    computes products in, a memory or an on-chip weight capacity, and no priced product
    beats the declared peak."""
    if b.info.capabilities is None:
        _fail(f"backend {b.name!r} declares no capabilities (BackendInfo.capabilities): "
              "estimates could not check memory or utilization")
    caps = b.pm.capabilities(b.spec)
    if caps.memory_bytes is None and caps.weight_capacity is None:
        _fail(f"backend {b.name!r}: spec {b.spec.name!r} declares neither memory_bytes nor "
              "weight_capacity")
    if ("mvm", "inference") not in b.formats:
        return
    fmt = b.formats[("mvm", "inference")][1]
    peak = caps.peak(fmt)
    if peak is None:
        _fail(f"backend {b.name!r}: spec {b.spec.name!r} declares no peak rate for {fmt!r}, "
              f"the format its device computes products in (declared: {list(caps.formats)})")
    for shape in ((1, 4096, 4096), (256, 256, 256), (2048, 2048, 2048)):
        trace = Trace()
        b.row(trace, "mvm", "inference", shape)
        ledger = b.priced(trace)
        achieved = 2.0 * float(trace.macs().sum()) / ledger.total_time_s
        if achieved > peak * (1 + 1e-9):
            _fail(f"backend {b.name!r}: an mvm of shape {shape} is priced at {achieved:.4g} "
                  f"ops/s, above the declared {fmt} peak {peak:.4g}")


BACKEND_CHECKS: tuple[Callable[[BackendUnderTest], None], ...] = (
    check_registration, check_params_documented, check_specs_load, check_bad_spec_rejected,
    check_hook_types, check_capabilities, check_foreign_spec_ignored, check_twins_match,
    check_kernels_have_twins, check_registered_kernels_run,
    check_cost_valid, check_cost_linear_in_count, check_cost_grows_with_size,
    check_cost_additive, check_undeclared_primitives_refused, check_seed_determinism,
    check_tiny_run_learns,
)


# ---------------------------------------------------------------------------------------------
# Method checks
# ---------------------------------------------------------------------------------------------


def check_method_registration(m: MethodUnderTest) -> None:
    """The method registers a MethodInfo with a callable factory and known primitives."""
    info = m.info
    if not isinstance(info, MethodInfo):
        _fail(f"method {m.name!r}: registered a {type(info).__name__}, expected MethodInfo")
    if not callable(info.factory):
        _fail(f"method {m.name!r}: factory is not callable: {info.factory!r}")
    unknown = sorted(set(info.primitives) - set(PRIMITIVES))
    if unknown:
        _fail(f"method {m.name!r}: unknown primitive(s) {unknown}")
    if "mvm" not in info.primitives:
        _fail(f"method {m.name!r}: does not declare 'mvm'")


def check_method_uses_declared_primitives(m: MethodUnderTest) -> None:
    """The trace of a tiny run holds only the primitives the method declares (+ periphery)."""
    r = m.tiny_run(m.hardware, m.name)
    used = set(r.training.get("by_primitive", {}))
    extra = sorted(used - set(m.info.primitives) - PERIPHERY)
    if extra:
        _fail(f"method {m.name!r}: uses primitive(s) {extra} it does not declare "
              f"(declares {sorted(m.info.primitives)})")
    if "update" in m.info.primitives and "update" not in used:
        _fail(f"method {m.name!r}: declares 'update' but a training run recorded none")


def check_method_seed_determinism(m: MethodUnderTest) -> None:
    """Two tiny runs with the same seed give identical numbers."""
    first = m.tiny_run(m.hardware, m.name)
    m._runs.pop((m.hardware, m.name, 0))
    second = m.tiny_run(m.hardware, m.name)
    if _result_key(first) != _result_key(second):
        _fail(f"method {m.name!r}: two runs with seed 0 on {m.hardware!r} differ; first "
              f"difference: {_first_difference(first, second)}")


def check_method_learns(m: MethodUnderTest) -> None:
    """A tiny digits run finishes and beats chance accuracy by a clear margin."""
    _check_run(m.tiny_run(m.hardware, m.name), f"method {m.name!r} (spec {m.hardware!r})")


METHOD_CHECKS: tuple[Callable[[MethodUnderTest], None], ...] = (
    check_method_registration, check_method_uses_declared_primitives,
    check_method_seed_determinism, check_method_learns,
)


# ---------------------------------------------------------------------------------------------
# Running the checks
# ---------------------------------------------------------------------------------------------


def _expected(expected_failed_checks: Mapping[str, Any] | None, target: str) -> dict[str, str]:
    """``{check: why}``; per-target dicts (``{"analog": {"check_x": "why"}}``) allowed."""
    out: dict[str, str] = {}
    for key, value in (expected_failed_checks or {}).items():
        if isinstance(value, Mapping):
            if key == target:
                out.update(value)
        else:
            out[key] = value
    return out


def _target(name: str, pm: Plugins | None, plugins: Iterable[Any],
            kind: str | None = None) -> _Target:
    pm = _plugins(pm, plugins)
    if kind is None:
        kind = "backend" if name in pm.backends else "method" if name in pm.methods else None
    if kind == "backend":
        return BackendUnderTest(name, pm)
    if kind == "method":
        return MethodUnderTest(name, pm)
    from xpusim.core.errors import UnknownNameError

    raise UnknownNameError("backend or method", name, [*pm.backends, *pm.methods])


def checks_for(target: _Target) -> tuple[Callable[[Any], None], ...]:
    return BACKEND_CHECKS if target.kind == "backend" else METHOD_CHECKS


def _run_one(target: _Target, check: Callable[[Any], None], expected: Mapping[str, str]) -> CheckResult:
    name = check.__name__
    try:
        check(target)
    except CheckSkipped as exc:
        return CheckResult(target.name, name, "skipped", str(exc))
    except Exception as exc:  # a failed check or a plugin that raised: report, never hide
        msg = str(exc) if isinstance(exc, (AssertionError, XpusimError)) else \
            f"{type(exc).__name__}: {exc}"
        if name in expected:
            return CheckResult(target.name, name, "xfailed", f"{expected[name]} ({msg})")
        return CheckResult(target.name, name, "failed", msg)
    if name in expected:
        return CheckResult(target.name, name, "failed",
                           f"expected to fail ({expected[name]}) but passed; remove it from "
                           f"expected_failed_checks")
    return CheckResult(target.name, name, "passed")


def run_checks(plugins: Plugins | None, name: str, *, kind: str | None = None,
               expected_failed_checks: Mapping[str, Any] | None = None) -> list[CheckResult]:
    """Run every check on backend or method ``name``; one ``CheckResult`` per check.

    Never raises: a plugin that raises, an unknown name or a broken manager becomes a failed
    result whose message names the plugin. This is what ``xpusim plugins --check`` shows.
    """
    try:
        target = _target(name, plugins, (), kind)
    except Exception as exc:
        return [CheckResult(name, "load", "failed", f"{type(exc).__name__}: {exc}")]
    expected = _expected(expected_failed_checks, name)
    return [_run_one(target, check, expected) for check in checks_for(target)]


def _raise_first(results: list[CheckResult]) -> list[CheckResult]:
    for r in results:
        if r.status == "failed":
            raise ConformanceError(f"{r.target}: {r.name} failed: {r.message}")
    return results


def check_backend(name: str, plugins: Iterable[Any] = (), pm: Plugins | None = None,
                  expected_failed_checks: Mapping[str, Any] | None = None) -> list[CheckResult]:
    """Run every backend check on ``name``; raise ``ConformanceError`` at the first failure."""
    return _raise_first(run_checks(_plugins(pm, plugins), name, kind="backend",
                                   expected_failed_checks=expected_failed_checks))


def check_method(name: str, plugins: Iterable[Any] = (), pm: Plugins | None = None,
                 expected_failed_checks: Mapping[str, Any] | None = None) -> list[CheckResult]:
    """Run every method check on ``name``; raise ``ConformanceError`` at the first failure."""
    return _raise_first(run_checks(_plugins(pm, plugins), name, kind="method",
                                   expected_failed_checks=expected_failed_checks))


def parametrize_with_checks(names: Iterable[str], *, plugins: Iterable[Any] = (),
                            expected_failed_checks: Mapping[str, Any] | None = None,
                            pm: Plugins | None = None) -> Any:
    """A pytest decorator: one test per (target, check), ids like ``gpu-check_twins_match``.

    Usage::

        @parametrize_with_checks(["photonic"], plugins=["xpusim_photonic"])
        def test_conformance(target, check):
            check(target)

    ``expected_failed_checks={"check_x": "why"}`` (or ``{"name": {"check_x": "why"}}``)
    marks checks as strict xfails, with the reason shown.
    """
    import pytest

    pm = _plugins(pm, plugins)
    params = []
    for name in names:
        target = _target(name, pm, ())
        expected = _expected(expected_failed_checks, name)
        for check in checks_for(target):
            marks = [pytest.mark.xfail(reason=expected[check.__name__], strict=True)] \
                if check.__name__ in expected else []
            params.append(pytest.param(target, _skippable(check), marks=marks,
                                       id=f"{name}-{check.__name__}"))
    return pytest.mark.parametrize("target, check", params)


def _skippable(check: Callable[[Any], None]) -> Callable[[Any], None]:
    """Turn ``CheckSkipped`` into ``pytest.skip`` (keeps the check's name and doc)."""
    import functools

    @functools.wraps(check)
    def wrapper(target: Any) -> None:
        import pytest

        try:
            check(target)
        except CheckSkipped as exc:
            pytest.skip(str(exc))

    return wrapper
