"""Data sets: scikit-learn's bundled ``digits`` and MNIST-format IDX files from a local path.

Nothing is downloaded at run time.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import attrs
import numpy as np

from .errors import XpusimError

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0


@attrs.frozen(eq=False)
class Dataset:
    """Train/test arrays: features float32 in [0, 1], labels int64 in [0, n_classes)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    description: str = ""

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def load_digits(arg: str | None = None) -> Dataset:
    """sklearn's 8x8 digits (1,797 images, 10 classes), pixels /16; a fixed stratified split:
    20 % test (360 images), ``random_state=0`` -- 1,437 train images, 45 batches of 32."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    x, y = sk_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(x, y.astype(np.int64), test_size=DIGITS_TEST_FRACTION,
                                          stratify=y, random_state=DIGITS_SPLIT_SEED)
    return Dataset("digits", xtr, ytr, xte, yte, 10,
                   "sklearn digits, 8x8 grey levels / 16, stratified 80/20 split (seed 0)")


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped): magic, dims, big-endian data."""
    opener = gzip.open if path.suffix == ".gz" else open
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    try:
        with opener(path, "rb") as fh:
            zero, dtype_code, ndim = struct.unpack(">HBB", fh.read(4))
            if zero != 0 or dtype_code not in dtypes:
                raise XpusimError(f"{path}: not an IDX file (bad magic number)")
            dims = struct.unpack(f">{ndim}I", fh.read(4 * ndim))
            data = np.frombuffer(fh.read(), dtype=dtypes[dtype_code])
    except (OSError, struct.error) as exc:
        raise XpusimError(f"{path}: cannot read IDX file: {exc}") from None
    if data.size != int(np.prod(dims)):
        raise XpusimError(f"{path}: IDX header says {dims}, file holds {data.size} values")
    return data.reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).exists():
            return folder / name
    raise XpusimError(f"{folder}: missing {stem} (or {stem}.gz) for an IDX data set")


def load_idx(arg: str | None) -> Dataset:
    """MNIST-format folder: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-* (.gz ok)."""
    folder = Path(arg or os.environ.get("XPUSIM_MNIST", "")).expanduser()
    if not arg and not os.environ.get("XPUSIM_MNIST"):
        raise XpusimError("data set 'idx' needs a folder: --dataset idx:/path/to/mnist "
                          "(or set XPUSIM_MNIST)")
    if not folder.is_dir():
        raise XpusimError(f"data set folder {str(folder)!r} does not exist")
    parts = [read_idx(_find(folder, s)) for s in ("train-images-idx3-ubyte",
             "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]
    xtr, ytr, xte, yte = parts

    def flat(a: np.ndarray) -> np.ndarray:
        a = a.reshape(len(a), -1).astype(np.float32)
        return a / 255.0 if a.max(initial=0) > 1 else a

    n_classes = int(max(ytr.max(initial=0), yte.max(initial=0))) + 1
    return Dataset(f"idx:{folder}", flat(xtr), ytr.astype(np.int64), flat(xte),
                   yte.astype(np.int64), n_classes, f"IDX files in {folder}")


def load_mnist(arg: str | None) -> Dataset:
    """MNIST from a local folder (``mnist:PATH`` or ``$XPUSIM_MNIST``); never downloaded."""
    return load_idx(arg)
