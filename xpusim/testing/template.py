"""Describe a backend's parameter class: rows for the spec reference, a commented TOML template.

``spec_template(info)`` is what ``xpusim specs new BACKEND`` prints: every key of the backend's
attrs parameter class with its unit, doc and default. Keys with a default are written with
that value; required keys are commented out (``# key = ...  # REQUIRED``), so that
``xpusim specs validate`` on an unfilled template lists exactly what is still missing.
"""

from __future__ import annotations

import math
import typing
from typing import Any, Literal

import attrs

__all__ = ["ParamRow", "param_rows", "spec_template", "toml_value", "type_name"]


@attrs.frozen
class ParamRow:
    """One leaf key of a parameter class (nested classes become dotted paths)."""

    path: str
    type: str
    unit: str
    doc: str
    required: bool
    default: Any = None
    table_doc: str = ""  # docstring (first line) of the class the key belongs to


def type_name(t: Any) -> str:
    """A short readable type: ``float``, ``int``, ``bool``, ``"a" | "b"``, ``list[float]``."""
    if typing.get_origin(t) is Literal:
        return " | ".join(repr(c).replace("'", '"') for c in typing.get_args(t))
    origin = typing.get_origin(t)
    if origin is not None:
        args = ", ".join(type_name(a) for a in typing.get_args(t))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    return getattr(t, "__name__", str(t))


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0].strip() if (doc or "").strip() else ""


def _default(field: attrs.Attribute) -> tuple[bool, Any]:
    if field.default is attrs.NOTHING:
        return True, None
    if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
        if field.default.takes_self:
            return True, None
        return False, field.default.factory()
    return False, field.default


def param_rows(cls: type, prefix: str = "") -> list[ParamRow]:
    """Every leaf key of ``cls`` (an attrs class), depth first, in declaration order."""
    try:
        attrs.resolve_types(cls)
    except NameError:  # annotations that cannot be resolved stay strings
        pass
    rows: list[ParamRow] = []
    for field in attrs.fields(cls):
        path = f"{prefix}{field.name}"
        if isinstance(field.type, type) and attrs.has(field.type):
            rows += param_rows(field.type, path + ".")
            continue
        required, default = _default(field)
        rows.append(ParamRow(path=path, type=type_name(field.type),
                             unit=str(field.metadata.get("unit", "")),
                             doc=str(field.metadata.get("doc", "")), required=required,
                             default=default, table_doc=_first_line(cls.__doc__)))
    return rows


def toml_value(value: Any) -> str:
    """A Python value as a TOML literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


def _comment(row: ParamRow) -> str:
    bits = []
    if row.unit:
        bits.append(f"[{row.unit}]")
    bits.append(row.type)
    if row.doc:
        bits.append(f"-- {row.doc}")
    return " ".join(bits)


def spec_template(backend_info: Any, name: str = "my-chip") -> str:
    """A commented TOML template for a new spec of ``backend_info`` (a ``BackendInfo``)."""
    cls = backend_info.params
    rows = param_rows(cls)
    out = [f"# xpusim hardware spec for backend {backend_info.name!r}"
           + (f": {backend_info.doc}" if backend_info.doc else ""),
           "# Every number needs a [source] entry: a citation, or \"assumption: ...\".",
           "# Keys marked REQUIRED are commented out: fill them in and uncomment them;",
           "# the others show their default (delete a line to keep the default).",
           "# Check it with: xpusim specs validate THIS_FILE.toml",
           "",
           f"name = {toml_value(name)}",
           f"backend = {toml_value(backend_info.name)}",
           'description = ""']
    tables: dict[str, list[ParamRow]] = {}
    for row in rows:
        table, _, _ = row.path.rpartition(".")
        tables.setdefault(table, []).append(row)
    # Top-level keys must come before any [table] in TOML.
    for table, members in sorted(tables.items(), key=lambda item: item[0] != ""):
        if table:
            out.append("")
            if members[0].table_doc:
                out.append(f"# {members[0].table_doc}")
            out.append(f"[{table}]")
        for row in members:
            key = row.path.rpartition(".")[2]
            out.append(f"# {_comment(row)}")
            if row.required:
                out.append(f"# {key} = ...  # REQUIRED")
            else:
                out.append(f"{key} = {toml_value(row.default)}")
    out += ["", "[source]",
            "# One entry per number (or per table), keyed by its dotted path, for example:"]
    for row in rows[:3]:
        out.append(f'# "{row.path}" = "datasheet, page N"  (or "assumption: why")')
    return "\n".join(out) + "\n"
