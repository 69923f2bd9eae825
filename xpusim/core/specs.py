"""Hardware spec files: TOML -> a validated, frozen ``Spec`` holding the backend's attrs params.

A spec file has ``name``, ``backend``, optional ``description``, a ``[source]`` table (field
path -> citation or ``assumption: ...``) and, at the top level, the backend's parameters.
Overrides (``--set a.b=v``) are applied to the raw dict before structuring, so they pass the
same checks. Every problem is reported as ``file: key.path: what was found, what was expected``.
"""

from __future__ import annotations

import datetime
import hashlib
import heapq
import json
import math
import sys
import tomllib
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
import cattrs
from cattrs.errors import ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn

from .errors import SpecError, did_you_mean

META_KEYS = ("name", "backend", "description", "source")
INTERCONNECT_KEY = "interconnect"
"""Optional hardware-neutral ``[interconnect]`` table: parsed into ``Spec.interconnect``, never
passed to the backend's parameters (used by LLM-scale estimates for communication)."""


# ---------------------------------------------------------------------------------------------
# Declaring parameters
# ---------------------------------------------------------------------------------------------


class SpecValueError(ValueError):
    """A field value outside its allowed range; ``field`` is the attribute name."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field


#: Largest integer a spec may hold: packed cost parameters are float64, exact up to 2**53.
MAX_INT = 2 ** 53
#: Deepest nesting of tables (and arrays) a spec file or ``--set`` key may have.
MAX_DEPTH = 16
#: Unknown keys listed one by one per table (with did-you-mean); the rest are counted.
MAX_UNKNOWN_LISTED = 20


def _range_validator(gt: float | None, ge: float | None, le: float | None, lt: float | None,
                     finite: bool):
    def check(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, float):
            if finite and not math.isfinite(value):
                raise SpecValueError(attribute.name, f"must be a finite number, found {value!r}")
            if value != 0.0 and abs(value) < sys.float_info.min:
                raise SpecValueError(attribute.name, f"must be 0 or at least "
                                     f"{sys.float_info.min:.4g} in size (a subnormal number "
                                     f"is no physical quantity), found {value!r}")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise SpecValueError(attribute.name, f"must be at most 2**53 in size, found {value!r}")
        if gt is not None and not value > gt:
            raise SpecValueError(attribute.name, f"must be > {gt}, found {value!r}")
        if ge is not None and not value >= ge:
            raise SpecValueError(attribute.name, f"must be >= {ge}, found {value!r}")
        if le is not None and not value <= le:
            raise SpecValueError(attribute.name, f"must be <= {le}, found {value!r}")
        if lt is not None and not value < lt:
            raise SpecValueError(attribute.name, f"must be < {lt}, found {value!r}")

    return check


def quantity(*, unit: str, doc: str, default: Any = attrs.NOTHING, gt: float | None = None,
             ge: float | None = None, le: float | None = None, lt: float | None = None,
             finite: bool = True) -> Any:
    """An attrs field for a spec number: unit and doc kept in metadata, range validated.

    Every quantity is finite (``inf``, ``nan`` and ``1e400``, which TOML reads as ``inf``, are
    refused) unless ``finite=False``, never subnormal, and an integer stays within 2**53;
    ``gt``/``ge``/``le``/``lt`` add the key's physical bounds (the backend's ``params.py``
    says why each bound holds).
    """
    return attrs.field(default=default, validator=_range_validator(gt, ge, le, lt, finite),
                       metadata={"unit": unit, "doc": doc})


def option(*, doc: str, default: Any = attrs.NOTHING) -> Any:
    """An attrs field for a non-numeric spec setting (a choice, a flag, a name)."""
    return attrs.field(default=default, metadata={"unit": "", "doc": doc})


def check(condition: bool, field: str, message: str) -> None:
    """Raise a ``SpecValueError`` for cross-field checks in ``__attrs_post_init__``."""
    if not condition:
        raise SpecValueError(field, message)


# ---------------------------------------------------------------------------------------------
# Structuring with clear errors
# ---------------------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    """A raw TOML value as a message shows it (dates and times by their TOML text)."""
    if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date
        return f"the TOML {type(value).__name__} {value.isoformat()}"
    return repr(value)


def _strict_number(kind: type):
    def structure(value: Any, _t: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecValueError(None, f"expected a number, found {_shown(value)}")
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise SpecValueError(None, f"expected an integer, found {value!r}")
            return int(value)
        return float(value)

    return structure


def _strict_bool(value: Any, _t: Any) -> bool:
    if not isinstance(value, bool):
        raise SpecValueError(None, f"expected true or false, found {_shown(value)}")
    return value


def _strict_str(value: Any, _t: Any) -> str:
    if not isinstance(value, str):
        raise SpecValueError(None, f"expected a string, found {_shown(value)}")
    return value


def _is_literal(t: Any) -> bool:
    return typing.get_origin(t) is Literal


def _structure_literal(value: Any, t: Any) -> Any:
    choices = typing.get_args(t)
    if value not in choices:
        hint = did_you_mean(str(value), [str(c) for c in choices])
        raise SpecValueError(None, f"expected one of {', '.join(repr(c) for c in choices)}, "
                                   f"found {_shown(value)}{hint}")
    return value


def _table_factory(conv: cattrs.Converter):
    def factory(cls: type) -> Any:
        inner = make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True)

        def structure(value: Any, _t: Any) -> Any:
            if not isinstance(value, Mapping):
                raise SpecValueError(None, f"expected a table of {cls.__name__} keys, "
                                           f"found {_shown(value)}")
            return inner(value, _t)

        return structure

    return factory


def make_converter() -> cattrs.Converter:
    """The spec converter: unknown keys forbidden, numbers/bools/strings/choices strict."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook_factory(attrs.has, _table_factory(conv))
    conv.register_structure_hook(float, _strict_number(float))
    conv.register_structure_hook(int, _strict_number(int))
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook_func(_is_literal, _structure_literal)
    return conv


