"""Transformer descriptions: dense decoder-only models read from TOML (``xpusim/llm/models``).

A model file holds the architecture (layers, d_model, heads, kv_heads for grouped-query
attention, FFN size and kind, vocabulary, sequence length, tied embeddings) and the published
training recipe (global batch in sequences, training tokens), plus a ``[source]`` table that
cites every number. Users add their own by passing a path to a TOML file of the same shape.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any, Literal

import attrs

from xpusim.core.errors import SpecError, UnknownNameError
from xpusim.core.specs import SpecValueError, check, option, quantity, structure_params

MODEL_DIR = Path(__file__).resolve().parent / "models"
META = ("name", "description", "source")


@attrs.frozen(kw_only=True)
class Transformer:
    """A dense decoder-only transformer and its published training recipe."""

    name: str = option(doc="model name")
    layers: int = quantity(unit="1", doc="transformer blocks", gt=0)
    d_model: int = quantity(unit="1", doc="hidden size", gt=0)
    heads: int = quantity(unit="1", doc="query heads", gt=0)
    kv_heads: int = quantity(unit="1", doc="key/value heads (= heads: MHA; fewer: GQA)", gt=0)
    ffn_hidden: int = quantity(unit="1", doc="MLP hidden size", gt=0)
    ffn_kind: Literal["gelu", "swiglu"] = option(doc="gelu: 2 matrices; swiglu: 3 (gate, up, down)")
    vocab: int = quantity(unit="tokens", doc="vocabulary size", gt=0)
    seq_len: int = quantity(unit="tokens", doc="training context length", gt=0)
    tied_embeddings: bool = option(doc="output head shares the token-embedding matrix",
                                   default=True)
    learned_positions: bool = option(doc="a learned position table (GPT); false for rotary or "
                                         "ALiBi positions", default=True)
    norm: Literal["layernorm", "rmsnorm"] = option(
        doc="layernorm (gain and shift per channel) or rmsnorm (gain only)", default="layernorm")
    batch_sequences: int = quantity(unit="sequences", doc="published global batch", gt=0,
                                    default=1024)
    train_tokens: float = quantity(unit="tokens", doc="published training tokens", gt=0,
                                   default=3.0e11)
    description: str = ""
    sources: dict[str, str] = attrs.field(factory=dict, eq=False)

    def __attrs_post_init__(self) -> None:
        check(self.d_model % self.heads == 0, "heads",
              f"d_model ({self.d_model}) must be a multiple of heads, found {self.heads}")
        check(self.heads % self.kv_heads == 0, "kv_heads",
              f"heads ({self.heads}) must be a multiple of kv_heads, found {self.kv_heads}")

    @property
    def d_head(self) -> int:
        return self.d_model // self.heads

    @property
    def ffn_matrices(self) -> int:
        return 3 if self.ffn_kind == "swiglu" else 2

    @property
    def qkv_width(self) -> int:
        """Output width of the fused Q, K, V projection."""
        return (self.heads + 2 * self.kv_heads) * self.d_head

    def layer_params(self) -> int:
        """Weight matrices of one block (biases ignored: < 0.1 %)."""
        h = self.d_model
        return h * self.qkv_width + h * h + self.ffn_matrices * h * self.ffn_hidden

    def norm_params(self) -> int:
        """Gains (and shifts, for layer norm) of one norm layer."""
        return self.d_model * (2 if self.norm == "layernorm" else 1)

    def embedding_params(self) -> int:
        """Token embedding and output layer (one matrix when tied)."""
        return self.vocab * self.d_model * (1 if self.tied_embeddings else 2)

    def position_params(self) -> int:
        return self.seq_len * self.d_model if self.learned_positions else 0

    @property
    def params(self) -> int:
        """Every trained parameter: blocks (two norms each), embeddings, positions, final norm."""
        return self.layers * (self.layer_params() + 2 * self.norm_params()) \
            + self.embedding_params() + self.position_params() + self.norm_params()

    def to_dict(self) -> dict[str, Any]:
        d = attrs.asdict(self)
        d["params"] = self.params
        return d


def list_models() -> list[str]:
    """Names of the built-in model descriptions."""
    return sorted(p.stem for p in MODEL_DIR.glob("*.toml"))


def load_model(ref: str | Path | Transformer) -> Transformer:
    """A built-in model by name (``gpt3-175b``) or a user's TOML file by path."""
    if isinstance(ref, Transformer):
        return ref
    path = Path(ref)
    key = path if path.exists() else MODEL_DIR / f"{ref}.toml"
    try:
        stamp = key.stat().st_mtime_ns
    except OSError:
        stamp = None
    return _load_cached(str(ref), stamp)


@functools.lru_cache(maxsize=128)
def _load_cached(ref: str, _stamp: int | None) -> Transformer:
    path = Path(ref)
    if not (str(ref).endswith(".toml") or path.exists()):
        if str(ref) not in list_models():
            raise UnknownNameError("model", str(ref), list_models())
        path = MODEL_DIR / f"{ref}.toml"
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SpecError(f"{path}: no such model file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path.name}: malformed TOML: {exc}") from None
    sources = raw.get("source", {})
    if not isinstance(sources, dict):
        raise SpecError(f"{path.name}: source: expected a table of key = \"citation\" strings")
    body = {k: v for k, v in raw.items() if k not in META}
    body["name"] = str(raw.get("name", path.stem))
    params = structure_params(body, _Body, path.name)
    try:
        return Transformer(**attrs.asdict(params), description=str(raw.get("description", "")),
                           sources=dict(sources))
    except SpecValueError as exc:
        raise SpecError(f"{path.name}: {exc.field}: {exc}") from None


@attrs.frozen(kw_only=True)
class _Body:
    """The TOML keys a model file may hold (strictly checked, unknown keys named)."""

    name: str
    layers: int
    d_model: int
    heads: int
    kv_heads: int | None = None
    ffn_hidden: int | None = None
    ffn_kind: Literal["gelu", "swiglu"] = "gelu"
    vocab: int
    seq_len: int
    tied_embeddings: bool = True
    learned_positions: bool = True
    norm: Literal["layernorm", "rmsnorm"] = "layernorm"
    batch_sequences: int = 1024
    train_tokens: float = 3.0e11

    def __attrs_post_init__(self) -> None:
        if self.kv_heads is None:
            object.__setattr__(self, "kv_heads", self.heads)
        if self.ffn_hidden is None:
            object.__setattr__(self, "ffn_hidden", 4 * self.d_model)
