"""LLM-scale estimates: analytic transformer traces priced by the backends' own cost kernels.

    >>> from xpusim.llm import estimate_training, estimate_serving
    >>> r = estimate_training("llama2-70b", "a100-sxm-80gb", devices=2048, tokens=2e12)
    >>> r["device_hours"], r["mfu"], r["parallel"]

Names are imported on first use, so ``xpusim --help`` does not load the cost kernels.
"""

from __future__ import annotations

from xpusim.lazy import lazy_exports

_WHERE = {
    **{name: "estimate" for name in ("OutOfMemoryError", "break_even", "estimate_serving",
                                     "estimate_training", "lifetime_cost", "resolve_hardware")},
    **{name: "model" for name in ("Transformer", "list_models", "load_model")},
    **{name: "parallel" for name in ("Layout", "LayoutError", "parse_layout")},
}

__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
