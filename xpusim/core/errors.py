"""Error types. Every user-facing failure is an ``XpusimError`` with one readable line."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class XpusimError(Exception):
    """Bad input or an impossible request; the CLI prints ``str(exc)`` and exits with ``exit_code``."""

    exit_code = 2


class SpecError(XpusimError):
    """A hardware spec file or override is malformed (message names file, key, value, expectation)."""


class UnknownNameError(XpusimError):
    """A spec, method, model, data set or backend name that nobody registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(known) if known else "none"
        super().__init__(f"unknown {kind} {name!r}{hint} (known: {listing})")
        self.kind, self.name, self.close = kind, name, close


class IncompatibleError(XpusimError):
    """A training method needs a primitive the hardware backend does not provide."""


class PluginError(XpusimError):
    """A plugin failed to import or raised inside a hook; the message names the plugin."""


class CostError(XpusimError):
    """A backend cannot price a primitive of the trace (never a silent zero)."""


class RunDiverged(XpusimError):
    """Training produced NaN or inf; carries the step at which it happened."""

    exit_code = 1

    def __init__(self, step: int, what: str):
        super().__init__(f"training diverged at step {step}: {what}")
        self.step = step


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ``" (did you mean 'x'?)"`` suffix, or an empty string when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
