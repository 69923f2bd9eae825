"""Softmax cross-entropy over class scores or per-token scores, and accuracy.

Classification targets are labels (B,); sequence targets (B, T) hold the next token at scored
positions and -1 elsewhere (``data.UNSCORED``). The loss is the mean over scored positions;
its gradient at the scores, e = (softmax - one-hot) / scored, is recorded as periphery work.
"""

from __future__ import annotations

import numpy as np

from .layers.activation import softmax

LOSS_ARRAYS, LOSS_OPS = 3, 6  # read scores and targets, write the error; softmax + log + diff


def cross_entropy(probs: np.ndarray, onehot: np.ndarray) -> float:
    """Mean softmax cross-entropy (nats) over rows (clip, log, row sums and their mean as
    ufunc and method calls: the numbers of ``np.mean(np.sum(...))``, less call overhead)."""
    logp = np.log(np.minimum(np.maximum(probs, 1e-12), 1.0))
    rows = np.add.reduce(onehot * logp, axis=-1)
    total = np.add.reduce(rows, axis=None)
    return float(-total.dtype.type(total / np.intp(rows.size)))  # as ``np.mean`` divides


def onehot(targets: np.ndarray, classes: int) -> np.ndarray:
    """One-hot rows of ``targets`` (all zero where a target is negative: not scored)."""
    eye = np.eye(classes, dtype=np.float32)
    return np.where((targets >= 0)[..., None], eye[np.maximum(targets, 0)], np.float32(0.0))


def softmax_error(device, layer: int, scores: np.ndarray,
                  targets: np.ndarray) -> tuple[np.ndarray, float]:
    """(e, loss): the error at the scores and the cross-entropy, recorded under ``layer``."""
    probs = softmax(scores)
    device.record_elementwise("train-forward", layer, probs.size, LOSS_ARRAYS, LOSS_OPS)
    if targets.ndim == 1:  # classification: every sample scored
        hot = np.eye(scores.shape[-1], dtype=np.float32)[targets]
        return (probs - hot) / len(hot), cross_entropy(probs, hot)
    hot = onehot(targets, scores.shape[-1])
    scored = targets >= 0
    n = max(int(scored.sum()), 1)
    loss = float(-np.sum(hot * np.log(np.clip(probs, 1e-12, 1.0))) / n)
    e = np.where(scored[..., None], probs - hot, np.float32(0.0)) / np.float32(n)
    return e.astype(np.float32), loss


def correct(scores: np.ndarray, targets: np.ndarray) -> tuple[int, int]:
    """(correct, scored) predictions: argmax over the last axis at scored positions."""
    scored = targets >= 0
    hits = (np.argmax(scores, axis=-1) == targets) & scored
    return int(hits.sum()), int(scored.sum())
