"""Software stacks: what a training run's software does on top of the hardware's kernels.

The hardware's cost model prices every row of a step as the hardware would run the best kernel
for it. A stack says which kernels a piece of software actually runs where that differs in a way
that can be counted or was measured (``stacks.toml``, every number sourced):

- ``attention`` / ``flash_attention``: the attention kernel of layouts without / with
  FlashAttention. ``rows`` prices the attention rows with the cost model; a measured kernel
  (``flash2``, ``flash1``, ``triton``, ``xformers``, ``pytorch``) takes its published forward +
  backward speed on that GPU at the run's sequence length and head size (interpolated in log
  sequence length and in head size between 64 and 128, held at the ends); a recomputed forward
  costs the forward's share, 1/3.5 of forward + backward. Where no speed was published for the
  spec, the rows are priced as they are and the estimate says so.
- ``loss``: ``rows`` (one fused pass over the logits) or ``fp32`` (cast to fp32, softmax
  cross-entropy, its gradient and the cast back as separate passes: ``traces.FP32_LOSS``).
- ``gemm_efficiency``: the one calibrated number. The GEMMs of a training step (and attention
  products priced as rows) take the cost model's time divided by it: the share of the isolated
  GEMM rate (the cost model's, validated against micro-benchmarks: docs/validation-gemm.md) the
  stack's GEMMs keep inside a step, for what no counted mechanism covers. It is fitted on the
  stack's calibration cases only (``xpusim/llm/validation/cases.toml``, ``role =
  "calibration"``): the value at which their median error is zero; 1 for a stack with none.
"""

from __future__ import annotations

import functools
import math
import tomllib
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from xpusim.core.errors import XpusimError

STACKS_FILE = Path(__file__).resolve().parent / "stacks.toml"
ROWS = "rows"
LOSS_KINDS = ("rows", "fp32")
FA_PRODUCTS = 3.5
"""Forward + backward attention FLOPs over forward FLOPs as the attention benchmark counts them
(2 products forward, 5 backward: Dao 2023, Sec. 4.1)."""


class StackError(XpusimError):
    """An unknown stack or attention kernel, or a malformed stacks file."""


@attrs.frozen
class Stack:
    """One software stack (a ``[stacks.NAME]`` table)."""

    name: str
    description: str
    attention: str = ROWS
    flash_attention: str = ROWS
    loss: str = "rows"
    gemm_efficiency: float = 1.0
    sources: dict[str, str] = attrs.field(factory=dict, eq=False)

    def kernel(self, flash: bool) -> str:
        return self.flash_attention if flash else self.attention

    def describe(self) -> str:
        """One line for an estimate's assumptions."""
        return (f"software stack {self.name!r}: attention kernel {self.attention} (without "
                f"FlashAttention) / {self.flash_attention} (with), loss {self.loss}, GEMMs at "
                f"{self.gemm_efficiency:.3g} of the cost model's rate" + (
                    " (calibrated: stacks.toml)" if self.gemm_efficiency != 1.0 else ""))


@functools.lru_cache(maxsize=1)
def _raw() -> dict[str, Any]:
    return tomllib.loads(STACKS_FILE.read_text())


def list_stacks() -> list[str]:
    return sorted(_raw()["stacks"])


def kernels() -> list[str]:
    """Names of the measured attention kernels."""
    return sorted(_raw()["attention"]["kernels"])


def get_stack(name: str | Stack | None, attention: str | None = None,
              flash_attention: str | None = None, gemm_efficiency: float | None = None
              ) -> Stack:
    """The stack ``name`` (None: ``ideal``), with its attention kernels (and GEMM efficiency)
    replaced where given."""
    if isinstance(name, Stack):
        stack = name
    else:
        key = name or "ideal"
        table = _raw()["stacks"].get(key)
        if table is None:
            raise StackError(f"--stack: unknown stack {key!r} (stacks: {', '.join(list_stacks())})")
        sources = {k.split(".", 1)[1]: v for k, v in table.items() if k.startswith("source.")}
        stack = Stack(name=key, description=table["description"],
                      attention=table.get("attention", ROWS),
                      flash_attention=table.get("flash_attention", ROWS),
                      loss=table.get("loss", "rows"),
                      gemm_efficiency=float(table.get("gemm_efficiency", 1.0)), sources=sources)
    for option, kernel in (("attention", attention), ("flash_attention", flash_attention)):
        if kernel is not None and kernel != ROWS and kernel not in kernels():
            what = "--attention" if option == "flash_attention" else "attention"
            raise StackError(f"{what}: the attention kernel must be rows or one of "
                             f"{', '.join(kernels())}, found {kernel!r}")
    changes = {k: v for k, v in (("attention", attention), ("flash_attention", flash_attention),
                                 ("gemm_efficiency", gemm_efficiency)) if v is not None}
    if changes:
        stack = attrs.evolve(stack, **changes)
    for field in ("attention", "flash_attention"):
        kernel = getattr(stack, field)
        if kernel != ROWS and kernel not in kernels():
            raise StackError(f"stack {stack.name!r}: {field} must be rows or one of "
                             f"{', '.join(kernels())}, found {kernel!r}")
    if not 0.0 < stack.gemm_efficiency <= 1.0:
        raise StackError(f"stack {stack.name!r}: gemm_efficiency must be in (0, 1], found "
                         f"{stack.gemm_efficiency!r}")
    if stack.loss not in LOSS_KINDS:
        raise StackError(f"stack {stack.name!r}: loss must be one of {', '.join(LOSS_KINDS)}, "
                         f"found {stack.loss!r}")
    return stack


def attention_speed(kernel: str, spec_name: str, seq: float, d_head: float) -> float | None:
    """Published forward + backward speed (FLOP/s, the benchmark's causal count) of ``kernel``
    on ``spec_name`` at sequence length ``seq`` and head size ``d_head``; None when none was
    published for that spec (or the kernel is ``rows``)."""
    if kernel == ROWS:
        return None
    att = _raw()["attention"]
    table = att["kernels"].get(kernel)
    if table is None:
        raise StackError(f"unknown attention kernel {kernel!r} (kernels: {', '.join(kernels())})")
    spec = att.get("same_as", {}).get(spec_name, spec_name)
    d64, d128 = table.get(f"{spec}.d64"), table.get(f"{spec}.d128")
    if d64 is None or d128 is None:
        return None
    x = np.log2(np.asarray(att["seq"], dtype=np.float64))
    at = math.log2(min(max(seq, 1.0), 2.0 ** 40))
    lo = float(np.interp(at, x, np.asarray(d64, dtype=np.float64)))
    hi = float(np.interp(at, x, np.asarray(d128, dtype=np.float64)))
    w = min(max((d_head - 64.0) / 64.0, 0.0), 1.0)
    return (lo + w * (hi - lo)) * 1e12


def attention_flops(seq: float, d_head: float, heads: float, sequences: float) -> float:
    """Forward attention FLOPs as the benchmark counts them under a causal mask:
    4 seq^2 d_head heads / 2 per sequence."""
    return 2.0 * seq * seq * d_head * heads * sequences
