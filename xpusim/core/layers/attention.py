"""Multi-head self-attention over (T, D) tokens, with grouped-query heads and a causal option.

The projections are weight matrices on the device (``mvm``): Q, K and V fused in one
D x (H + 2 KV)·dh matrix, the output projection H·dh x D. The products of two activations,
scores Q·Kᵀ and the weighted values P·V, are the ``matmul`` primitive (one product per
sequence and head): each backend decides where it runs and what it costs. Softmax runs in
the digital periphery.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from .activation import SOFTMAX_OPS, softmax, softmax_backward
from .base import Layer, Matrix, Ops, Shape

NEG = np.float32(-1e30)  # masked score (exp underflows to exactly 0)


@attrs.frozen
class MultiHeadAttention(Layer):
    """``heads`` query heads of ``d_head`` (default D / heads) sharing ``kv_heads`` key/value
    heads (default ``heads``; fewer: grouped-query attention); ``causal`` masks the future."""

    kind: ClassVar[str] = "attention"
    heads: int
    kv_heads: int | None = None
    d_head: int | None = None
    causal: bool = True
    bias: bool = True

    def _dims(self, d_model: int) -> tuple[int, int, int]:
        dh = self.d_head or d_model // self.heads
        return self.heads, self.kv_heads or self.heads, dh

    def out_shape(self, shapes: Sequence[Shape]) -> Shape:
        t, d = shapes[0]
        h, kv, dh = self._dims(d)
        from ..errors import XpusimError

        if self.d_head is None and d % h:
            raise XpusimError(f"attention: d_model {d} is not a multiple of {h} heads")
        if h % kv:
            raise XpusimError(f"attention: {h} heads are not a multiple of {kv} kv_heads")
        return shapes[0]

    def matrices(self, shapes: Sequence[Shape]) -> tuple[Matrix, ...]:
        d = shapes[0][-1]
        h, kv, dh = self._dims(d)
        return (Matrix(d, (h + 2 * kv) * dh, self.bias, "qkv"),
                Matrix(h * dh, d, self.bias, "out"))

    def init(self, slot: int, matrix: Matrix, rng: np.random.Generator) -> np.ndarray:
        w = rng.standard_normal((matrix.fan_in, matrix.fan_out)).astype(np.float32)
        return w * np.float32(np.sqrt(1.0 / matrix.fan_in))

    def macs(self, shapes: Sequence[Shape]) -> int:
        t, d = shapes[0]
        h, kv, dh = self._dims(d)
        return t * d * (h + 2 * kv) * dh + 2 * h * t * t * dh + t * h * dh * d

    def describe(self) -> str:
        kv = f", {self.kv_heads} kv" if self.kv_heads and self.kv_heads != self.heads else ""
        return f"attention {self.heads} heads{kv}" + (" causal" if self.causal else "")

    def forward(self, ops: Ops, xs: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        x = xs[0]
        b, t, d = x.shape
        h, kv, dh = self._dims(d)
        x2 = x.reshape(b * t, d)
        qkv = ops.mvm(0, x2).reshape(b, t, h + 2 * kv, dh).transpose(0, 2, 1, 3)
        q, k, v = qkv[:, :h], _repeat(qkv[:, h:h + kv], h // kv), \
            _repeat(qkv[:, h + kv:], h // kv)
        scale = np.float32(1.0 / math.sqrt(dh))
        s = ops.matmul(q, k.transpose(0, 1, 3, 2)) * scale
        if self.causal:
            s = np.where(np.tri(t, dtype=bool), s, NEG)
        p = softmax(s).astype(np.float32)
        ops.record(p.size, 2, SOFTMAX_OPS + 1)  # scale, mask and softmax in one pass
        o = ops.matmul(p, v)
        o2 = np.ascontiguousarray(o.transpose(0, 2, 1, 3)).reshape(b * t, h * dh)
        y = ops.mvm(1, o2).reshape(b, t, d)
        return y, (x2, q, k, v, p, o2)

    def backward(self, ops: Ops, dy: np.ndarray, cache: Any,
                 need: Sequence[bool]) -> list[np.ndarray | None]:
        x2, q, k, v, p, o2 = cache
        b, h, t, dh = q.shape
        d = x2.shape[1]
        kv = self._dims(d)[1]
        dy2 = dy.reshape(b * t, d)
        do2 = ops.propagate(1, dy2)
        ops.update(1, o2, -dy2)
        do = do2.reshape(b, t, h, dh).transpose(0, 2, 1, 3)
        dp = ops.matmul(do, v.transpose(0, 1, 3, 2))
        dv = ops.matmul(p.transpose(0, 1, 3, 2), do)
        ds = softmax_backward(p, dp) * np.float32(1.0 / math.sqrt(dh))
        ops.record(ds.size, 3, SOFTMAX_OPS)
        dq = ops.matmul(ds, k)
        dk = ops.matmul(ds.transpose(0, 1, 3, 2), q)
        dqkv = np.concatenate([dq, _fold(dk, kv), _fold(dv, kv)], axis=1)
        dqkv2 = np.ascontiguousarray(dqkv.transpose(0, 2, 1, 3)).reshape(b * t, -1)
        dx = ops.propagate(0, dqkv2).reshape(b, t, d) if need[0] else None
        ops.update(0, x2, -dqkv2)
        return [dx]

    def rows(self, cache: Any, slot: int = 0) -> np.ndarray:
        return cache[0] if slot == 0 else cache[5]


def _repeat(a: np.ndarray, groups: int) -> np.ndarray:
    """(B, KV, T, dh) -> (B, KV·groups, T, dh): each key/value head serves ``groups`` queries."""
    return a if groups == 1 else np.repeat(a, groups, axis=1)


def _fold(a: np.ndarray, kv: int) -> np.ndarray:
    """Adjoint of ``_repeat``: sum the errors of the query heads that share a key/value head."""
    b, h, t, dh = a.shape
    return a if h == kv else a.reshape(b, kv, h // kv, t, dh).sum(axis=2)
