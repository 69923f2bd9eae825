"""LLM-scale estimates: analytic transformer traces priced by the backends' own cost kernels.

    >>> from xpusim.llm import estimate_training, estimate_serving
    >>> r = estimate_training("llama2-70b", "a100-sxm-80gb", devices=2048, tokens=2e12)
    >>> r["device_hours"], r["mfu"], r["parallel"]
"""

from __future__ import annotations

from .estimate import (OutOfMemoryError, break_even, estimate_serving, estimate_training,
                       lifetime_cost, resolve_hardware)
from .model import Transformer, list_models, load_model
from .parallel import Layout, LayoutError, parse_layout

__all__ = ["Layout", "LayoutError", "OutOfMemoryError", "Transformer", "break_even",
           "estimate_serving", "estimate_training", "lifetime_cost", "list_models", "load_model",
           "parse_layout", "resolve_hardware"]
