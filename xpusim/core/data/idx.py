"""MNIST-format IDX files (MNIST, Fashion-MNIST) from a local folder -> (N, 1, H, W) images.

Every file is checked before use; each problem is one message naming the file. Nothing is
downloaded.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from .dataset import DataError, Dataset
from .images import SUBSET_OPTIONS, check_classes, first, unit_pixels, whole_labels
from .options import split_path

# IDX type byte -> big-endian numpy dtype (Y. LeCun's format description)
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with gzip's magic number."""
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == _GZIP_MAGIC else raw
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: damaged or truncated gzip file ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read IDX file: {exc.strerror or exc}") from None


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (optionally gzipped): magic (0, 0, type, dims), dims x uint32, data."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: not an IDX file (only {len(data)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {data[:4].hex()})")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions (expected 1 for labels, "
                        f"3 for images)")
    if len(data) < 4 + 4 * ndim:
        raise DataError(f"{path}: IDX header is cut short (declares {ndim} dimensions)")
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    dtype = np.dtype(IDX_DTYPES[code])
    body = len(data) - 4 - 4 * ndim
    expected = math.prod(dims) * dtype.itemsize
    if body != expected:
        raise DataError(f"{path}: IDX header says {dims} ({math.prod(dims)} values of "
                        f"{dtype.itemsize} byte(s)), file holds {body} bytes of data")
    return np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim).reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: missing {stem} (or {stem}.gz) for an IDX data set")


def _split(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    """One split's images (N, 1, H, W) float32 and labels (N,) int64, each file checked."""
    raw = read_idx(images)
    if raw.ndim != 3:
        raise DataError(f"{images}: an image file has 3 dimensions (count, rows, columns), "
                        f"its header declares {raw.ndim}: {raw.shape}")
    if raw.shape[0] == 0:
        raise DataError(f"{images}: holds no images (header count is 0)")
    if raw.shape[1] == 0 or raw.shape[2] == 0:
        raise DataError(f"{images}: images of {raw.shape[1]} x {raw.shape[2]} pixels hold no "
                        f"pixels")
    x = unit_pixels(raw, str(images))[:, None]
    y = whole_labels(read_idx(labels), str(labels))
    if len(y) != len(x):
        raise DataError(f"{labels}: holds {len(y)} labels but {images.name} holds {len(x)} "
                        f"images (one label per image)")
    return x, y


def load_idx(arg: str | None, family: str = "idx", env: str | None = "XPUSIM_MNIST") -> Dataset:
    """MNIST-format folder: train-/t10k- images-idx3 and labels-idx1 (.gz ok) -> (N, 1, H, W);
    ``idx:PATH[,train=N][,test=N]`` keeps the first N of a split."""
    folder, opts = split_path(family, arg, SUBSET_OPTIONS, env)
    files = [_find(folder, stem) for stem in IDX_STEMS]
    xtr, ytr = _split(files[0], files[1])
    xte, yte = _split(files[2], files[3])
    if xtr.shape[1:] != xte.shape[1:]:
        raise DataError(f"{files[2]}: test images are {xte.shape[2]} x {xte.shape[3]} pixels "
                        f"but {files[0].name} holds {xtr.shape[2]} x {xtr.shape[3]}")
    xtr, ytr = first(xtr, ytr, opts["train"], "train", str(files[0]))
    xte, yte = first(xte, yte, opts["test"], "test", str(files[2]))
    n_classes = check_classes(ytr, yte, str(files[1]), str(files[3]))
    name = f"{family}:{arg}" if arg else family
    return Dataset(name, xtr, ytr, xte, yte, n_classes,
                   f"IDX files in {folder}: {len(xtr)} train / {len(xte)} test images of "
                   f"1x{xtr.shape[2]}x{xtr.shape[3]}, {n_classes} classes")


def load_mnist(arg: str | None) -> Dataset:
    """MNIST from a local folder: ``mnist:PATH[,train=N][,test=N]`` (or ``$XPUSIM_MNIST``)."""
    return load_idx(arg, "mnist", "XPUSIM_MNIST")


def load_fashion_mnist(arg: str | None) -> Dataset:
    """Fashion-MNIST from a local folder: ``fashion-mnist:PATH[,train=N][,test=N]`` (or
    ``$XPUSIM_FASHION_MNIST``)."""
    return load_idx(arg, "fashion-mnist", "XPUSIM_FASHION_MNIST")
