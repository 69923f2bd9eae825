"""Generated, seeded token-sequence tasks for decoder-only transformers.

Each example is one token sequence ``q + [SEP] + a`` (question, separator, answer); the model
reads x = sequence[:-1] and is scored on the answer tokens: y[t] = sequence[t + 1] where that
token belongs to the answer, -1 elsewhere. SEP is the token after the symbols (vocabulary =
symbols + 1). The data seed is the task's own (option ``seed``, default 0), independent of
the run seed; test questions never occur in training.
"""

from __future__ import annotations

import math

import numpy as np

from .dataset import UNSCORED, DataError, Dataset
from .options import split_generated

MAX_EXAMPLES = 1_000_000
MAX_TOKENS = 50_000_000  # (train + test) x sequence length: 400 MB per int64 array
MAX_SYMBOLS = 65_536
MAX_MODULUS = 2_048


def _need(family: str, ok: bool, what: str) -> None:
    if not ok:
        raise DataError(f"data set {family!r}: {what}")


def distinct_rows(rng: np.random.Generator, symbols: int, length: int, n: int) -> np.ndarray:
    """``n`` distinct rows of ``length`` symbols in [0, symbols), in a seeded random order."""
    if length * math.log2(symbols) < 62 and symbols ** length < 4 * n:
        space = symbols ** length  # a small space: a random order of all of it
        codes = rng.permutation(space)[:n]
        powers = symbols ** np.arange(length - 1, -1, -1, dtype=np.int64)
        return (codes[:, None] // powers) % symbols
    rows = np.empty((0, length), dtype=np.int64)
    while len(rows) < n:  # a large space: i.i.d. draws, later duplicates dropped (rare)
        draws = np.concatenate([rows, rng.integers(0, symbols, (2 * n - len(rows), length))])
        _, keep = np.unique(draws, axis=0, return_index=True)
        rows = draws[np.sort(keep)]
    return rows[:n]


def _pack(family: str, arg: str | None, questions: np.ndarray, answers: np.ndarray,
          n_train: int, symbols: int, what: str) -> Dataset:
    """x/y from question and answer rows; the first ``n_train`` rows train, the rest test."""
    sep = np.full((len(questions), 1), symbols, dtype=np.int64)
    seq = np.concatenate([questions, sep, answers], axis=1)
    x = seq[:, :-1]
    y = seq[:, 1:].copy()
    y[:, :questions.shape[1]] = UNSCORED
    name = f"{family}:{arg}" if arg else family
    return Dataset(name, x[:n_train], y[:n_train], x[n_train:], y[n_train:], symbols + 1,
                   f"{what}; tokens 0..{symbols - 1}, separator {symbols}, vocabulary "
                   f"{symbols + 1}; {n_train} train / {len(x) - n_train} test sequences",
                   task="sequence")


def _symbol_task(family: str, arg: str | None, defaults: dict[str, int | None]
                 ) -> tuple[np.random.Generator, np.ndarray, dict[str, int | None]]:
    """Options and the distinct question rows of a task over ``len`` symbols."""
    o = split_generated(family, arg, defaults)
    length, symbols, train, test = o["len"], o["symbols"], o["train"], o["test"]
    _need(family, length >= 1, "len must be >= 1")
    _need(family, 2 <= symbols <= MAX_SYMBOLS, f"symbols must be 2..{MAX_SYMBOLS}")
    _need(family, train >= 1 and test >= 1, "train and test must each be >= 1")
    _need(family, train + test <= MAX_EXAMPLES, f"train + test must be <= {MAX_EXAMPLES:,}")
    _need(family, (train + test) * 2 * length <= MAX_TOKENS,
          f"(train + test) x 2 x len must be <= {MAX_TOKENS:,} tokens")
    _need(family, length * math.log2(symbols) >= 62 or train + test <= symbols ** length,
          f"{symbols}^{length} = {symbols ** length} distinct sequences cannot give "
          f"{train} train + {test} test without repeats")
    rng = np.random.default_rng(o["seed"])
    return rng, distinct_rows(rng, symbols, length, train + test), o


def load_seq_reverse(arg: str | None) -> Dataset:
    """Reverse a sequence: ``seq-reverse[:len=8,symbols=10,train=8000,test=1000,seed=0]``;
    x = [s, SEP, r[:-1]], y = [-1]*len + r, where r is s reversed."""
    defaults = {"len": 8, "symbols": 10, "train": 8000, "test": 1000, "seed": 0}
    _, s, o = _symbol_task("seq-reverse", arg, defaults)
    return _pack("seq-reverse", arg, s, s[:, ::-1], o["train"], o["symbols"],
                 f"reverse {o['len']} symbols drawn from {o['symbols']} (data seed {o['seed']})")


def load_seq_sort(arg: str | None) -> Dataset:
    """Sort a sequence: ``seq-sort[:len=16,symbols=10,train=8000,test=1000,seed=0]``;
    x = [s, SEP, sorted(s)[:-1]], y = [-1]*len + sorted(s); symbols repeat."""
    defaults = {"len": 16, "symbols": 10, "train": 8000, "test": 1000, "seed": 0}
    _, s, o = _symbol_task("seq-sort", arg, defaults)
    return _pack("seq-sort", arg, s, np.sort(s, axis=1), o["train"], o["symbols"],
                 f"sort {o['len']} symbols drawn from {o['symbols']} with repeats "
                 f"(data seed {o['seed']})")


def load_mod_add(arg: str | None) -> Dataset:
    """Modular addition: ``mod-add[:p=97,train=N,test=N,seed=0]``; x = [a, b, SEP],
    y = [-1, -1, (a + b) mod p]; all p^2 pairs, 80 % train and the rest test by default."""
    family = "mod-add"
    o = split_generated(family, arg, {"p": 97, "train": None, "test": None, "seed": 0})
    p = o["p"]
    _need(family, 2 <= p <= MAX_MODULUS, f"p must be 2..{MAX_MODULUS}")
    pairs = p * p
    train = o["train"] if o["train"] is not None else round(0.8 * pairs)
    test = o["test"] if o["test"] is not None else pairs - train
    _need(family, train >= 1 and test >= 1, f"train and test must each be >= 1 (p = {p} "
                                             f"gives {pairs} pairs; train = {train})")
    _need(family, train + test <= pairs,
          f"p = {p} gives {pairs} distinct pairs, fewer than {train} train + {test} test")
    codes = np.random.default_rng(o["seed"]).permutation(pairs)[:train + test]
    ab = np.stack([codes // p, codes % p], axis=1).astype(np.int64)
    return _pack(family, arg, ab, (ab.sum(axis=1, keepdims=True) % p), train, p,
                 f"(a + b) mod {p} (data seed {o['seed']})")
