"""The data contract every data set meets: train/test arrays, their task and their checks.

Classification: x float32 in [0, 1] of shape (N, *sample_shape) (images are (N, C, H, W)),
y int64 (N,) in [0, n_classes). Sequence: x int64 token ids (N, T) in [0, n_classes), y int64
(N, T) holding the next token at scored positions and -1 elsewhere (n_classes = vocabulary).
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from ..errors import XpusimError

TASKS = ("classification", "sequence")
UNSCORED = -1  # y at positions of a sequence that are not scored


class DataError(XpusimError):
    """A data file or generated data set breaks the data contract (names the file and what)."""


@attrs.frozen(eq=False)
class Dataset:
    """Train/test arrays of one task; checked against the data contract on construction."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    description: str = ""
    task: str = "classification"

    def __attrs_post_init__(self) -> None:
        check_dataset(self)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample: (C, H, W) for images, (T,) for token sequences."""
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def n_features(self) -> int:
        """Values per sample (the product of ``sample_shape``): an MLP's input width."""
        return math.prod(self.sample_shape)

    def flat(self) -> Dataset:
        """The same data, each sample flattened to one row (views, no copies), as MLPs take it."""
        return attrs.evolve(self, x_train=self.x_train.reshape(len(self.x_train), -1),
                            x_test=self.x_test.reshape(len(self.x_test), -1))


def check_dataset(ds: Dataset) -> None:
    """Raise ``DataError`` naming the data set and what is wrong when it breaks the contract."""
    def fail(what: str) -> None:
        raise DataError(f"data set {ds.name!r}: {what}")

    if ds.task not in TASKS:
        fail(f"task must be one of {', '.join(TASKS)}, got {ds.task!r}")
    if isinstance(ds.n_classes, bool) or not isinstance(ds.n_classes, (int, np.integer)) \
            or ds.n_classes < 2:
        fail(f"n_classes must be an integer >= 2, got {ds.n_classes!r}")
    splits = {"train": (ds.x_train, ds.y_train), "test": (ds.x_test, ds.y_test)}
    for split, (x, y) in splits.items():
        if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
            fail(f"{split} features and labels must be numpy arrays")
        if x.ndim < 2 or len(x) == 0 or 0 in x.shape:
            fail(f"{split} features must be (samples, ...) with at least one sample and one "
                 f"value each, got shape {x.shape}")
        if y.ndim == 0 or len(y) != len(x):
            fail(f"{split} split has {len(x)} samples but {y.size if y.ndim else 'no'} labels")
        if y.dtype != np.int64:
            fail(f"{split} labels must be int64, got {y.dtype}")
    if ds.x_train.shape[1:] != ds.x_test.shape[1:]:
        fail(f"train samples are {ds.x_train.shape[1:]} but test samples are {ds.x_test.shape[1:]}")
    if ds.task == "classification":
        _check_classification(ds, splits, fail)
    else:
        _check_sequence(ds, splits, fail)


def _check_classification(ds: Dataset, splits: dict, fail) -> None:
    for split, (x, y) in splits.items():
        if x.dtype != np.float32:
            fail(f"{split} features must be float32, got {x.dtype}")
        if not np.isfinite(x).all():
            fail(f"{split} features hold NaN or infinity (first at sample "
                 f"{int(np.argwhere(~np.isfinite(x))[0][0])})")
        if x.min() < 0 or x.max() > 1:
            fail(f"{split} features must lie in [0, 1], found [{x.min():g}, {x.max():g}]")
        if y.ndim != 1:
            fail(f"{split} labels must be one class per sample (shape (N,)), got {y.shape}")
        if y.min() < 0 or y.max() >= ds.n_classes:
            fail(f"{split} labels must lie in [0, {ds.n_classes}), found "
                 f"[{y.min()}, {y.max()}]")
    if len(np.unique(ds.y_train)) < 2:
        fail(f"every training label is {ds.y_train[0]}; a classifier needs at least two classes")


def _check_sequence(ds: Dataset, splits: dict, fail) -> None:
    for split, (x, y) in splits.items():
        if x.dtype != np.int64 or x.ndim != 2:
            fail(f"{split} tokens must be int64 of shape (N, T), got {x.dtype} {x.shape}")
        if x.min() < 0 or x.max() >= ds.n_classes:
            fail(f"{split} tokens must lie in [0, {ds.n_classes}) (the vocabulary), found "
                 f"[{x.min()}, {x.max()}]")
        if y.shape != x.shape:
            fail(f"{split} targets must have the tokens' shape {x.shape}, got {y.shape}")
        if y.min() < UNSCORED or y.max() >= ds.n_classes:
            fail(f"{split} targets must be -1 (not scored) or a token in [0, {ds.n_classes}), "
                 f"found [{y.min()}, {y.max()}]")
        if not (y != UNSCORED).any():
            fail(f"{split} targets score no position (all -1)")