CONVERTER = make_converter()


def _format(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, SpecValueError):
        return f"{exc.field}\x1f{exc}" if exc.field else str(exc)
    if isinstance(exc, ForbiddenExtraKeysError):
        known = [a.name for a in attrs.fields(exc.cl)] if attrs.has(exc.cl) else []
        extra = heapq.nsmallest(MAX_UNKNOWN_LISTED + 1, map(str, exc.extra_fields))
        more = len(exc.extra_fields) - MAX_UNKNOWN_LISTED
        lines = [f"{k}\x1funknown key{did_you_mean(k, known)}"
                 for k in extra[:MAX_UNKNOWN_LISTED]]
        if more > 0:
            lines.append(f"{more} more unknown keys not listed "
                         f"(known: {', '.join(known)})")
        return "\x1e".join(lines)
    if isinstance(exc, KeyError):
        return "missing (required key)"
    return cattrs.v.format_exception(exc, _type)


def _problems(exc: BaseException) -> list[str]:
    """cattrs errors -> ``key.path: message`` lines."""
    lines = []
    for item in cattrs.transform_error(exc, path="$", format_exception=_format):
        msg, _, path = item.rpartition(" @ ")
        path = path.removeprefix("$").lstrip(".")
        for part in msg.split("\x1e"):
            field, sep, text = part.partition("\x1f")
            if sep:
                full = f"{path}.{field}" if path else field
            else:
                full, text = path, field
            lines.append(f"{full or '(top level)'}: {text}")
    return lines


