"""Built-in plugins: registered through the same hooks as any third-party plugin.

Every module (or package) under ``xpusim/plugins/hardware`` and ``xpusim/plugins/methods`` is a
built-in plugin, plus ``xpusim.plugins.data`` (data sets) and ``xpusim.plugins.models`` (model
families and layer types); adding a backend needs no edit here.
"""

from __future__ import annotations

import pkgutil
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _discover(sub: str) -> tuple[str, ...]:
    return tuple(f"{__name__}.{sub}.{m.name}"
                 for m in sorted(pkgutil.iter_modules([str(_HERE / sub)]), key=lambda m: m.name)
                 if not m.name.startswith("_"))


BUILTINS: tuple[str, ...] = (f"{__name__}.data", f"{__name__}.models", *_discover("hardware"),
                             *_discover("methods"))
