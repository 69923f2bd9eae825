"""Data sets (digits split, IDX files) and the trace container."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from xpusim.core.data import load_digits, load_idx, read_idx
from xpusim.core.errors import XpusimError
from xpusim.core.trace import PHASES, Trace


def test_digits_split_is_fixed_and_stratified():
    a, b = load_digits(), load_digits()
    assert len(a.x_train) == 1437 and len(a.x_test) == 360
    np.testing.assert_array_equal(a.x_test, b.x_test)
    counts = np.bincount(a.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # ~180 per class x 20 %
    assert a.x_train.dtype == np.float32 and 0 <= a.x_train.min() and a.x_train.max() <= 1


def _idx(path, array, code=0x08, zipped=False):
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(">u1").tobytes()
    (gzip.open if zipped else open)(path, "wb").write(data)


def test_idx_folder_loads_like_mnist(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (20, 4, 4)).astype(np.uint8)
    labels = rng.integers(0, 3, 20).astype(np.uint8)
    _idx(tmp_path / "train-images-idx3-ubyte", imgs)
    _idx(tmp_path / "train-labels-idx1-ubyte", labels)
    _idx(tmp_path / "t10k-images-idx3-ubyte.gz", imgs[:5], zipped=True)
    _idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[:5], zipped=True)
    ds = load_idx(str(tmp_path))
    assert ds.x_train.shape == (20, 16) and ds.n_classes == int(labels.max()) + 1
    np.testing.assert_allclose(ds.x_test[0], imgs[0].ravel() / 255.0, rtol=1e-6)


def test_bad_idx_files_are_clear(tmp_path):
    bad = tmp_path / "x"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(XpusimError, match="not an IDX file"):
        read_idx(bad)
    _idx(tmp_path / "short", np.zeros((2, 2), np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(XpusimError, match=r"IDX header says \(2, 2\), file holds 3 values"):
        read_idx(tmp_path / "short")
    with pytest.raises(XpusimError, match="missing train-images-idx3-ubyte"):
        load_idx(str(tmp_path))


def test_trace_grows_selects_and_summarises():
    t = Trace(capacity=2)
    for i in range(100):
        t.add(PHASES[i % 3], i % 4, "mvm", 2, 3, 4, 32, "fp32", count=2)
    assert len(t) == 100
    assert t.macs().sum() == 100 * 2 * 3 * 4 * 2
    fwd = t.select(t.phase_mask("train-forward"))
    assert len(fwd) == 34
    assert t.summary()["macs_by_phase"]["train-forward"] == 34 * 48
    again = Trace.from_columns(t.columns())
    for name in Trace.COLUMNS:
        np.testing.assert_array_equal(again.column(name), t.column(name))
    t.enabled = False
    t.add("inference", 0, "mvm", 1, 1, 1, 32, "fp32")
    assert len(t) == 100
