"""``mlp:64-256-10[:act]``: a multilayer perceptron over flattened samples."""

from __future__ import annotations

from xpusim.core.errors import XpusimError
from xpusim.core.graph import Graph, GraphBuilder
from xpusim.core.layers import ACTIVATIONS, Activation, Dense
from xpusim.core.registry import DataShape

MLP_ACTIVATIONS = ("relu", "tanh", "sigmoid")


def parse_mlp(args: str, data: DataShape | None = None) -> Graph:
    """``64-256-10`` or ``64-256-10:tanh``: dense layers of these widths (inputs first,
    classes last) with the activation between them; He-normal weights for relu, else
    Glorot-normal. The input is each sample flattened."""
    widths, _, act = args.partition(":")
    act = act or "relu"
    try:
        sizes = tuple(int(s) for s in widths.split("-"))
    except ValueError:
        sizes = ()
    if len(sizes) < 2 or any(s <= 0 for s in sizes):
        raise XpusimError(f"model 'mlp:{args}': expected widths like mlp:64-256-10 "
                          f"(inputs-hidden...-classes, positive integers)")
    if act not in MLP_ACTIVATIONS:
        raise XpusimError(f"model 'mlp:{args}': unknown activation {act!r} "
                          f"(expected one of {', '.join(MLP_ACTIVATIONS)})")
    assert act in ACTIVATIONS
    name = f"mlp:{'-'.join(map(str, sizes))}" + (f":{act}" if act != "relu" else "")
    b = GraphBuilder(name, (sizes[0],))
    init = "he" if act == "relu" else "glorot"
    for i, n in enumerate(sizes[1:]):
        b.add(Dense(n, init_kind=init), name=f"dense{i}")
        if i < len(sizes) - 2:
            b.add(Activation(act), name=f"{act}{i}")
    return b.build()
