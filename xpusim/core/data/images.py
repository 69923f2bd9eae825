"""Image data sets as (N, C, H, W) float32 in [0, 1]: scikit-learn's bundled 8x8 digits, and
what the file loaders share (grey levels to [0, 1], first-N subsets)."""

from __future__ import annotations

import numpy as np

from .dataset import DataError, Dataset

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0
SUBSET_OPTIONS: dict[str, int | None] = {"train": None, "test": None}


def load_digits(arg: str | None = None) -> Dataset:
    """sklearn's 8x8 digits as 1x8x8 images (1,797, 10 classes), pixels /16; fixed stratified
    split: 20 % test (360), ``random_state=0``, 1,437 train images (45 batches of 32)."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    if arg:
        raise DataError(f"data set 'digits' takes no options, got 'digits:{arg}'")
    x, y = sk_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(x, y.astype(np.int64), test_size=DIGITS_TEST_FRACTION,
                                          stratify=y, random_state=DIGITS_SPLIT_SEED)
    return Dataset("digits", xtr.reshape(-1, 1, 8, 8), ytr, xte.reshape(-1, 1, 8, 8), yte, 10,
                   "sklearn digits, 1x8x8 grey levels / 16, stratified 80/20 split (seed 0)")


def unit_pixels(raw: np.ndarray, where: str) -> np.ndarray:
    """Integer grey levels 0..255 -> float32 / 255; floats must already lie in [0, 1]."""
    if raw.size == 0:
        return raw.astype(np.float32)
    if np.issubdtype(raw.dtype, np.integer):
        lo, hi = int(raw.min()), int(raw.max())
        if lo < 0 or hi > 255:
            raise DataError(f"{where}: integer pixels must be grey levels 0..255, found "
                            f"{lo}..{hi}")
        out = raw.astype(np.float32)
        out /= np.float32(255.0)
        return out
    bad = ~np.isfinite(raw)
    if bad.any():
        first = np.unravel_index(int(np.argmax(bad)), raw.shape)
        raise DataError(f"{where}: pixel values hold NaN or infinity (first at index "
                        f"{tuple(int(i) for i in first)})")
    if raw.min() < 0 or raw.max() > 1:
        raise DataError(f"{where}: floating-point pixels must lie in [0, 1], found "
                        f"[{raw.min():g}, {raw.max():g}]")
    return raw.astype(np.float32)


def whole_labels(raw: np.ndarray, where: str) -> np.ndarray:
    """Labels as int64: one per sample, whole numbers >= 0 (no wrapping, no truncation)."""
    if raw.ndim != 1:
        raise DataError(f"{where}: labels must be one number per sample (1 dimension), the "
                        f"file has {raw.ndim} dimensions {raw.shape}")
    if np.issubdtype(raw.dtype, np.floating):
        bad = ~np.isfinite(raw) | (raw != np.round(raw))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{where}: labels must be whole numbers, label {i} is {raw[i]:g}")
    if raw.size and raw.min() < 0:
        i = int(np.argmin(raw))
        raise DataError(f"{where}: labels must be >= 0, label {i} is {raw[i]}")
    return raw.astype(np.int64)


def first(x: np.ndarray, y: np.ndarray, n: int | None, option: str, where: str
          ) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` samples in file order (all when ``n`` is None)."""
    if n is None:
        return x, y
    if n < 1 or n > len(x):
        raise DataError(f"{where}: {option}={n} asks for {n} samples; it holds {len(x)} "
                        f"(give 1..{len(x)})")
    return x[:n], y[:n]


def check_classes(y_train: np.ndarray, y_test: np.ndarray, train_where: str,
                  test_where: str, n_classes: int | None = None) -> int:
    """Number of classes K (largest label + 1 unless given): labels number them 0..K-1 and
    training holds every one (at least two)."""
    classes = np.unique(y_train)
    if len(classes) < 2:
        raise DataError(f"{train_where}: every training label is {classes[0]}; a classifier "
                        f"needs at least two classes")
    k = n_classes or int(max(classes[-1], y_test.max())) + 1
    unseen = np.setdiff1d(np.unique(y_test), classes)
    if len(unseen):
        raise DataError(f"{test_where}: test class {int(unseen[0])} never occurs in "
                        f"{train_where} (a model could never learn it)")
    missing = np.setdiff1d(np.arange(k), classes)
    if len(missing):
        raise DataError(f"{train_where}: no training label is {int(missing[0])} (classes "
                        f"are numbered 0..{k - 1} and each must occur in training)")
    return k
