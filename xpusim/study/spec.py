"""Study files (TOML): fixed settings and axes, expanded into runs with stable hashes.

A study file is checked as a whole before any run starts: every problem (unknown key, axis,
spec, method, model or data set; a ``set`` key no hardware has; a bad value; an empty grid;
incompatible method x hardware pairs) is collected and reported as one ``StudyError`` listing
them all. See ``docs/studies.md`` for the format.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..core.errors import XpusimError
from ..core.results import RunConfig

# RunConfig fields a study may fix or sweep, with the Python types they accept.
FIELDS: dict[str, tuple[type, ...]] = {
    "hardware": (str,), "method": (str,), "model": (str,), "dataset": (str,),
    "epochs": (int,), "batch_size": (int,), "seed": (int,), "lr": (int, float),
    "optimizer": (str,), "momentum": (int, float), "lifetime_inferences": (int, float),
    "serve_hardware": (str,),
}
TABLES = ("set", "option")  # sub-tables of [fixed] and [axes]: spec overrides, method options
TOP_KEYS = ("name", "description", "fixed", "axes", "options")
OPTIONS = {"skip_incompatible": bool, "plugins": list, "exclude": list}
OPTIMIZERS = ("sgd", "momentum", "adam")
DEFAULTS = {f.name: f.default for f in attrs.fields(RunConfig)}
PLAN_LIMIT = 1000
"""Grids larger than this run only when confirmed (``xpusim study run --yes``)."""


class StudyError(XpusimError):
    """A study file that cannot run; the message lists every problem, one per line."""

    def __init__(self, where: str, problems: Sequence[str], hint: str = ""):
        self.problems = list(problems)
        if len(self.problems) == 1:
            text = f"{where}: {self.problems[0]}"
        else:
            text = (f"{where}: {len(self.problems)} problems:\n"
                    + "\n".join(f"  - {p}" for p in self.problems))
        super().__init__(text + (f"\n{hint}" if hint else ""))


@attrs.frozen
class PlannedRun:
    """One run of a study: its configuration, its hash, and the axis values that made it."""

    hash: str
    config: RunConfig
    point: tuple[tuple[str, Any], ...]  # (axis, value) in axis order; "set.x"/"option.x" names

    def config_json(self) -> str:
        return json.dumps(self.config.to_dict(), sort_keys=True, default=str)


@attrs.frozen
class Study:
    """A validated, expanded study."""

    name: str
    description: str
    axes: tuple[str, ...]
    runs: tuple[PlannedRun, ...]
    skipped: tuple[str, ...] = ()  # incompatible or excluded combinations, as readable lines
    notes: tuple[str, ...] = ()    # e.g. set keys that do not apply to some hardware
    definition: Mapping[str, Any] = attrs.field(factory=dict)
    source: str = ""

    @property
    def hashes(self) -> list[str]:
        return [r.hash for r in self.runs]


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _literal(value: Any) -> str:
    """A TOML literal for an override value (what ``--set key=VALUE`` would take)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(value)
    raise TypeError(type(value).__name__)


