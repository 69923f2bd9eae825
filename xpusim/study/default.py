"""The built-in ``xpusim compare`` study: every hardware class with the methods it supports.

It adapts to what is registered: one representative spec per backend (a preferred flagship
where it exists, else the first spec of that backend by name) crossed with every registered
method, incompatible pairs skipped, on ``digits`` over a few seeds. Each hardware trains with
the first optimizer its device accepts (Adam, else plain SGD at ``SGD_LR``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# OPTIMIZERS are tried per hardware, in order: the first one its device accepts is used, as
# `xpusim run` does. Devices without optimizer state (on-chip learning engines) take plain SGD
# at SGD_LR (the methods' defaults are tuned for Adam).
from ..api import OPTIMIZERS, SGD_LR
from ..core.specs import read_toml
from .spec import Study, StudyError, expand

# A flagship per backend, used when that spec is registered; other backends take their first.
PREFERRED = {"gpu": "h100-sxm", "systolic": "tpu-v4", "analog": "pcm-hermes",
             "neuromorphic": "loihi2"}

# Sized to finish in under 3 minutes on 2 cores (see docs/studies.md for the measurement): an
# MLP and a small CNN, so that the comparison shows a convolutional layer on every backend.
MODEL = "mlp:64-32-10"
MODELS = (MODEL, "cnn:c8k3-m2-d32")
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


def accepted_optimizer(pm: Any, spec: str, methods: Sequence[str], model: str = MODEL,
                       dataset: str = "digits") -> str | None:
    """The first of ``OPTIMIZERS`` that ``spec``'s device accepts (probed with 0-epoch runs).

    None when no method can run on it or its device refuses every optimizer.
    """
    from ..core.errors import IncompatibleError, XpusimError
    from ..core.results import RunConfig
    from ..core.scheduler import check_compatible, run

    try:
        loaded = pm.load_spec(spec)
        backend = pm.backend(loaded.backend)
    except XpusimError:
        return OPTIMIZERS[0]  # let the study report the problem
    usable = []
    for m in methods:
        try:
            check_compatible(pm.method(m), backend, spec)
            usable.append(m)
        except XpusimError:
            continue
    if not usable:
        return None
    for opt in OPTIMIZERS:
        try:
            run(RunConfig(hardware=spec, method=usable[0], model=model, dataset=dataset,
                          epochs=0, optimizer=opt), plugins=pm)
            return opt
        except IncompatibleError:
            continue
        except Exception:  # noqa: BLE001 - another problem: the runs will report it
            return opt
    return None


def definitions(pm: Any, seeds: int = SEEDS, epochs: int = EPOCHS,
                models: Sequence[str] = MODELS, hardware: Sequence[str] = (),
                methods: Sequence[str] = (), dataset: str = "digits") -> list[dict[str, Any]]:
    """The study as one grid per hardware (what study TOML files would hold)."""
    hw_list = list(hardware) or list(representative_specs(pm).values())
    method_list = list(methods) or sorted(pm.methods)
    out = []
    for hw in hw_list:
        opt = accepted_optimizer(pm, hw, method_list, models[0], dataset)
        fixed: dict[str, Any] = {"dataset": dataset, "epochs": epochs,
                                 "optimizer": opt or OPTIMIZERS[0]}
        if opt == "sgd":
            fixed["lr"] = SGD_LR
        out.append({
            "name": "compare",
            "description": "xpusim compare: each hardware class with the methods it supports",
            "fixed": fixed,
            "axes": {"hardware": [hw], "method": method_list, "model": list(models),
                     "seed": list(range(seeds))},
            "options": {"skip_incompatible": True},
        })
    return out


def default_study(pm: Any = None, plugins: Sequence[str] = (), **kwargs: Any) -> Study:
    """The expanded built-in study (keyword arguments as for ``definitions``)."""
    from ..core.plugins import get_plugin_manager

    pm = pm or get_plugin_manager(plugins)
    parts = []
    skipped_hw = []
    for d in definitions(pm, **kwargs):
        try:
            parts.append(expand(d, pm=pm, where="xpusim compare", plugins=plugins))
        except StudyError as exc:
            if all(p.startswith("empty grid") for p in exc.problems):
                skipped_hw.append(f"{d['axes']['hardware'][0]}: no method can run on it")
                continue
            raise
    if not parts:
        raise StudyError("xpusim compare", ["no hardware with a method that can run on it"])
    runs, seen = [], set()
    for part in parts:
        for r in part.runs:
            if r.hash not in seen:
                seen.add(r.hash)
                runs.append(r)
    return Study(name="compare", description=parts[0].description,
                 axes=("hardware", "method", "model", "seed"), runs=tuple(runs),
                 skipped=tuple(x for p in parts for x in p.skipped) + tuple(skipped_hw),
                 notes=tuple(x for p in parts for x in p.notes),
                 definition={"name": "compare", "grids": [p.definition for p in parts]},
                 source="xpusim compare")
