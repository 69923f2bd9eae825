"""The plugin manager and its typed facade: the only place hooks are called.

Load order: built-ins, then the ``xpusim`` entry-point group (unless
``XPUSIM_DISABLE_PLUGIN_AUTOLOAD=1``), then modules named explicitly (API ``plugins=`` or CLI
``--plugin``). A plugin that fails to import or raises in a hook is named in the error; plugins
that fail to import are kept in ``broken`` and the rest keep working.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .capabilities import NONE_DECLARED, Capabilities
from .errors import PluginError, SpecError, UnknownNameError, XpusimError
from .formats import FORMATS
from .kernels import CostModel, KernelSet
from .registry import BackendInfo, DatasetInfo, MethodInfo, ModelInfo
from .specs import Spec, read_toml, spec_from_dict

BUILTIN_PACKAGE = "xpusim.plugins"  # its BUILTINS lists the built-in plugin modules
ENTRY_POINT_GROUP = "xpusim"
SPEC_DIR = Path(__file__).resolve().parent.parent / "hardware_specs"


@attrs.frozen
class PluginRecord:
    """One loaded (or broken) plugin, as ``xpusim plugins`` lists it."""

    name: str
    origin: str  # "builtin", "entry point <dist> <version>", "module"
    hooks: tuple[str, ...]
    error: str = ""


def _load_module(ref: str | ModuleType) -> ModuleType:
    if isinstance(ref, ModuleType):
        return ref
    if ref.endswith(".py") or os.sep in ref:
        path = Path(ref)
        if not path.exists():
            raise PluginError(f"plugin {ref!r}: no such file")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[path.stem] = module
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except BaseException:
            sys.modules.pop(path.stem, None)  # never leave a half-loaded module behind
            raise
        return module
    return importlib.import_module(ref)


class Plugins:
    """Typed facade over the pluggy manager; caches registrations, names offenders."""

    def __init__(self, pm: pluggy.PluginManager, records: list[PluginRecord]):
        self.pm = pm
        self.records = records

    # -- calling hooks -------------------------------------------------------------------------

    def _impls(self, hook_name: str) -> list[Any]:
        """Hook implementations in pluggy's call order (tryfirst, then last-registered first)."""
        return list(reversed(getattr(self.pm.hook, hook_name).get_hookimpls()))

    def _call(self, impl: Any, hook_name: str, **kwargs: Any) -> Any:
        try:
            return impl.function(**{a: kwargs[a] for a in impl.argnames})
        except Exception as exc:  # a plugin bug: name it, never swallow it
            raise PluginError(f"plugin {impl.plugin_name!r} raised in {hook_name}: "
                              f"{type(exc).__name__}: {exc}") from exc

    def _collect(self, hook_name: str, key: Callable[[Any], str], kind: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        owner: dict[str, str] = {}
        for impl in reversed(self._impls(hook_name)):  # registration order
            for item in self._call(impl, hook_name) or []:
                name = key(item)
                if name in found:
                    raise PluginError(f"{kind} {name!r} is registered twice: by plugin "
                                      f"{owner[name]!r} and by plugin {impl.plugin_name!r}")
                found[name], owner[name] = item, impl.plugin_name
        return found

    # -- registrations -------------------------------------------------------------------------

    @cached_property
    def backends(self) -> dict[str, BackendInfo]:
        found = self._collect("xpusim_register_backends", lambda b: b.name, "backend")
        for info in found.values():  # a format defined twice must agree (PluginError if not)
            FORMATS.register_all(info.formats, owner=f"backend {info.name!r}")
        return found

    @cached_property
    def methods(self) -> dict[str, MethodInfo]:
        return self._collect("xpusim_register_methods", lambda m: m.name, "method")

    @cached_property
    def datasets(self) -> dict[str, DatasetInfo]:
        return self._collect("xpusim_register_datasets", lambda d: d.name, "data set")

    @cached_property
    def models(self) -> dict[str, ModelInfo]:
        return self._collect("xpusim_register_models", lambda m: m.prefix, "model family")

    @cached_property
    def spec_dirs(self) -> list[Path]:
        dirs = [SPEC_DIR]
        for impl in reversed(self._impls("xpusim_spec_dirs")):
            dirs += [Path(d) for d in self._call(impl, "xpusim_spec_dirs") or []]
        return dirs

    @staticmethod
    def _lookup(table: dict[str, Any], kind: str, name: str) -> Any:
        if name not in table:
            raise UnknownNameError(kind, name, table)
        return table[name]

    def backend(self, name: str) -> BackendInfo:
        return self._lookup(self.backends, "backend", name)

    def method(self, name: str) -> MethodInfo:
        return self._lookup(self.methods, "method", name)

    def dataset(self, name: str) -> Any:
        """Load data set ``name`` or ``name:ARG``."""
        base, _, arg = name.partition(":")
        return self._lookup(self.datasets, "data set", base).load(arg or None)

    def model(self, name: str) -> Any:
        """Parse a model name such as ``mlp:64-256-10``."""
        prefix, _, args = name.partition(":")
        return self._lookup(self.models, "model family", prefix).parse(args)

    # -- specs ---------------------------------------------------------------------------------

    def spec_files(self) -> dict[str, Path]:
        """Spec name -> file, over the built-in folder and plugins' folders (first wins)."""
        files: dict[str, Path] = {}
        for folder in self.spec_dirs:
            for path in sorted(Path(folder).glob("*.toml")):
                files.setdefault(path.stem, path)
        return files

    def params_class(self, backend: str) -> type:
        if backend not in self.backends:
            err = UnknownNameError("backend", backend, self.backends)
            raise SpecError(f"backend: {err}")
        return self.backends[backend].params

    def load_spec(self, ref: str | Path, overrides: Sequence[str] = ()) -> Spec:
        """Load a spec by name (``h100-sxm``) or path, apply ``--set`` overrides, validate."""
        path = Path(ref)
        if not (str(ref).endswith(".toml") or path.exists()):
            files = self.spec_files()
            if str(ref) not in files:
                raise UnknownNameError("spec", str(ref), files)
            path = files[str(ref)]
        raw = read_toml(path)

        def params_for(backend: str) -> type:
            try:
                return self.params_class(backend)
            except SpecError as exc:
                raise SpecError(f"{path.name}: {exc}") from None

        return spec_from_dict(raw, params_for, where=path.name, path=path, overrides=overrides)

    def capabilities(self, spec: Spec) -> Capabilities:
        """What ``spec``'s device declares (memory, peak per format, on-chip weights)."""
        info = self.backend(spec.backend)
        if info.capabilities is None:
            return NONE_DECLARED
        try:
            caps = info.capabilities(spec)
        except XpusimError:
            raise
        except Exception as exc:  # a plugin bug: name it
            raise PluginError(f"backend {info.name!r}: capabilities of spec {spec.name!r} "
                              f"raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(caps, Capabilities):
            raise PluginError(f"backend {info.name!r}: capabilities returned "
                              f"{type(caps).__name__}, expected Capabilities")
        return caps

    # -- kernels -------------------------------------------------------------------------------

    def _first(self, hook_name: str, spec: Spec, expected: type, what: str) -> tuple[Any, str]:
        """The first non-None result of a kernel hook, and the plugin that gave it."""
        for impl in self._impls(hook_name):
            result = self._call(impl, hook_name, spec=spec)
            if result is None:
                continue
            if not isinstance(result, expected):
                raise PluginError(f"plugin {impl.plugin_name!r}: {hook_name} returned "
                                  f"{type(result).__name__}, expected {expected.__name__}")
            return result, impl.plugin_name
        raise PluginError(f"no plugin supplies {what} for spec {spec.name!r} "
                          f"(backend {spec.backend!r})")

    def compute_kernels(self, spec: Spec) -> KernelSet:
        """The compute kernels for ``spec`` (error when no plugin supplies them)."""
        kernels, who = self._first("xpusim_compute_kernels", spec, KernelSet, "compute kernels")
        return kernels.stamped(who)

    def cost_model(self, spec: Spec) -> CostModel:
        """The cost model for ``spec`` (error when no plugin supplies one)."""
        cost, who = self._first("xpusim_cost_kernels", spec, CostModel, "cost kernels")
        return cost if cost.provider else attrs.evolve(cost, provider=who)


def _hooks_of(pm: pluggy.PluginManager, plugin: Any) -> tuple[str, ...]:
    return tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or []))


