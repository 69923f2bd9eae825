"""``cnn:SPEC``: a compact, documented syntax for convolutional networks.

SPEC is a dash-separated list of layers (docs/models.md):

==========================  =============================================================
``c<F>k<K>[s<S>][p<P>]``    conv2d: F filters of K x K, stride S (1), padding P (K // 2)
``r<F>[s<S>]``              residual basic block (He et al. 2016): conv3-bn-act-conv3-bn,
                            a 1x1 conv + bn shortcut when the shape changes, add, act
``bn``                      batch norm
``m<K>[s<S>]``/``a<K>[s<S>]``  max / average pooling over K x K (stride S, default K)
``g``                       global average pooling
``f``                       flatten (added before the first dense layer when needed)
``d<N>``                    dense, N outputs; unless SPEC ends with ``d<classes>``, a
                            ``d<classes>`` output layer is added
==========================  =============================================================

The model's activation (``relu``, or ``:tanh`` / ``:gelu`` / ``:sigmoid`` after SPEC) follows
every conv and dense layer except the last; after a following ``bn`` when there is one.
Weights start uniform on ±1/sqrt(fan_in) (PyTorch's default); residual blocks He-normal.
Example: ``cnn:c32k3-c32k3-m2-d64`` (conv-conv-pool, then a hidden dense layer of 64).
"""

from __future__ import annotations

import re

from xpusim.core.errors import XpusimError
from xpusim.core.graph import Graph, GraphBuilder
from xpusim.core.layers import (ACTIVATIONS, Activation, Add, BatchNorm, Conv2d, Dense,
                                Flatten, GlobalAvgPool, Pool2d)
from xpusim.core.registry import DataShape

INIT = "uniform"
"""Conv and dense weights start uniform on ±1/sqrt(fan_in), as PyTorch's layers do."""

TOKENS = {
    "conv": re.compile(r"c(\d+)k(\d+)(?:s(\d+))?(?:p(\d+))?"),
    "res": re.compile(r"r(\d+)(?:s(\d+))?"),
    "pool": re.compile(r"([ma])(\d+)(?:s(\d+))?"),
    "dense": re.compile(r"d(\d+)"),
}


def residual_block(b: GraphBuilder, filters: int, stride: int, act: str, shape_in) -> None:
    """conv3(stride)-bn-act-conv3-bn + shortcut (identity, or 1x1 conv(stride)-bn when the
    channels or size change), add, act."""
    start = b.last
    b.add(Conv2d(filters, 3, stride, 1, bias=False))
    b.add(BatchNorm())
    b.add(Activation(act))
    b.add(Conv2d(filters, 3, 1, 1, bias=False))
    main = b.add(BatchNorm())
    shortcut = start
    if stride != 1 or shape_in[0] != filters:
        b.add(Conv2d(filters, 1, stride, 0, bias=False), inputs=[start])
        shortcut = b.add(BatchNorm())
    b.add(Add(), inputs=[main, shortcut])
    b.add(Activation(act))


def build_cnn(name: str, spec: str, data: DataShape, act: str = "relu") -> Graph:
    """The graph of ``spec`` (module docstring) for ``data``'s images and classes."""
    if act not in ACTIVATIONS:
        raise XpusimError(f"model {name!r}: unknown activation {act!r} (expected one of "
                          f"{', '.join(ACTIVATIONS)})")
    if len(data.sample_shape) != 3:
        raise XpusimError(f"model {name!r} takes images (C, H, W); the data set gives samples "
                          f"of shape {data.sample_shape}")
    tokens = [t for t in spec.split("-") if t]
    if not tokens:
        raise XpusimError(f"model {name!r}: empty layer list")
    if tokens[-1] != f"d{data.classes}":
        tokens.append(f"d{data.classes}")
    b = GraphBuilder(name, data.sample_shape)
    flat = False
    for i, tok in enumerate(tokens):
        last = i == len(tokens) - 1
        nxt = tokens[i + 1] if not last else ""
        if m := TOKENS["conv"].fullmatch(tok):
            f, k = int(m[1]), int(m[2])
            s = int(m[3]) if m[3] else 1
            p = int(m[4]) if m[4] is not None else k // 2
            _positive(name, tok, f, k, s)
            b.add(Conv2d(f, k, s, p, init_kind=INIT))
            if nxt != "bn":
                b.add(Activation(act))
        elif m := TOKENS["res"].fullmatch(tok):
            f, s = int(m[1]), int(m[2]) if m[2] else 1
            _positive(name, tok, f, s)
            residual_block(b, f, s, act, b.build().shapes[b.last] if b.nodes
                           else data.sample_shape)
        elif tok == "bn":
            b.add(BatchNorm())
            prev = tokens[i - 1] if i else ""
            if TOKENS["conv"].fullmatch(prev) or TOKENS["dense"].fullmatch(prev):
                b.add(Activation(act))
        elif m := TOKENS["pool"].fullmatch(tok):
            k, s = int(m[2]), int(m[3]) if m[3] else None
            _positive(name, tok, k, s or 1)
            b.add(Pool2d("max" if m[1] == "m" else "avg", k, s))
        elif tok == "g":
            b.add(GlobalAvgPool())
            flat = True
        elif tok == "f":
            b.add(Flatten())
            flat = True
        elif m := TOKENS["dense"].fullmatch(tok):
            if not flat:
                b.add(Flatten())
                flat = True
            _positive(name, tok, int(m[1]))
            b.add(Dense(int(m[1]), init_kind=INIT))
            if not last and nxt != "bn":
                b.add(Activation(act))
        else:
            raise XpusimError(f"model {name!r}: cannot read layer {tok!r} (expected "
                              f"c<F>k<K>[s<S>][p<P>], r<F>[s<S>], bn, m<K>, a<K>, g, f or d<N>;"
                              f" see docs/models.md)")
        if flat and (TOKENS["conv"].fullmatch(tok) or TOKENS["pool"].fullmatch(tok)
                     or TOKENS["res"].fullmatch(tok)):
            raise XpusimError(f"model {name!r}: layer {tok!r} needs images, but the layers "
                              "before it flattened them")
    return b.build()


def _positive(name: str, tok: str, *values: int) -> None:
    if any(v <= 0 for v in values):
        raise XpusimError(f"model {name!r}: layer {tok!r}: sizes and strides must be positive")


def parse_cnn(args: str, data: DataShape) -> Graph:
    spec, _, act = args.partition(":")
    return build_cnn(f"cnn:{args}", spec, data, act or "relu")
