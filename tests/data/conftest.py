"""Writers of small data files in the real formats: IDX (MNIST) and CIFAR-10 python batches."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

IDX_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B,
             np.dtype("i4"): 0x0C, np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}


def write_idx(path: Path, array: np.ndarray, zipped: bool = False,
              dims: tuple[int, ...] | None = None) -> Path:
    """An IDX file: magic (0, 0, type, ndim), big-endian uint32 dims, big-endian data."""
    array = np.asarray(array)
    dims = array.shape if dims is None else dims
    code = IDX_CODES[array.dtype.newbyteorder("=")]
    header = struct.pack(">HBB", 0, code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(data) if zipped else data)
    return path


def mnist_like(folder: Path, n_train: int = 30, n_test: int = 10, classes: int = 3,
               hw: tuple[int, int] = (4, 5), zipped: bool = False, seed: int = 0) -> dict:
    """A valid MNIST-format folder; returns its arrays and file paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ext = ".gz" if zipped else ""
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, *hw)).astype(np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % classes).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, *hw)).astype(np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % classes).astype(np.uint8),
    }
    paths = {stem: write_idx(folder / (stem + ext), a, zipped) for stem, a in arrays.items()}
    return {"arrays": arrays, "paths": paths}


_RECONSTRUCT = np.zeros(1).__reduce__()[0]


class Py2Pickler(pickle._Pickler):
    """Writes pickles as CIFAR-10's files are written (Python 2 cPickle, protocol 2): byte
    strings as BINSTRING and numpy's reconstruct under its numpy 1 module name."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj):
        data = obj if isinstance(obj, bytes) else obj.encode("latin1")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str
    dispatch[str] = _save_py2_str

    def save_global(self, obj, name=None):
        if obj is _RECONSTRUCT:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


def write_batch(path: Path, data: np.ndarray, labels: list[int], obj: object = None) -> Path:
    """One CIFAR-10 batch file (or ``obj`` pickled the same way instead of a batch)."""
    if obj is None:
        obj = {"batch_label": "batch", "labels": list(labels), "data": data,
               "filenames": [f"img_{i}.png" for i in range(len(labels))]}
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    path.write_bytes(buf.getvalue())
    return path


def cifar_like(folder: Path, per_batch: int = 12, n_test: int = 10, seed: int = 0) -> dict:
    """A valid cifar-10-batches-py folder with five small training batches and a test batch."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(names):
        n = n_test if name == "test_batch" else per_batch
        data = rng.integers(0, 256, (n, 3072)).astype(np.uint8)
        labels = [int(v) for v in (np.arange(n) + k) % 10]
        write_batch(folder / name, data, labels)
        out[name] = (data, labels)
    return out


@pytest.fixture
def writers():
    """The file writers above, for test modules (conftest modules are not importable)."""
    return SimpleNamespace(write_idx=write_idx, mnist_like=mnist_like,
                           write_batch=write_batch, cifar_like=cifar_like)
