"""LLM-scale estimates: analytic transformer traces priced by the backends' own cost kernels.

    >>> from xpusim.llm import estimate_training, estimate_serving
    >>> r = estimate_training("llama2-70b", "a100-sxm-80gb", devices=2048, tokens=2e12)
    >>> r["device_hours"], r["mfu"], r["parallel"]

Names are imported on first use, so ``xpusim --help`` does not load the cost kernels.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    **{name: "estimate" for name in ("OutOfMemoryError", "break_even", "estimate_serving",
                                     "estimate_training", "lifetime_cost", "resolve_hardware")},
    **{name: "model" for name in ("Transformer", "list_models", "load_model")},
    **{name: "parallel" for name in ("Layout", "LayoutError", "parse_layout")},
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