def _paths(d: Mapping[str, Any], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for k, v in d.items():
        p = f"{prefix}{k}"
        out.add(p)
        if isinstance(v, dict):
            out |= _paths(v, p + ".")
    return out


def _dotted(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"memory": {"bw": 1}}`` -> ``{"memory.bw": 1}`` (TOML dotted keys in ``set`` tables)."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        if isinstance(v, dict):
            out.update(_dotted(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def read(path: str | Path) -> dict[str, Any]:
    """Read a study TOML file (one clear error for a missing or malformed file)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise StudyError(str(path), ["no such study file"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(path.name, [f"malformed TOML: {exc}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StudyError(str(path), [f"cannot read: {exc}"]) from None


def load_study(path: str | Path, pm: Any = None, plugins: Sequence[str] = (),
               allow_plugins: bool = False, load_plugins: bool = True,
               max_runs: int | None = None) -> Study:
    """Read, check and expand a study file.

    Plugins the file names under ``[options] plugins`` are code: they load only with
    ``allow_plugins`` (``--allow-plugins``), resolved against the file's folder, after the
    file passed every structural check, and never when ``load_plugins`` is false (dry runs).
    """
    path = Path(path)
    raw = read(path)
    raw.setdefault("name", path.stem)
    return expand(raw, pm=pm, where=path.name, plugins=plugins, source=str(path),
                  allow_plugins=allow_plugins, load_plugins=load_plugins,
                  base_dir=path.resolve().parent, max_runs=max_runs)


def _finite(value: Any, label: str, problems: list[str]) -> bool:
    """NaN and infinities are never a study value."""
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{label}: expected a finite number, found {value!r}")
        return False
    return True


def _study_plugins(entries: Any, base_dir: Path | None, problems: list[str]) -> list[str]:
    """``[options] plugins``: import names as given, file paths resolved against the study
    file's folder (checked to exist)."""
    out: list[str] = []
    if not isinstance(entries, list):
        return out
    for i, entry in enumerate(entries):
        label = f"options.plugins[{i}]"
        if not isinstance(entry, str) or not entry.strip():
            problems.append(f"{label}: expected a module name or a path to a .py file, "
                            f"found {entry!r}")
            continue
        if entry.endswith(".py") or "/" in entry:
            path = Path(entry).expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            if not path.is_file():
                problems.append(f"{label}: {entry!r}: no such file (paths are relative to "
                                f"the study file)")
                continue
            out.append(str(path))
        elif not all(part.isidentifier() for part in entry.split(".")):
            problems.append(f"{label}: {entry!r} is not a module name")
        else:
            out.append(entry)
    return out


def _check_value(key: str, value: Any, problems: list[str], where: str) -> bool:
    kinds = FIELDS[key]
    ok = isinstance(value, kinds) and not isinstance(value, bool)
    if not ok:
        names = " or ".join("a number" if k is float else
                            {str: "a string", int: "an integer"}[k] for k in kinds
                            if not (k is int and float in kinds))
        problems.append(f"{where}: expected {names}, found {value!r}")
        return False
    if not _finite(value, where, problems):
        return False
    if isinstance(value, str) and not value.strip():
        problems.append(f"{where}: expected a non-empty string, found {value!r}")
    elif key == "seed" and value < 0:
        problems.append(f"{where}: must be >= 0, found {value!r}")
    elif key == "momentum" and not 0 <= value < 1:
        problems.append(f"{where}: must be in [0, 1), found {value!r}")
    elif key == "epochs" and value < 0:
        problems.append(f"{where}: must be >= 0, found {value!r}")
    elif key in ("batch_size",) and value <= 0:
        problems.append(f"{where}: must be > 0, found {value!r}")
    elif key in ("lr",) and value <= 0:
        problems.append(f"{where}: must be > 0, found {value!r}")
    elif key == "lifetime_inferences" and value < 0:
        problems.append(f"{where}: must be >= 0, found {value!r}")
    elif key == "optimizer" and value not in OPTIMIZERS:
        problems.append(f"{where}: unknown optimizer {value!r}{_did_you_mean(value, OPTIMIZERS)}"
                        f" (known: {', '.join(OPTIMIZERS)})")
    else:
        return True
    return False


def expand(raw: Mapping[str, Any], pm: Any = None, where: str = "study",
           plugins: Sequence[str] = (), source: str = "", allow_plugins: bool = False,
           load_plugins: bool = True, base_dir: Path | None = None,
           max_runs: int | None = None) -> Study:
    """Check a study definition (the parsed TOML) and expand it into runs.

    Raises ``StudyError`` listing every problem found; nothing runs unless the whole file is
    valid. ``plugins`` come from the caller (``--plugin``); plugins the definition names load
    only as ``load_study`` describes. A grid of more than ``max_runs`` points is refused.
    """
    from ..core.errors import UnknownNameError
    from ..core.plugins import get_plugin_manager
    from ..core.registry import DataShape
    from ..core.scheduler import check_compatible, check_model_primitives, fit_data

    problems: list[str] = []
    for key in raw:
        if key not in TOP_KEYS:
            problems.append(f"{key}: unknown key{_did_you_mean(key, TOP_KEYS)} "
                            f"(known: {', '.join(TOP_KEYS)})")
    name = raw.get("name", "study")
    if not isinstance(name, str) or not name:
        problems.append(f"name: expected a non-empty string, found {name!r}")
        name = "study"
    description = raw.get("description", "")
    if not isinstance(description, str):
        problems.append(f"description: expected a string, found {description!r}")
        description = ""

    def table(key: str) -> dict[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            problems.append(f"{key}: expected a table ([{key}]), found {value!r}")
            return {}
        return dict(value)

    fixed, axes_raw, options = table("fixed"), table("axes"), table("options")

    # -- options ---------------------------------------------------------------------------
    for key, value in options.items():
        if key not in OPTIONS:
            problems.append(f"options.{key}: unknown option{_did_you_mean(key, OPTIONS)} "
                            f"(known: {', '.join(OPTIONS)})")
        elif not isinstance(value, OPTIONS[key]):
            problems.append(f"options.{key}: expected "
                            f"{'true or false' if OPTIONS[key] is bool else 'a list'}, "
                            f"found {value!r}")
    skip_incompatible = options.get("skip_incompatible") is True
    file_plugins = _study_plugins(options.get("plugins", []), base_dir, problems)
    excludes = options.get("exclude", []) if isinstance(options.get("exclude"), list) else []

    # -- fixed and axes: split into run fields, set (spec overrides) and option (method) -----
    fixed_fields: dict[str, Any] = {}
    fixed_sub: dict[str, dict[str, Any]] = {"set": {}, "option": {}}
    for key, value in fixed.items():
        if key in TABLES:
            if not isinstance(value, dict):
                problems.append(f"fixed.{key}: expected a table ([fixed.{key}]), found {value!r}")
            else:
                fixed_sub[key] = _dotted(value) if key == "set" else dict(value)
        elif key not in FIELDS:
            problems.append(f"fixed.{key}: unknown key{_did_you_mean(key, [*FIELDS, *TABLES])} "
                            f"(known: {', '.join([*FIELDS, *TABLES])})")
        elif _check_value(key, value, problems, f"fixed.{key}"):
            fixed_fields[key] = value

    axes: dict[str, list[Any]] = {}  # axis name ("method", "set.adc_bits", ...) -> values

    def add_axis(label: str, name: str, values: Any, check: Any = None) -> None:
        if not isinstance(values, list):
            problems.append(f"{label}: expected a list of values, found {values!r}")
            return
        if not values:
            problems.append(f"{label}: empty list (the grid would have no runs)")
            return
        seen: list[Any] = []
        good = True
        for i, v in enumerate(values):
            if check is not None and not check(v, f"{label}[{i}]"):
                good = False
            if v in seen:
                problems.append(f"{label}: value {v!r} is listed twice")
                good = False
            seen.append(v)
        if good:
            axes[name] = list(values)

    for key, values in axes_raw.items():
        if key in TABLES:
            if not isinstance(values, dict):
                problems.append(f"axes.{key}: expected a table ([axes.{key}]), found {values!r}")
                continue
            for sub, subvalues in (_dotted(values) if key == "set" else values).items():
                label = f"axes.{key}.{sub}"
                if sub in fixed_sub[key]:
                    problems.append(f"{label}: also fixed in [fixed.{key}]; keep one")
                    continue

                def scalar(v: Any, lab: str) -> bool:
                    if isinstance(v, (dict, list)) or v is None:
                        problems.append(f"{lab}: expected a number, string or boolean, "
                                        f"found {v!r}")
                        return False
                    return _finite(v, lab, problems)

                add_axis(label, f"{key}.{sub}", subvalues, scalar)
        elif key not in FIELDS:
            problems.append(f"axes.{key}: unknown axis{_did_you_mean(key, [*FIELDS, *TABLES])} "
                            f"(known: {', '.join([*FIELDS, *TABLES])})")
        elif key in fixed_fields or key in fixed:
            problems.append(f"axes.{key}: also set in [fixed]; keep one")
        else:
            add_axis(f"axes.{key}", key, values,
                     lambda v, lab, k=key: _check_value(k, v, problems, lab))

    for i, ex in enumerate(excludes):
        if not isinstance(ex, dict) or not ex:
            problems.append(f"options.exclude[{i}]: expected a table such as "
                            f"{{hardware = \"...\", method = \"...\"}}, found {ex!r}")
            continue
        for k in ex:
            if k not in axes:
                problems.append(f"options.exclude[{i}].{k}: not an axis of this study"
                                f"{_did_you_mean(k, axes)} (axes: {', '.join(axes) or 'none'})")

    for key in ("set", "option"):
        for sub, value in fixed_sub[key].items():
            if isinstance(value, (dict, list)) or value is None:
                problems.append(f"fixed.{key}.{sub}: expected a number, string or boolean, "
                                f"found {value!r}")
            else:
                _finite(value, f"fixed.{key}.{sub}", problems)

    size = math.prod(len(v) for v in axes.values())
    if max_runs is not None and size > max_runs:
        problems.append(f"the grid has {size:,} points, more than {max_runs:,}: check the "
                        f"axes, or pass --yes to run them all")
    if file_plugins and not allow_plugins:
        problems.append(f"options.plugins: this file names plugin code "
                        f"({', '.join(file_plugins)}); plugins named in a study file load only "
                        f"with --allow-plugins")

    if problems:  # structural problems first: names below would only add noise
        raise StudyError(where, problems)

    # -- names: specs, methods, models, data sets --------------------------------------------
    # Plugins the file names load only now: the file is valid as data, and they were allowed.
    study_plugins = tuple(plugins) + (tuple(file_plugins) if load_plugins else ())
    unloaded = ("; the study's plugins are not loaded on a dry run"
                if file_plugins and not load_plugins else "")
    pm = pm or get_plugin_manager(study_plugins)
    hardware = axes.get("hardware", [fixed_fields.get("hardware", DEFAULTS["hardware"])])
    methods = axes.get("method", [fixed_fields.get("method", DEFAULTS["method"])])
    models = axes.get("model", [fixed_fields.get("model", DEFAULTS["model"])])
    datasets = axes.get("dataset", [fixed_fields.get("dataset", DEFAULTS["dataset"])])

    specs: dict[str, Any] = {}
    for hw in hardware:
        try:
            specs[hw] = pm.load_spec(hw)
        except XpusimError as exc:
            problems.append(f"hardware {hw!r}: {exc}{unloaded}")
    for m in methods:
        if m not in pm.methods:
            problems.append(str(UnknownNameError("method", m, pm.methods)) + unloaded)
    loaded: dict[str, Any] = {}
    for ds in datasets:
        try:
            loaded[ds] = pm.dataset(ds)
        except XpusimError as exc:
            problems.append(f"dataset {ds!r}: {exc}")
    graphs: dict[str, Any] = {}
    for mod in models:
        for ds, d in loaded.items():
            try:
                graphs[mod] = pm.model(mod, DataShape(d.sample_shape, d.n_classes, d.task))
                fit_data(graphs[mod], d, mod, ds)
            except XpusimError as exc:
                problems.append(f"model {mod!r}: {exc}")
                break

    # -- spec overrides: which hardware has each key ----------------------------------------
    set_keys = list(fixed_sub["set"]) + [a[4:] for a in axes if a.startswith("set.")]
    spec_paths = {hw: _paths(s.to_dict()) - {"name", "backend", "description", "source"}
                  for hw, s in specs.items()}
    applies: dict[str, set[str]] = {}
    notes: list[str] = []
    for key in set_keys:
        label = f"fixed.set.{key}" if key in fixed_sub["set"] else f"axes.set.{key}"
        applies[key] = {hw for hw, paths in spec_paths.items() if key in paths}
        if specs and not applies[key]:
            every = set().union(*spec_paths.values())
            problems.append(f"{label}: no hardware in this study has this key"
                            f"{_did_you_mean(key, every)} "
                            f"(hardware: {', '.join(specs)})")
        elif len(applies[key]) < len(specs):
            notes.append(f"set {key}: does not apply to "
                         f"{', '.join(hw for hw in specs if hw not in applies[key])} "
                         f"(those run without it)")

    # -- method options: which methods take each option ------------------------------------
    option_keys = list(fixed_sub["option"]) + [a[7:] for a in axes if a.startswith("option.")]
    takes: dict[str, set[str]] = {}
    known_methods = [m for m in methods if m in pm.methods]
    for key in option_keys:
        label = f"fixed.option.{key}" if key in fixed_sub["option"] else f"axes.option.{key}"
        declared = {m: pm.method(m).options for m in known_methods}
        takes[key] = {m for m, opts in declared.items() if opts is None or key in opts}
        if known_methods and not takes[key]:
            every = sorted(set().union(*(o for o in declared.values() if o)))
            problems.append(f"{label}: no method of this study takes this option"
                            f"{_did_you_mean(key, every)} ("
                            + "; ".join(f"{m}: {', '.join(sorted(o)) or 'none'}"
                                        for m, o in declared.items()) + ")")
        elif len(takes[key]) < len(known_methods):
            notes.append(f"option {key}: not taken by "
                         f"{', '.join(m for m in known_methods if m not in takes[key])} "
                         f"(those run without it)")

    # -- compatibility -------------------------------------------------------------------------
    incompatible: dict[tuple[str, str, str], str] = {}
    for hw, spec in specs.items():
        for m in methods:
            if m not in pm.methods:
                continue
            for mod, graph in graphs.items():
                try:
                    check_compatible(pm.method(m), pm.backend(spec.backend), spec.name)
                    check_model_primitives(graph, pm.backend(spec.backend), spec.name, mod)
                    check = getattr(pm.method(m).factory, "check_model", None)
                    if check is not None:
                        check(graph)
                except XpusimError as exc:
                    incompatible[(hw, m, mod)] = str(exc)
                except Exception:  # noqa: BLE001 - an unknown backend is reported by load_spec
                    pass
    hint = ""
    if incompatible and not skip_incompatible:
        problems += [f"incompatible: {why}" for why in dict.fromkeys(incompatible.values())]
        hint = (f"hint: {len(incompatible)} incompatible method x hardware x model "
                f"combination(s); change the "
                f"axes, or set skip_incompatible = true under [options] to skip them")
    if problems:
        raise StudyError(where, problems, hint)

    # -- expansion -----------------------------------------------------------------------------
    names = list(axes)
    base = {k: v for k, v in fixed_fields.items()}
    runs: list[PlannedRun] = []
    seen: set[str] = set()
    skipped: list[str] = []
    bad_values: list[str] = []
    spec_hashes: dict[tuple[str, tuple[str, ...]], str] = {}
    for combo in itertools.product(*(axes[n] for n in names)):
        point = dict(zip(names, combo))
        fields = {**base, **{k: v for k, v in point.items() if k in FIELDS}}
        # lr = 1 and lr = 1.0 are the same run (and the same hash)
        fields = {k: float(v) if float in FIELDS[k] else v for k, v in fields.items()}
        hw = fields.get("hardware", DEFAULTS["hardware"])
        method = fields.get("method", DEFAULTS["method"])
        if any(all(point.get(k) == v for k, v in ex.items()) for ex in excludes):
            skipped.append("excluded: " + ", ".join(f"{k}={v}" for k, v in point.items()))
            continue
        model = fields.get("model", DEFAULTS["model"])
        if (hw, method, model) in incompatible:
            skipped.append(f"incompatible: {method} on {hw} with {model}")
            continue
        sets = {**fixed_sub["set"], **{k[4:]: v for k, v in point.items()
                                       if k.startswith("set.")}}
        overrides = tuple(f"{k}={_literal(v)}" for k, v in sets.items()
                          if hw in applies.get(k, ()))
        opts = {k: v for k, v in {**fixed_sub["option"],
                                  **{k[7:]: v for k, v in point.items()
                                     if k.startswith("option.")}}.items()
                if method in takes.get(k, ())}
        key = (hw, overrides)
        if key not in spec_hashes:
            try:
                spec_hashes[key] = pm.load_spec(hw, overrides).hash
            except XpusimError as exc:
                bad_values.append(str(exc))
                spec_hashes[key] = ""
                continue
        if not spec_hashes[key]:
            continue
        serve_hash = None
        if fields.get("serve_hardware") is not None:
            serve_key = (fields["serve_hardware"], ())
            if serve_key not in spec_hashes:
                try:
                    spec_hashes[serve_key] = pm.load_spec(fields["serve_hardware"]).hash
                except XpusimError as exc:
                    bad_values.append(str(exc))
                    spec_hashes[serve_key] = ""
            if not spec_hashes[serve_key]:
                continue
            serve_hash = spec_hashes[serve_key]
        config = RunConfig(**fields, overrides=overrides, options=opts,
                           plugins=study_plugins)
        h = config.hash(RunConfig.spec_hash_of(spec_hashes[key], serve_hash))
        if h in seen:
            continue
        seen.add(h)
        runs.append(PlannedRun(hash=h, config=config, point=tuple(point.items())))
    if bad_values:
        raise StudyError(where, sorted(set(bad_values)))
    if not runs:
        raise StudyError(where, ["empty grid: every combination was skipped "
                                 f"({len(skipped)} skipped)" if skipped else "empty grid"])
    definition = json.loads(json.dumps(dict(raw), default=str))
    return Study(name=name, description=description, axes=tuple(names), runs=tuple(runs),
                 skipped=tuple(dict.fromkeys(skipped)), notes=tuple(notes), definition=definition,
                 source=source)
