"""Generated sequence tasks: exact token layout, fixed data seed, test questions unseen."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.core.data import DataError, load_mod_add, load_seq_reverse, load_seq_sort
from xpusim.core.data.sequences import distinct_rows


def _answers(ds, n_q):
    """Answer rows and question rows of each split (checks the layout on the way)."""
    out = {}
    for split in ("train", "test"):
        x, y = getattr(ds, f"x_{split}"), getattr(ds, f"y_{split}")
        sep = ds.n_classes - 1
        assert x.dtype == np.int64 and y.dtype == np.int64 and x.shape == y.shape
        assert (x[:, n_q] == sep).all() and (x[:, :n_q] < sep).all()
        assert (y[:, :n_q] == -1).all() and (y[:, n_q:] >= 0).all()
        # position t predicts the token at t + 1: y agrees with x shifted left where scored
        np.testing.assert_array_equal(y[:, n_q:-1], x[:, n_q + 1:])
        out[split] = (x[:, :n_q], y[:, n_q:])
    return out


def test_seq_reverse_layout():
    ds = load_seq_reverse(None)
    assert ds.task == "sequence" and ds.n_classes == 11 and ds.sample_shape == (16,)
    assert len(ds.x_train) >= 1000
    for q, a in _answers(ds, 8).values():
        np.testing.assert_array_equal(a, q[:, ::-1])


def test_seq_sort_layout():
    ds = load_seq_sort("len=16,symbols=10,train=300,test=50")
    assert ds.sample_shape == (32,) and ds.n_classes == 11
    for q, a in _answers(ds, 16).values():
        np.testing.assert_array_equal(a, np.sort(q, axis=1))
    assert (np.diff(np.sort(ds.x_train[:, :16], axis=1), axis=1) == 0).any()  # symbols repeat


def test_mod_add_covers_all_pairs_once():
    p = 11
    ds = load_mod_add(f"p={p}")
    assert ds.sample_shape == (3,) and ds.n_classes == p + 1
    parts = _answers(ds, 2)
    for q, a in parts.values():
        np.testing.assert_array_equal(a[:, 0], q.sum(axis=1) % p)
    codes = np.concatenate([q[:, 0] * p + q[:, 1] for q, _ in parts.values()])
    assert sorted(codes) == list(range(p * p))  # every pair once: train and test are disjoint
    assert len(ds.x_train) == round(0.8 * p * p)
    small = load_mod_add(f"p={p},train=50,test=20")
    assert (len(small.x_train), len(small.x_test)) == (50, 20)


@pytest.mark.parametrize("load,arg", [(load_seq_reverse, "train=500,test=100"),
                                      (load_seq_sort, "train=500,test=100"),
                                      (load_seq_reverse, "len=2,symbols=4,train=12,test=4"),
                                      (load_mod_add, "p=13")])
def test_fixed_data_seed_and_unseen_test_questions(load, arg):
    np.random.seed(123)  # the global stream plays no part
    a = load(arg)
    np.random.seed(7)
    b = load(arg)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    n_q = int((a.y_train[0] == -1).sum())
    train_q = {tuple(r) for r in a.x_train[:, :n_q]}
    assert len(train_q) == len(a.x_train)
    assert not train_q & {tuple(r) for r in a.x_test[:, :n_q]}
    other = load(f"{arg},seed=1")
    assert not np.array_equal(other.x_train, a.x_train)


@pytest.mark.parametrize("symbols,length,n", [(2, 3, 8), (3, 4, 30), (10, 8, 500), (10, 30, 200)])
def test_distinct_rows_in_every_regime(symbols, length, n):
    rows = distinct_rows(np.random.default_rng(0), symbols, length, n)
    assert rows.shape == (n, length) and rows.dtype == np.int64
    assert rows.min() >= 0 and rows.max() < symbols
    assert len(np.unique(rows, axis=0)) == n


@pytest.mark.parametrize("load,arg,message", [
    (load_seq_reverse, "len=3,symbols=2,train=6,test=3",
     r"2\^3 = 8 distinct sequences cannot give 6 train \+ 3 test"),
    (load_seq_reverse, "len=0", r"len must be >= 1"),
    (load_seq_reverse, "symbols=1", r"symbols must be 2..65536"),
    (load_seq_reverse, "train=0", r"train and test must each be >= 1"),
    (load_seq_sort, "len=100000,train=500", r"must be <= 50,000,000 tokens"),
    (load_seq_sort, "length=8",
     r"unknown option 'length' \(options: len, symbols, train, test, seed\)"),
    (load_seq_sort, "len=-3", r"option len='-3' must be a whole number >= 0"),
    (load_seq_sort, "len", r"expected key=value, got 'len'"),
    (load_mod_add, "p=1", r"p must be 2..2048"),
    (load_mod_add, "p=5,train=20,test=6", r"p = 5 gives 25 distinct pairs, fewer than 20 train"),
    (load_mod_add, "p=5,train=25", r"train and test must each be >= 1 \(p = 5 gives 25 pairs"),
])
def test_bad_options_are_named(load, arg, message):
    with pytest.raises(DataError, match=message):
        load(arg)
