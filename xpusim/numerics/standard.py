"""The standard number formats (IEEE 754, bfloat16, TF32, OCP FP8, two's-complement integers),
registered on import so every backend that stores numbers in them shares one definition.

Storage widths: TF32 is a tensor-core math mode on fp32 storage (NVIDIA A100 whitepaper,
2020), so its operands occupy 32 bits in memory; ternary weights take 2 bits, binary 1.
"""

from __future__ import annotations

from xpusim.core.formats import FORMATS, Format

STANDARD: tuple[Format, ...] = (
    Format("fp64", 64, "float", "IEEE 754 binary64"),
    Format("fp32", 32, "float", "IEEE 754 binary32"),
    Format("tf32", 32, "float", "fp32 storage, products rounded to 10 mantissa bits"),
    Format("bf16", 16, "float", "bfloat16: 8 exponent, 7 mantissa bits"),
    Format("fp16", 16, "float", "IEEE 754 binary16"),
    Format("fp8-e4m3", 8, "float", "OCP FP8 E4M3 (saturating, max 448)"),
    Format("fp8-e5m2", 8, "float", "OCP FP8 E5M2 (max 57344)"),
    Format("int32", 32, "int", "32-bit two's complement"),
    Format("int16", 16, "int", "16-bit two's complement"),
    Format("int8", 8, "int", "8-bit two's complement"),
    Format("int4", 4, "int", "4-bit two's complement"),
    Format("int2", 2, "int", "2-bit two's complement"),
    Format("ternary", 2, "int", "{-1, 0, +1} x scale"),
    Format("binary", 1, "int", "{-1, +1} x scale"),
)
FLOATS = tuple(f for f in STANDARD if f.kind == "float")
INTS = tuple(f for f in STANDARD if f.kind == "int")

FORMATS.register_all(STANDARD)
