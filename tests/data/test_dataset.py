"""The data contract (Dataset), digits as 1x8x8 images, and what the MLP path makes of both."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.cli import entry
from xpusim.core.data import DataError, Dataset, load_digits
from xpusim.core.errors import XpusimError


def test_digits_are_1x8x8_images_of_the_fixed_stratified_split():
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    a, b = load_digits(), load_digits()
    assert a.x_train.shape == (1437, 1, 8, 8) and a.x_test.shape == (360, 1, 8, 8)
    assert a.sample_shape == (1, 8, 8) and a.n_features == 64 and a.task == "classification"
    np.testing.assert_array_equal(a.x_test, b.x_test)
    # same values, split and order as the flat 64-feature split it replaces
    x, y = sk_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split((x / 16.0).astype(np.float32), y, test_size=0.2,
                                          stratify=y, random_state=0)
    flat = a.flat()
    np.testing.assert_array_equal(flat.x_train, xtr)
    np.testing.assert_array_equal(flat.x_test, xte)
    np.testing.assert_array_equal(a.y_train, ytr)
    assert np.shares_memory(flat.x_train, a.x_train)  # flattening copies nothing
    counts = np.bincount(a.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # ~180 per class x 20 %
    assert a.x_train.dtype == np.float32 and a.y_train.dtype == np.int64
    assert 0 <= a.x_train.min() and a.x_train.max() <= 1
    with pytest.raises(DataError, match=r"'digits' takes no options"):
        load_digits("x")


def _images(n=6, classes=2):
    x = np.full((n, 1, 2, 2), 0.5, np.float32)
    return x, (np.arange(n) % classes).astype(np.int64)


def _tokens(n=4):
    x = np.zeros((n, 3), np.int64)
    return x, np.array([[-1, -1, 1]] * n, np.int64)


def _with(kind, **change):
    x, y = _images() if kind == "classification" else _tokens()
    fields = dict(name="t", x_train=x, y_train=y, x_test=x.copy(), y_test=y.copy(),
                  n_classes=3, task=kind)
    fields.update(change)
    return fields


NAN = np.full((6, 1, 2, 2), np.nan, np.float32)


@pytest.mark.parametrize("fields,message", [
    (_with("classification", task="regression"),
     r"task must be one of classification, sequence"),
    (_with("classification", n_classes=1), r"n_classes must be an integer >= 2"),
    (_with("classification", x_test=NAN), r"test features hold NaN or infinity"),
    (_with("classification", x_train=_images()[0] * 3), r"train features must lie in \[0, 1"),
    (_with("classification", x_train=_images()[0].astype(np.float64)), r"must be float32"),
    (_with("classification", y_train=np.full(6, 1, np.int64)), r"every training label is 1"),
    (_with("classification", y_test=np.array([0, 1, 2, 3, 0, 1])), r"labels must lie in \[0, 3"),
    (_with("classification", y_train=np.arange(6, dtype=np.int32) % 2),
     r"train labels must be int64"),
    (_with("classification", y_test=np.zeros(5, np.int64)), r"test split has 6 samples but 5"),
    (_with("classification", y_test=np.array(1)), r"test split has 6 samples but no labels"),
    (_with("classification", x_test=np.zeros((6, 1, 2, 3), np.float32)),
     r"train samples are \(1, 2, 2\) but test samples are \(1, 2, 3\)"),
    (_with("classification", x_train=np.zeros((0, 1, 2, 2), np.float32),
           y_train=np.zeros(0, np.int64)), r"at least one sample"),
    (_with("sequence", x_train=np.full((4, 3), 3)), r"train tokens must lie in \[0, 3\)"),
    (_with("sequence", y_test=np.array([[-2, -1, 1]] * 4)), r"test targets must be -1"),
    (_with("sequence", y_test=np.full((4, 3), -1)), r"test targets score no position"),
    (_with("sequence", y_train=np.zeros((4, 2), np.int64)), r"must have the tokens' shape"),
])
def test_contract_violations_name_the_data_set(fields, message):
    with pytest.raises(DataError, match=rf"data set 't': .*{message}"):
        Dataset(**fields)


def test_valid_data_sets_of_both_tasks_construct():
    assert Dataset(**_with("classification")).n_features == 4
    seq = Dataset(**_with("sequence"))
    assert seq.sample_shape == (3,) and seq.n_features == 3


def test_mlp_runs_take_flat_images_and_refuse_sequences(pm):
    from xpusim.api import run

    r = run(model="mlp:64-8-10", dataset="digits", epochs=1, pm=pm)
    assert r.status == "ok" and r.config["train_samples"] == 1437
    with pytest.raises(XpusimError, match=r"data set 'seq-reverse:train=40,test=8' is a "
                                          r"sequence task; model 'mlp:16-8-11' is a classifier"):
        run(model="mlp:16-8-11", dataset="seq-reverse:train=40,test=8", epochs=1, pm=pm)


def test_cli_names_a_bad_data_set_in_one_line(capsys):
    code = entry(["run", "--dataset", "seq-sort:symbols=1", "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "error: data set 'seq-sort': symbols must be 2..65536"
