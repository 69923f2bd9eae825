"""Number formats: what a trace row's operands are stored in, registered by plugins.

A format has a name, a storage width in bits and a kind (``float``, ``int`` or ``device``: a
representation only one kind of hardware has, such as conductances read through converters
or spike counts). The core names no format; backends declare theirs in
``BackendInfo.formats`` and the plugin manager registers them. Trace rows carry a format's
code (its index in this process's registry, which only grows), so cost kernels can look up
per-format tables of at most ``MAX_FORMATS`` entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import attrs

from .errors import PluginError, UnknownNameError

MAX_FORMATS = 64
"""Capacity of the registry: per-format tables in packed cost parameters have this length."""

Kind = Literal["float", "int", "device"]


@attrs.frozen
class Format:
    """A number format.

    Attributes:
        name: as specs and the CLI write it (``bf16``, ``int8``, ...).
        bits: storage width of one value, or None when the device sets it per row (an analog
            tile's DAC resolution, a spike's graded bits): rows always carry their bits.
        kind: ``float``, ``int`` or ``device``.
        doc: one line for listings.
    """

    name: str
    bits: int | None
    kind: Kind
    doc: str = ""


class FormatRegistry:
    """Process-wide, append-only table of formats; a format's code never changes."""

    def __init__(self) -> None:
        self._formats: list[Format] = []
        self._codes: dict[str, int] = {}

    def register(self, fmt: Format, owner: str = "") -> int:
        """Add ``fmt`` (idempotent for an identical definition) and return its code."""
        known = self._codes.get(fmt.name)
        if known is not None:
            old = self._formats[known]
            if (old.bits, old.kind) != (fmt.bits, fmt.kind):
                raise PluginError(f"format {fmt.name!r} is registered twice with different "
                                  f"definitions: {old.bits} bits {old.kind} and {fmt.bits} "
                                  f"bits {fmt.kind}" + (f" (by {owner})" if owner else ""))
            return known
        if len(self._formats) >= MAX_FORMATS:
            raise PluginError(f"cannot register format {fmt.name!r}: at most {MAX_FORMATS} "
                              "formats per process")
        self._codes[fmt.name] = len(self._formats)
        self._formats.append(fmt)
        return self._codes[fmt.name]

    def register_all(self, formats: Iterable[Format], owner: str = "") -> None:
        for fmt in formats:
            self.register(fmt, owner)

    def code(self, name: str) -> int:
        """The code trace rows store for format ``name``."""
        try:
            return self._codes[name]
        except KeyError:
            raise UnknownNameError("number format", name, self._codes) from None

    def get(self, name: str) -> Format:
        return self._formats[self.code(name)]

    def name(self, code: int) -> str:
        return self._formats[int(code)].name

    def __contains__(self, name: object) -> bool:
        return name in self._codes

    def __len__(self) -> int:
        return len(self._formats)

    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self._formats)

    def all(self) -> tuple[Format, ...]:
        return tuple(self._formats)


FORMATS = FormatRegistry()
"""The registry every trace, device and cost model of this process uses."""


def format_code(name: str) -> int:
    """Code of a registered format (``UnknownNameError`` listing the known ones otherwise)."""
    return FORMATS.code(name)


def format_name(code: int) -> str:
    return FORMATS.name(code)
