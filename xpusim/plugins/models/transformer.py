"""Decoder-only transformers from the model TOML files ``xpusim estimate`` reads.

One description, two simulations: ``xpusim run --model gpt-nano`` trains this graph through
a simulated device, ``xpusim estimate --model gpt-nano`` prices the same architecture
analytically (``xpusim.llm.traces``). The functional graph: token embedding + learned
positions, ``layers`` pre-norm blocks (layer norm, causal attention with ``heads`` query and
``kv_heads`` key/value heads, residual; layer norm, GELU or SwiGLU MLP of ``ffn_hidden``,
residual), a final layer norm and an untied output layer. The vocabulary and the sequence
length follow the data set (the file's values are what ``estimate`` uses).
"""

from __future__ import annotations

from xpusim.core.errors import XpusimError
from xpusim.core.graph import Graph, GraphBuilder
from xpusim.core.layers import Dense, Embedding, LayerNorm
from xpusim.core.registry import DataShape

from .named import transformer_block


def build_transformer(model, data: DataShape) -> Graph:
    """The functional graph of an ``xpusim.llm.model.Transformer`` for token data."""
    if data.task != "sequence" or len(data.sample_shape) != 1:
        raise XpusimError(f"model {model.name!r} is a decoder-only transformer: it takes token "
                          f"sequences (e.g. --dataset seq-reverse), not samples of shape "
                          f"{data.sample_shape}")
    if not model.learned_positions or model.norm != "layernorm":
        raise XpusimError(f"model {model.name!r}: functional runs implement learned positions "
                          f"and layer norm; this model has "
                          f"{'learned' if model.learned_positions else 'rotary/ALiBi'} positions "
                          f"and {model.norm} (it can be priced with xpusim estimate)")
    if model.tied_embeddings:
        raise XpusimError(f"model {model.name!r} ties its output layer to the embedding table; "
                          "functional runs keep the table in the digital periphery and need an "
                          "untied output layer (tied_embeddings = false)")
    (t,) = data.sample_shape
    b = GraphBuilder(model.name, (t,), tokens=True)
    x = b.add(Embedding(data.classes, model.d_model, positions=t), name="embedding")
    for _ in range(model.layers):
        x = transformer_block(b, x, model.d_model, model.heads, model.kv_heads,
                              model.ffn_hidden, model.ffn_kind, causal=True)
    b.add(LayerNorm())
    b.add(Dense(data.classes), name="head")
    return b.build()


def parse_file(path: str, data: DataShape) -> Graph:
    from xpusim.llm.model import load_model

    return build_transformer(load_model(path), data)


def named(name: str):
    """A parser for the built-in model file ``name`` (``xpusim/llm/models/NAME.toml``)."""
    def parse(args: str, data: DataShape) -> Graph:
        from xpusim.llm.model import load_model

        return build_transformer(load_model(name), data)
    parse.__doc__ = f"decoder-only transformer from xpusim/llm/models/{name}.toml"
    return parse