def structure_params(raw: Mapping[str, Any], cls: type, where: str) -> Any:
    """Structure ``raw`` into ``cls``; raise ``SpecError`` with one line per problem."""
    try:
        return CONVERTER.structure(dict(raw), cls)
    except SpecValueError as exc:  # raised by a top-level __attrs_post_init__ check
        key = exc.field or "(top level)"
        raise SpecError(f"{where}: {key}: {exc}") from None
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        lines = _problems(exc) if isinstance(exc, cattrs.BaseValidationError) else [str(exc)]
        raise SpecError("\n".join(f"{where}: {line}" for line in lines)) from None


def unstructure_params(params: Any) -> dict[str, Any]:
    return CONVERTER.unstructure(params)


# ---------------------------------------------------------------------------------------------
# The Spec object and loading
# ---------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Interconnect:
    """How devices of this kind talk to each other (optional ``[interconnect]`` table).

    Per-device, per-direction bandwidths: a ring collective over a group inside one node moves
    data at ``intra_node_bandwidth_gbs``, one that spans nodes at ``inter_node_bandwidth_gbs``.
    """

    intra_node_bandwidth_gbs: float = quantity(
        unit="GB/s", doc="per-device bandwidth to peers in the same node, one direction", gt=0)
    inter_node_bandwidth_gbs: float = quantity(
        unit="GB/s", doc="per-device bandwidth to other nodes (network), one direction", gt=0)
    devices_per_node: int = quantity(unit="devices", gt=0,
                                     doc="devices sharing the fast intra-node links")
    intra_node_latency_us: float = quantity(unit="us", doc="latency per intra-node message hop",
                                            ge=0)
    inter_node_latency_us: float = quantity(unit="us", doc="latency per inter-node message hop",
                                            ge=0)
    intra_node_energy_pj_per_byte: float = quantity(
        unit="pJ/B", doc="energy per byte moved over an intra-node link", ge=0)
    inter_node_energy_pj_per_byte: float = quantity(
        unit="pJ/B", doc="energy per byte moved over the network (NICs, switches, optics)", ge=0)