def get_plugin_manager(extra: Iterable[str | ModuleType] = (),
                       autoload: bool | None = None) -> Plugins:
    """A fresh plugin manager: built-ins, entry points, then ``extra`` modules (names or paths)."""
    pm = pluggy.PluginManager("xpusim")
    pm.add_hookspecs(hookspecs)
    if os.environ.get("XPUSIM_TRACE_PLUGINS") == "1":
        pm.trace.root.setwriter(lambda msg: print(msg, end="", file=sys.stderr))
        pm.enable_tracing()
    records: list[PluginRecord] = []

    builtins = importlib.import_module(BUILTIN_PACKAGE)
    for modname in builtins.BUILTINS:
        module = importlib.import_module(modname)
        pm.register(module, name=modname)
        records.append(PluginRecord(modname, "builtin", _hooks_of(pm, module)))

    if autoload is None:
        autoload = os.environ.get("XPUSIM_DISABLE_PLUGIN_AUTOLOAD", "") not in ("1", "true")
    if autoload:
        for ep in md.entry_points(group=ENTRY_POINT_GROUP):
            dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "?"
            if pm.has_plugin(ep.name):
                continue
            try:
                module = ep.load()
                pm.register(module, name=ep.name)
            except Exception as exc:  # isolate: name it, keep the rest working
                records.append(PluginRecord(ep.name, f"entry point {dist}", (),
                                            error=f"{type(exc).__name__}: {exc}"))
                continue
            records.append(PluginRecord(ep.name, f"entry point {dist}", _hooks_of(pm, module)))

    for ref in extra:
        try:
            module = _load_module(ref)
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(f"plugin {ref!r} failed to import: {type(exc).__name__}: {exc}") \
                from exc
        name = getattr(module, "__name__", str(ref))
        if not pm.is_registered(module):
            try:
                pm.register(module, name=name)
            except pluggy.PluginValidationError as exc:
                detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
                raise PluginError(f"plugin {name!r}: {detail}") from None
            records.append(PluginRecord(name, "module", _hooks_of(pm, module)))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r}: {exc}") from None
    return Plugins(pm, records)
