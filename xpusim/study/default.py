"""The built-in ``xpusim compare`` study: every hardware class with the methods it supports.

It adapts to what is registered: one representative spec per backend (a preferred flagship
where it exists, else the first spec of that backend by name) crossed with every registered
method, incompatible pairs skipped, on ``digits`` over a few seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.specs import read_toml
from .spec import Study, expand

# A flagship per backend, used when that spec is registered; other backends take their first.
PREFERRED = {"gpu": "h100-sxm", "systolic": "tpu-v4", "analog": "pcm-hermes",
             "neuromorphic": "loihi2"}

# Sized to finish well under 10 minutes on 2 cores (see docs/studies.md for the measurement).
MODEL = "mlp:64-32-10"
EPOCHS = 10
SEEDS = 3


def representative_specs(pm: Any) -> dict[str, str]:
    """backend -> spec name: one spec per registered backend that has a spec file."""
    by_backend: dict[str, list[str]] = {}
    for name, path in sorted(pm.spec_files().items()):
        try:
            backend = read_toml(path).get("backend")
        except Exception:  # noqa: BLE001 - a broken spec file is not a hardware class
            continue
        if isinstance(backend, str) and backend in pm.backends:
            by_backend.setdefault(backend, []).append(name)
    out = {}
    for backend, names in sorted(by_backend.items()):
        pick = PREFERRED.get(backend)
        out[backend] = pick if pick in names else names[0]
    return out


def definition(pm: Any, seeds: int = SEEDS, epochs: int = EPOCHS, model: str = MODEL,
               hardware: Sequence[str] = (), methods: Sequence[str] = (),
               dataset: str = "digits") -> dict[str, Any]:
    """The study definition (what a study TOML file would hold)."""
    hw = list(hardware) or list(representative_specs(pm).values())
    return {
        "name": "compare",
        "description": "xpusim compare: each hardware class with the methods it supports",
        "fixed": {"model": model, "dataset": dataset, "epochs": epochs},
        "axes": {"hardware": hw, "method": list(methods) or sorted(pm.methods),
                 "seed": list(range(seeds))},
        "options": {"skip_incompatible": True},
    }


def default_study(pm: Any = None, plugins: Sequence[str] = (), **kwargs: Any) -> Study:
    """The expanded built-in study (keyword arguments as for ``definition``)."""
    from ..core.plugins import get_plugin_manager

    pm = pm or get_plugin_manager(plugins)
    return expand(definition(pm, **kwargs), pm=pm, where="xpusim compare", plugins=plugins)
