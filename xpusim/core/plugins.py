"""The plugin manager and its typed facade: the only place hooks are called.

Load order: built-ins, then the ``xpusim`` entry-point group (unless
``XPUSIM_DISABLE_PLUGIN_AUTOLOAD=1``), then modules named explicitly (API ``plugins=`` or CLI
``--plugin``). A plugin that fails to import or raises in a hook is named in the error; plugins
that fail to import are kept in ``broken`` and the rest keep working.

Hooks run through pluggy (wrappers, tracing and monitoring work); each implementation is
wrapped once so that its errors name it and its results record it (``_blamed``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata as md
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from .registry import BackendInfo, DataShape, DatasetInfo, MethodInfo, ModelInfo
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
        if not path.is_file():
            raise PluginError(f"plugin {ref!r}: no such file")
        _check_module_name(ref, path)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        module.__xpusim_plugin_file__ = True  # type: ignore[attr-defined]
        sys.modules[path.stem] = module
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except BaseException:
            sys.modules.pop(path.stem, None)  # never leave a half-loaded module behind
            raise
        return module
    return importlib.import_module(ref)


#: What each kernel hook must return; checked per implementation, so the plugin is named.
RESULT_TYPES: dict[str, type] = {"xpusim_compute_kernels": KernelSet,
                                 "xpusim_cost_kernels": CostModel}
_BLAMED = "__xpusim_blamed__"


class Supplied(list):  # type: ignore[type-arg]
    """One implementation's result of a list-returning hook, with the plugin that returned it."""

    __slots__ = ("plugin",)

    def __init__(self, items: Iterable[Any], plugin: str):
        super().__init__(items)
        self.plugin = plugin


def _tag(result: Any, plugin: str, hook: str) -> Any:
    """``result`` marked with the plugin that returned it (kernel sets and cost models record
    their supplier, lists become ``Supplied``); a wrong type is that plugin's error."""
    if result is None:
        return None
    expected = RESULT_TYPES.get(hook)
    if expected is not None:
        if not isinstance(result, expected):
            raise PluginError(f"plugin {plugin!r}: {hook} returned {type(result).__name__}, "
                              f"expected {expected.__name__}")
        if isinstance(result, KernelSet) and (
                not result.provider or not all(map(result.provider_of, result.names))):
            return result.stamped(plugin)
        if isinstance(result, CostModel) and not result.provider:
            return attrs.evolve(result, provider=plugin)
        return result
    if isinstance(result, Supplied):
        return result
    if isinstance(result, (str, bytes, Mapping)) or not isinstance(result, Iterable):
        raise PluginError(f"plugin {plugin!r}: {hook} returned {type(result).__name__}, "
                          f"expected a list")
    return Supplied(result, plugin)


def _blamed(impl: Any, hook: str, firstresult: bool) -> Callable[..., Any]:
    """``impl.function`` wrapped so that an exception names its plugin and a result records it.

    Hook wrappers (``wrapper=True`` or ``hookwrapper=True``) stay generators: pluggy sends
    results and throws errors through ``yield from``; an error raised by an inner
    implementation is already a ``PluginError`` and passes through unchanged.
    """
    fn, plugin = impl.function, impl.plugin_name

    def blame(exc: Exception) -> PluginError:
        return PluginError(f"plugin {plugin!r} raised in {hook}: {type(exc).__name__}: {exc}")

    if impl.wrapper or impl.hookwrapper:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                result = yield from fn(*args, **kwargs)
            except PluginError:
                raise
            except Exception as exc:
                raise blame(exc) from exc
            if impl.hookwrapper or result is None:  # old-style: pluggy ignores the value
                return result
            if firstresult:
                return _tag(result, plugin, hook)
            if not isinstance(result, list):
                raise PluginError(f"plugin {plugin!r}: the {hook} wrapper returned "
                                  f"{type(result).__name__}, expected the list of results")
            return [_tag(r, plugin, hook) for r in result]
    else:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                result = fn(*args, **kwargs)
            except PluginError:
                raise
            except Exception as exc:  # a plugin bug: name it, never swallow it
                raise blame(exc) from exc
            return _tag(result, plugin, hook)

    functools.update_wrapper(wrapped, fn)
    setattr(wrapped, _BLAMED, True)
    return wrapped


def _check_module_name(ref: str, path: Path) -> None:
    """A plugin file never replaces an installed or standard-library module of its name."""
    name = path.stem
    if not name.isidentifier():
        raise PluginError(f"plugin {ref!r}: {name!r} is not a valid module name")
    loaded = sys.modules.get(name)
    if loaded is not None:
        # a plugin file loaded before under this name may be replaced; nothing else may
        taken = not getattr(loaded, "__xpusim_plugin_file__", False)
    else:
        try:
            taken = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            taken = True
    if taken:
        raise PluginError(f"plugin {ref!r}: a module named {name!r} is already installed or "
                          f"in the standard library; rename the file")


