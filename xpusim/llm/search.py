"""Automatic layout search: the fastest parallel layout that fits in device memory.

All candidate layouts (every dp x tp x pp factorisation of the device count, micro-batch sizes,
activation recomputation and optimizer sharding on or off) are priced together: their trace
rows are concatenated and priced by ONE call to the backend's cost kernel, then split.
"""

from __future__ import annotations

import numpy as np

from .estimate import Hardware, OutOfMemoryError, evaluate_layouts
from .model import Transformer
from .parallel import Layout, Layouts, enumerate_layouts


def search_training(model: Transformer, hw: Hardware, devices: int, *, local: bool = False,
                    candidates: Layouts | None = None) -> tuple[Layout, dict, int]:
    """(best layout, evaluation of all candidates, index of the best)."""
    ly = candidates if candidates is not None else enumerate_layouts(model, devices)
    ev = evaluate_layouts(model, hw, ly, local=local)
    ok = ev["fits"]
    if not ev["weights_fit"].any():
        i = int(np.argmin(ev["params_per_device"]))
        raise OutOfMemoryError(
            f"{model.name} does not fit on {devices} x {hw.name} with any layout: the "
            f"smallest share is {float(ev['params_per_device'][i]):.3g} weights per device "
            f"({ly[i].to_dict()}), the chip holds {hw.weight_capacity:.3g}; add devices")
    if not ok.any():
        i = int(np.argmin(np.where(ev["weights_fit"], ev["memory"]["total_bytes"], np.inf)))
        need = float(ev["memory"]["total_bytes"][i]) / 1e9
        raise OutOfMemoryError(
            f"{model.name} does not fit on {devices} x {hw.name} with any layout: the smallest "
            f"needs {need:.1f} GB per device ({ly[i].to_dict()}), "
            f"{float(ev['capacity_bytes']) / 1e9:.1f} GB usable; add devices")
    step = np.where(ok, ev["step_s"], np.inf)
    i = int(np.argmin(step))
    return ly[i], ev, i
