"""Threaded and serial numba builds of one kernel body, cached apart.

numba's on-disk cache names an entry by the function's qualified name and first line and keys
it by signature, not by compile flags: ``njit(parallel=True)(f)`` and ``njit(f)`` would share
one entry, and whichever compiled first would serve both. The serial build here compiles a copy
of ``f`` under another qualified name, so each build has its own entry."""

from __future__ import annotations

import types
from typing import Callable

from numba import njit


def threaded_and_serial(fn: Callable) -> tuple[Callable, Callable]:
    """(``njit(cache=True, parallel=True)(fn)``, ``njit(cache=True)`` of a renamed copy)."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial",
                              fn.__defaults__, fn.__closure__)
    copy.__qualname__ = fn.__qualname__ + "_serial"
    copy.__doc__ = fn.__doc__
    return njit(cache=True, parallel=True)(fn), njit(cache=True)(copy)