class Plugins:
    """Typed facade over the pluggy manager; caches registrations, names offenders."""

    def __init__(self, pm: pluggy.PluginManager, records: list[PluginRecord]):
        self.pm = pm
        self.records = records

    # -- calling hooks -------------------------------------------------------------------------

    def hook(self, name: str) -> Any:
        """pluggy's caller of hook ``name``, every implementation blamed (see ``_blamed``).

        Implementations registered since the last call are wrapped on the way, so the facade
        names any plugin, whenever it was registered.
        """
        caller = getattr(self.pm.hook, name)
        firstresult = bool(caller.spec and caller.spec.opts.get("firstresult"))
        for impl in caller.get_hookimpls():
            if not getattr(impl.function, _BLAMED, False):
                impl.function = _blamed(impl, name, firstresult)
        return caller

    def call(self, name: str, **kwargs: Any) -> Any:
        """Call hook ``name`` through pluggy (wrappers, call order, tracing and monitoring).

        List hooks give one ``Supplied`` list per implementation (``.plugin`` names it), in
        pluggy's order; prefer the typed methods below, which check and combine them.
        """
        try:
            return self.hook(name)(**kwargs)
        except PluginError:
            raise
        except Exception as exc:  # raised by pluggy itself, e.g. a wrapper that did not yield
            raise PluginError(f"{name}: {type(exc).__name__}: {exc}") from exc

    def _collect(self, hook_name: str, key: Callable[[Any], str], kind: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        owner: dict[str, str] = {}
        for supplied in reversed(self.call(hook_name)):  # registration order
            plugin = getattr(supplied, "plugin", "?")
            for item in supplied:
                try:
                    name = key(item)
                except AttributeError:
                    raise PluginError(f"plugin {plugin!r}: {hook_name} returned "
                                      f"{type(item).__name__} {item!r} in its list, expected "
                                      f"a {kind} record") from None
                if name in found:
                    raise PluginError(f"{kind} {name!r} is registered twice: by plugin "
                                      f"{owner[name]!r} and by plugin {plugin!r}")
                found[name], owner[name] = item, plugin
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
    def layers(self) -> dict[str, type]:
        """Layer kind -> layer class, over every plugin."""
        return self._collect("xpusim_register_layers", lambda cls: cls.kind, "layer type")

    @cached_property
    def spec_dirs(self) -> list[Path]:
        dirs = [SPEC_DIR]
        for supplied in reversed(self.call("xpusim_spec_dirs")):  # registration order
            dirs += [Path(d) for d in supplied]
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

    def model(self, name: str, data: DataShape) -> Any:
        """The layer graph named ``name`` (``mlp:64-256-10``, ``lenet5``, a model TOML file)
        for data of shape ``data``."""
        if name.endswith(".toml"):
            prefix, args = "toml", name
        else:
            prefix, _, args = name.partition(":")
        return self._lookup(self.models, "model family", prefix).parse(args, data)

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
        """Load a spec by name (``h100-sxm``) or path, apply ``--set`` overrides, validate.

        ``ref`` is a path when it ends in ``.toml`` or contains a path separator, else a spec
        name: a file in the current folder never stands in for a registered spec.
        """
        path = Path(ref)
        text = str(ref)
        if not text.strip():
            raise SpecError("empty spec name: expected a spec name such as 'h100-sxm' (see "
                            "`xpusim specs list`) or a path to a .toml file")
        if not (text.endswith(".toml") or "/" in text or os.sep in text):
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

    def _first(self, hook_name: str, spec: Spec, what: str) -> Any:
        """The first non-None result of a kernel hook, marked with the plugin that gave it."""
        result = self.call(hook_name, spec=spec)
        if result is None:
            raise PluginError(f"no plugin supplies {what} for spec {spec.name!r} "
                              f"(backend {spec.backend!r})")
        expected = RESULT_TYPES[hook_name]
        if not isinstance(result, expected):  # only an old-style hookwrapper's force_result
            raise PluginError(f"{hook_name} returned {type(result).__name__} (forced by a "
                              f"hookwrapper), expected {expected.__name__}")
        return result

    def compute_kernels(self, spec: Spec) -> KernelSet:
        """The compute kernels for ``spec`` (error when no plugin supplies them)."""
        kernels = self._first("xpusim_compute_kernels", spec, "compute kernels")
        return kernels if kernels.provider else kernels.stamped("(a hookwrapper)")

    def cost_model(self, spec: Spec) -> CostModel:
        """The cost model for ``spec`` (error when no plugin supplies one)."""
        cost = self._first("xpusim_cost_kernels", spec, "cost kernels")
        return cost if cost.provider else attrs.evolve(cost, provider="(a hookwrapper)")


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
