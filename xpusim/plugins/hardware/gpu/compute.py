"""GPU numerics: operands rounded to the compute format, products accumulated in fp32.

Tensor cores multiply bf16/fp16/fp8/tf32 operands exactly and accumulate in fp32 (NVIDIA A100
and H100 whitepapers); emulated in three stages, each a kernel of the spec's ``KernelSet``
that the device calls (so a plugin that replaces one changes the numerics): ``quantize``
rounds operands and results to the compute format with the ``round_float`` kernel (the shared
``xpusim.numerics.formats`` one), and ``gemm`` multiplies rounded operands with fp32
accumulation. Outputs are stored in the compute format, as mixed-precision frameworks do.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xpusim.numerics.formats import FLOAT_FORMATS


def quantize(x: np.ndarray, fmt: str, round_float: Callable[..., None] | None) -> np.ndarray:
    """``x`` in the compute format (float32 container; fp32 passes through uncopied).

    ``round_float(x, out, *format.kernel_args())`` does the rounding (fp32 needs none).
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    if fmt == "fp32":
        return x
    out = np.empty_like(x)
    round_float(x, out, *FLOAT_FORMATS[fmt].kernel_args())  # type: ignore[misc]
    return out


def gemm(a: np.ndarray, b: np.ndarray, fmt: str) -> np.ndarray:
    """a @ b for operands already in ``fmt``: exact products, fp32 accumulation (BLAS sgemm).

    The result is not rounded back to ``fmt`` (the caller stores it as the framework would).
    """
    return np.matmul(a, b)
