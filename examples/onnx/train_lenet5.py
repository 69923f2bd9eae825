"""Train LeNet-5 on scikit-learn's 8x8 digits in PyTorch and export it to ONNX.

The data are exactly what ``xpusim run --dataset digits`` evaluates: pixels / 16 as float32,
images (N, 1, 8, 8), the stratified 80/20 split with ``random_state=0`` (360 test images).
The network is xpusim's ``lenet5`` (two 5x5 convolutions padded by 2 with ReLU and 2x2 max
pooling, dense 120-84-10), so the same architecture can be trained in xpusim for comparison.

Needs torch, onnx, onnxscript and scikit-learn (not xpusim):

    python train_lenet5.py --out lenet5-digits.onnx

It prints the PyTorch test accuracy, and the accuracy of the exported file evaluated by the
ONNX reference implementation (the two must agree).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn


def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """xpusim's digits split: (x_train, y_train, x_test, y_test), images (N, 1, 8, 8)."""
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(x, y.astype(np.int64), test_size=0.2, stratify=y,
                                          random_state=0)
    return xtr.reshape(-1, 1, 8, 8), ytr, xte.reshape(-1, 1, 8, 8), yte


class LeNet5(nn.Module):
    """LeNet-5 with ReLU and max pooling, 5x5 convolutions padded by 2 (fits 8x8 images)."""

    def __init__(self, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 2 * 2, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def train(epochs: int, seed: int) -> tuple[LeNet5, float]:
    """The trained model and its test accuracy (Adam, lr 1e-3, batches of 32)."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    xtr, ytr, xte, yte = digits()
    model = LeNet5()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(xt)).split(32):
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean()
    return model, float(acc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="lenet5-digits.onnx")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    model, acc = train(args.epochs, args.seed)
    print(f"PyTorch test accuracy: {acc:.4f}")
    batch = torch.export.Dim("batch")
    torch.onnx.export(model, (torch.zeros(2, 1, 8, 8),), args.out, input_names=["image"],
                      output_names=["scores"], dynamic_shapes=({0: batch},),
                      external_data=False)
    from onnx.reference import ReferenceEvaluator

    _, _, xte, yte = digits()
    scores = ReferenceEvaluator(args.out).run(None, {"image": xte})[0]
    print(f"ONNX file {args.out}: test accuracy {(scores.argmax(1) == yte).mean():.4f}")


if __name__ == "__main__":
    main()
