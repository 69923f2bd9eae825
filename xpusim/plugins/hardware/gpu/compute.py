"""GPU numerics: operands rounded to the compute format, products accumulated in fp32.

Tensor cores multiply bf16/fp16/fp8/tf32 operands exactly and accumulate in fp32 (NVIDIA A100
and H100 whitepapers); emulated here by rounding operands with the shared format kernels
(``xpusim.numerics.formats``) and an fp32 BLAS product. Outputs are stored in the compute
format, as mixed-precision frameworks do.
"""

from __future__ import annotations

import numpy as np

from xpusim.numerics.formats import to_format


def quantize(x: np.ndarray, fmt: str) -> np.ndarray:
    """``x`` in the compute format (float32 container; fp32 passes through uncopied)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    return x if fmt == "fp32" else to_format(x, fmt)


def gemm(a: np.ndarray, b: np.ndarray, fmt: str) -> np.ndarray:
    """a @ b with operands in ``fmt`` and fp32 accumulation, result stored in ``fmt``."""
    return quantize(quantize(a, fmt) @ quantize(b, fmt), fmt)
