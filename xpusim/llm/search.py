"""Automatic layout search: the fastest parallel layout that fits in device memory.

All candidate layouts (every dp x tp x pp factorisation of the device count, micro-batch sizes,
recomputation, ZeRO stages, sequence parallelism, interleaving; keys a ``--parallel`` string
gives are held) are priced together: the rows of their distinct (tp, micro-batch, recompute,
sp, flash) combinations are concatenated and priced by ONE call of the backend's cost kernel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .estimate import Hardware, OutOfMemoryError, evaluate_layouts
from .model import Transformer
from .parallel import Layout, Layouts, enumerate_layouts
from .stacks import Stack


def search_training(model: Transformer, hw: Hardware, devices: int, *, local: bool = False,
                    candidates: Layouts | None = None, fixed: Mapping[str, Any] | None = None,
                    stack: Stack | str | None = None) -> tuple[Layout, dict, int]:
    """(best layout, evaluation of all candidates, index of the best), every candidate run by
    the software ``stack`` (``stacks.py``)."""
    ly = candidates if candidates is not None else enumerate_layouts(model, devices, fixed=fixed)
    ev = evaluate_layouts(model, hw, ly, local=local, stack=stack)
    ok = ev["fits"]
    if not ev["weights_fit"].any():
        i = int(np.argmin(ev["params_per_device"]))
        raise OutOfMemoryError(
            f"{model.name} does not fit on {devices} x {hw.name} with any layout: the "
            f"smallest share is {float(ev['params_per_device'][i]):.3g} weights per device "
            f"({ly[i].describe()}), the chip holds {hw.weight_capacity:.3g}; add devices")
    if not ok.any():
        i = int(np.argmin(np.where(ev["weights_fit"], ev["memory"]["total_bytes"], np.inf)))
        need = float(ev["memory"]["total_bytes"][i]) / 1e9
        raise OutOfMemoryError(
            f"{model.name} does not fit on {devices} x {hw.name} with any layout: the smallest "
            f"needs {need:.1f} GB per device ({ly[i].describe()}), "
            f"{float(ev['capacity_bytes']) / 1e9:.1f} GB usable; add devices")
    step = np.where(ok, ev["step_s"], np.inf)
    i = int(np.argmin(step))
    return ly[i], ev, i
