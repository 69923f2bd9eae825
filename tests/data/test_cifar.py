"""CIFAR-10 python batches: (N, 3, 32, 32) images, and a pickle that never runs code."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from xpusim.core.data import DataError, load_cifar10, read_batch


def test_batches_load_as_channel_planes(tmp_path, writers):
    folder = tmp_path / "cifar-10-batches-py"
    made = writers.cifar_like(folder)
    ds = load_cifar10(str(folder))
    assert ds.x_train.shape == (60, 3, 32, 32) and ds.x_test.shape == (10, 3, 32, 32)
    assert ds.sample_shape == (3, 32, 32) and ds.n_features == 3072 and ds.n_classes == 10
    data, labels = made["data_batch_2"]
    # row layout: 1,024 red values, then green, then blue, each 32 rows of 32
    i, c, r, col = 5, 2, 7, 30
    assert ds.x_train[12 + i, c, r, col] == np.float32(data[i, c * 1024 + r * 32 + col]) / 255
    np.testing.assert_array_equal(ds.y_train[12:24], labels)
    np.testing.assert_array_equal(ds.x_test.reshape(10, -1),
                                  made["test_batch"][0].astype(np.float32) / 255)
    # the folder holding cifar-10-batches-py works too
    np.testing.assert_array_equal(load_cifar10(str(tmp_path)).x_train, ds.x_train)


def test_subset_reads_only_the_batches_it_needs(tmp_path, writers):
    writers.cifar_like(tmp_path)
    (tmp_path / "data_batch_3").write_bytes(b"not a pickle")
    ds = load_cifar10(f"{tmp_path},train=20,test=4")
    assert len(ds.x_train) == 20 and len(ds.x_test) == 4
    with pytest.raises(DataError, match=r"data_batch_3: not a readable CIFAR-10 python batch"):
        load_cifar10(f"{tmp_path},train=30")


def test_modern_protocol_pickles_load_too(tmp_path, writers):
    made = writers.cifar_like(tmp_path)
    data, labels = made["data_batch_1"]
    with open(tmp_path / "data_batch_1", "wb") as fh:
        pickle.dump({b"data": data, b"labels": labels}, fh, protocol=4)
    got, y = read_batch(tmp_path / "data_batch_1")
    np.testing.assert_array_equal(got, data)
    np.testing.assert_array_equal(y, labels)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("py2", [True, False])
def test_a_pickle_that_would_run_code_is_refused(tmp_path, writers, py2):
    marker = tmp_path / "ran"
    path = tmp_path / "data_batch_1"
    obj = {b"data": _Evil(marker), b"labels": [0]}
    if py2:  # as the real files are written
        writers.write_batch(path, None, [], obj=obj)
    else:
        path.write_bytes(pickle.dumps(obj, protocol=4))
    with pytest.raises(DataError, match=rf"{path}: refused to load posix\.system: a CIFAR-10 "
                                        r"batch holds only numpy arrays"):
        read_batch(path)
    assert not marker.exists()


def _rows(n):
    return np.zeros((n, 3072), np.uint8)


@pytest.mark.parametrize("obj,message", [
    ([1, 2, 3], r"a CIFAR-10 batch is a dict with 'data' and 'labels', found list"),
    ({b"data": _rows(2)}, r"needs key 'labels' \(has data\)"),
    ({b"data": np.zeros((2, 3071), np.uint8), b"labels": [0, 1]},
     r"'data' must be a uint8 array of rows of 3072 .* found uint8 \(2, 3071\)"),
    ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, r"found float32"),
    ({b"data": _rows(0), b"labels": []}, r"holds no images"),
    ({b"data": _rows(2), b"labels": [0, 1, 2]}, r"holds 3 labels for 2 images"),
    ({b"data": _rows(2), b"labels": [0, 10]}, r"CIFAR-10 labels are 0..9, found 10"),
    ({b"data": _rows(2), b"labels": [0, -1]}, r"labels must be >= 0, label 1 is -1"),
    ({b"data": _rows(2), b"labels": [0, 1.5]}, r"labels must be whole numbers, label 1 is 1.5"),
    ({b"data": _rows(2), b"labels": [[0], [1]]}, r"one number per sample"),
    ({b"data": _rows(2), b"labels": [b"a", b"b"]}, r"'labels' must be numbers"),
])
def test_malformed_batches_are_named(tmp_path, writers, obj, message):
    path = writers.write_batch(tmp_path / "test_batch", None, [], obj=obj)
    with pytest.raises(DataError, match=message) as err:
        read_batch(path)
    assert str(path) in str(err.value)


def test_truncated_and_foreign_files_are_named(tmp_path, writers):
    made = writers.cifar_like(tmp_path)
    path = tmp_path / "data_batch_1"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=rf"{path}: not a readable CIFAR-10 python batch"):
        read_batch(path)
    (tmp_path / "test_batch").write_bytes(b"\x00" * 10)
    with pytest.raises(DataError, match=r"test_batch: not a readable CIFAR-10 python batch"):
        read_batch(tmp_path / "test_batch")
    writers.write_batch(path, *made["data_batch_1"])
    writers.write_batch(tmp_path / "test_batch", *made["test_batch"])
    assert len(load_cifar10(str(tmp_path)).x_train) == 60
    (tmp_path / "data_batch_4").unlink()
    with pytest.raises(DataError, match=r"missing data_batch_4 \(the CIFAR-10 python batches"):
        load_cifar10(str(tmp_path))


def test_every_class_must_occur_in_training(tmp_path, writers):
    writers.cifar_like(tmp_path)
    # the first 5 training images hold classes 0..4 only
    with pytest.raises(DataError, match=r"test class 5 never occurs in .*data_batch_1"):
        load_cifar10(f"{tmp_path},train=5")
    writers.write_batch(tmp_path / "test_batch", _rows(2), [0, 1])
    with pytest.raises(DataError, match=r"no training label is 5 \(classes are numbered 0..9"):
        load_cifar10(f"{tmp_path},train=5")
