"""CIFAR-10 from the standard python-pickle batches in a local folder -> (N, 3, 32, 32).

Pickle can run code, so the batches are read by an unpickler that builds only what they hold
(dicts, lists, strings, numbers and numpy arrays) and refuses every other global by name.
Nothing is downloaded.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import DataError, Dataset
from .images import SUBSET_OPTIONS, check_classes, first, unit_pixels, whole_labels
from .options import split_path

FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
SHAPE = (3, 32, 32)  # each row: 1,024 red, then green, then blue values, rows of 32 pixels
N_CLASSES = 10

# The globals a batch file names (numpy array reconstruction, under numpy 1 and 2 module
# names), mapped to this numpy's objects: nothing else is ever looked up.
_RECONSTRUCT = np.zeros(1).__reduce__()[0]
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles arrays and plain containers only; any other global is refused."""

    def __init__(self, fh: Any, path: Path):
        super().__init__(fh, encoding="bytes")
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise DataError(f"{self.path}: refused to load {module}.{name}: a CIFAR-10 batch "
                            f"holds only numpy arrays, lists and strings, and data files never "
                            f"run code") from None

    def persistent_load(self, pid: Any) -> Any:
        raise DataError(f"{self.path}: refused a persistent reference: not a CIFAR-10 batch")


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> (uint8 rows (n, 3072), labels int64 (n,)), checked."""
    try:
        with open(path, "rb") as fh:
            obj = _BatchUnpickler(fh, path).load()
    except DataError:
        raise
    except OSError as exc:
        raise DataError(f"{path}: cannot read CIFAR-10 batch: {exc.strerror or exc}") from None
    except MemoryError:
        raise DataError(f"{path}: not a CIFAR-10 batch (asks for more memory than there is)"
                        ) from None
    except Exception as exc:  # any malformed pickle stream: truncated, bad opcodes, bad args
        raise DataError(f"{path}: not a readable CIFAR-10 python batch "
                        f"({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: a CIFAR-10 batch is a dict with 'data' and 'labels', "
                        f"found {type(obj).__name__}")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}
    for key in ("data", "labels"):
        if key not in batch:
            raise DataError(f"{path}: a CIFAR-10 batch needs key {key!r} (has "
                            f"{', '.join(sorted(map(str, batch))) or 'none'})")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != np.prod(SHAPE):
        what = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{path}: 'data' must be a uint8 array of rows of {np.prod(SHAPE)} "
                        f"pixel values (3 x 32 x 32), found {what}")
    if len(data) == 0:
        raise DataError(f"{path}: holds no images")
    try:
        raw_labels = np.asarray(batch["labels"])
    except ValueError as exc:
        raise DataError(f"{path}: 'labels' is not a list of numbers ({exc})") from None
    if raw_labels.dtype.kind not in "iuf":
        raise DataError(f"{path}: 'labels' must be numbers, found {raw_labels.dtype}")
    labels = whole_labels(raw_labels, f"{path} 'labels'")
    if len(labels) != len(data):
        raise DataError(f"{path}: holds {len(labels)} labels for {len(data)} images")
    if labels.max() >= N_CLASSES:
        raise DataError(f"{path}: CIFAR-10 labels are 0..9, found {labels.max()}")
    return data, labels


def _resolve(folder: Path) -> Path:
    """The batches folder itself, or a folder holding ``cifar-10-batches-py``."""
    if not (folder / TEST_BATCH).exists() and (folder / FOLDER).is_dir():
        return folder / FOLDER
    return folder


def _read_split(folder: Path, names: tuple[str, ...], n: int | None, option: str
                ) -> tuple[np.ndarray, np.ndarray, Path]:
    """Reads batches in order until ``n`` images (all when None) -> (N, 3, 32, 32), labels."""
    rows, labels, total = [], [], 0
    for name in names:
        path = folder / name
        if not path.is_file():
            raise DataError(f"{folder}: missing {name} (the CIFAR-10 python batches: "
                            f"{', '.join(TRAIN_BATCHES)}, {TEST_BATCH})")
        data, y = read_batch(path)
        rows.append(data)
        labels.append(y)
        total += len(y)
        if n is not None and total >= n:
            break
    raw, y = first(np.concatenate(rows), np.concatenate(labels), n, option,
                   f"{folder} ({', '.join(names)})")
    return unit_pixels(raw, str(folder / names[0])).reshape(-1, *SHAPE), y, folder / names[0]


def load_cifar10(arg: str | None) -> Dataset:
    """CIFAR-10 python batches from a local folder -> (N, 3, 32, 32):
    ``cifar10:PATH[,train=N][,test=N]`` (or ``$XPUSIM_CIFAR10``); 50,000 train, 10,000 test."""
    folder, opts = split_path("cifar10", arg, SUBSET_OPTIONS, "XPUSIM_CIFAR10")
    folder = _resolve(folder)
    xtr, ytr, train_file = _read_split(folder, TRAIN_BATCHES, opts["train"], "train")
    xte, yte, test_file = _read_split(folder, (TEST_BATCH,), opts["test"], "test")
    n_classes = check_classes(ytr, yte, str(train_file), str(test_file), N_CLASSES)
    return Dataset(f"cifar10:{arg}" if arg else "cifar10", xtr, ytr, xte, yte, n_classes,
                   f"CIFAR-10 batches in {folder}: {len(xtr)} train / {len(xte)} test images "
                   f"of 3x32x32")