@attrs.frozen
class Spec:
    """One chip: its name, the backend that simulates it, validated parameters and sources."""

    name: str
    backend: str
    params: Any
    description: str = ""
    sources: Mapping[str, str] = attrs.field(factory=dict)
    path: Path | None = None
    overrides: tuple[str, ...] = ()
    interconnect: Interconnect | None = None
    """The optional ``[interconnect]`` table; not part of ``params`` nor of ``hash``."""

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec as plain data (what a TOML file would hold)."""
        extra = ({INTERCONNECT_KEY: unstructure_params(self.interconnect)}
                 if self.interconnect is not None else {})
        return {"name": self.name, "backend": self.backend, "description": self.description,
                **unstructure_params(self.params), **extra, "source": dict(self.sources)}

    @property
    def hash(self) -> str:
        """sha256 (first 16 hex) of the resolved backend and parameters; sources excluded."""
        payload = {"backend": self.backend, "params": unstructure_params(self.params)}
        blob = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"a.b=3"`` -> (["a", "b"], 3). Values are TOML literals; bare words are strings."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not p for p in key.split(".")):
        raise SpecError(f"--set {text[:200]!r}: expected KEY=VALUE, e.g. dram_bandwidth_gbs=900")
    path = key.split(".")
    if len(path) > MAX_DEPTH:
        raise SpecError(f"--set {'.'.join(path[:3])}...: a key {len(path)} tables deep; spec "
                        f"keys nest at most {MAX_DEPTH} deep")
    value = value.strip()
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    except RecursionError:
        raise SpecError(f"--set {key}: the value nests deeper than a spec value can "
                        f"(at most {MAX_DEPTH})") from None
    check_depth({"v": parsed}, f"--set {key}")
    return path, parsed


def check_depth(raw: Mapping[str, Any], where: str) -> None:
    """Refuse tables or arrays nested more than ``MAX_DEPTH`` deep (iteratively, so that any
    depth gets this message rather than a recursion error)."""
    stack: list[tuple[Any, int, str]] = [(raw, 0, "")]
    while stack:
        node, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            shown = ".".join(path.split(".")[:3])
            raise SpecError(f"{where}: {shown}...: tables or arrays nested more than "
                            f"{MAX_DEPTH} deep; a spec nests at most {MAX_DEPTH} deep")
        for key, value in (node.items() if isinstance(node, Mapping) else enumerate(node)):
            if isinstance(value, (Mapping, list)):
                stack.append((value, depth + 1, f"{path}.{key}" if path else str(key)))


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """A copy of ``raw`` with each ``key.path=value`` set (tables created as needed).

    Only the tables on an override's path are copied: ``raw`` is never changed, and a spec
    with many keys costs nothing extra.
    """
    out = dict(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = out
        for part in path[:-1]:
            nxt = node.get(part, {})
            if not isinstance(nxt, dict):
                raise SpecError(f"--set {text!r}: {part!r} is a value, not a table")
            node[part] = nxt = dict(nxt)
            node = nxt
        node[path[-1]] = value
    return out


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path.name}: malformed TOML: {exc}") from None
    except RecursionError:
        raise SpecError(f"{path.name}: inline tables or arrays nested too deep to read; a spec "
                        f"nests at most {MAX_DEPTH} deep") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read spec file: {exc}") from None
    check_depth(raw, path.name)
    return raw


def spec_from_dict(raw: Mapping[str, Any], params_for: Any, *, where: str,
                   path: Path | None = None, overrides: Sequence[str] = ()) -> Spec:
    """Validate a raw spec mapping. ``params_for(backend)`` returns the backend's attrs class."""
    check_depth(raw, where)
    raw = apply_overrides(dict(raw), overrides)
    for key in ("name", "backend"):
        if key not in raw:
            raise SpecError(f"{where}: {key}: missing (required key)")
        if not isinstance(raw[key], str):
            raise SpecError(f"{where}: {key}: expected a string, found {_shown(raw[key])}")
    sources = raw.get("source", {})
    if not isinstance(sources, dict) or not all(isinstance(v, str) for v in sources.values()):
        raise SpecError(f"{where}: source: expected a table of key = \"citation\" strings")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"{where}: description: expected a string, found "
                        f"{_shown(description)}")
    params_cls = params_for(raw["backend"])
    body = {k: v for k, v in raw.items() if k not in META_KEYS and k != INTERCONNECT_KEY}
    params = structure_params(body, params_cls, where)
    interconnect = None
    if INTERCONNECT_KEY in raw:
        table = raw[INTERCONNECT_KEY]
        if not isinstance(table, Mapping):
            raise SpecError(f"{where}: {INTERCONNECT_KEY}: expected a table, found {table!r}")
        try:
            interconnect = structure_params(table, Interconnect, where)
        except SpecError as exc:  # name the table in every line
            prefix = f"{where}: {INTERCONNECT_KEY}."
            raise SpecError("\n".join(line.replace(f"{where}: ", prefix, 1)
                                      for line in str(exc).splitlines())) from None
    return Spec(name=raw["name"], backend=raw["backend"], params=params, description=description,
                sources=dict(sources), path=path, overrides=tuple(overrides),
                interconnect=interconnect)


def numeric_paths(raw: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of every number in a raw spec body (for source-coverage checks)."""
    out: list[str] = []
    for key, value in raw.items():
        if not prefix and key in META_KEYS:
            continue
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out += numeric_paths(value, path + ".")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(path)
        elif isinstance(value, list) and any(isinstance(v, (int, float)) for v in value):
            out.append(path)
    return out


def uncited(raw: Mapping[str, Any]) -> list[str]:
    """Numbers in ``raw`` with no ``[source]`` entry for their path or any parent table."""
    sources = raw.get("source", {})
    missing = []
    for path in numeric_paths(raw):
        parts = path.split(".")
        if not any(".".join(parts[:i]) in sources for i in range(1, len(parts) + 1)):
            missing.append(path)
    return missing
