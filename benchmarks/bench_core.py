"""Speed of the simulator core, as ratios against plain NumPy measured in the same process.

1. Simulated fp32 backprop (MLP 784-1024-1024-10, batch 128, synthetic data, plain SGD) on
   the h100-sxm spec versus a NumPy loop doing the same arithmetic. Target: <= 1.3x.
2. Pricing a trace of 10^6 rows with the GPU cost kernel. Target: >= 3e6 rows/s (each GEMM row
   searches 12 CTA tiles x split-K factors: gpu/efficiency.py).
3. Cold start (first ``xpusim run`` with an empty numba cache, JIT included) and warm start.

Run: ``python benchmarks/bench_core.py``
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from xpusim import hookimpl
from xpusim.core import DatasetInfo
from xpusim.core.data import Dataset

SIZES = (784, 1024, 1024, 10)
BATCH, BATCHES, LR = 128, 20, 0.01


def _synthetic(_arg=None) -> Dataset:
    rng = np.random.default_rng(0)
    n = BATCH * BATCHES
    x = rng.random((n, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], n)
    return Dataset("synthetic", x, y, x[:BATCH], y[:BATCH], SIZES[-1])


@hookimpl
def xpusim_register_datasets():
    return [DatasetInfo("synthetic", _synthetic, "random 784-feature data")]


def numpy_epoch(x: np.ndarray, y: np.ndarray, ws: list[np.ndarray], bs: list[np.ndarray]) -> None:
    """The same arithmetic as the simulated run: relu MLP, softmax CE, plain SGD."""
    eye = np.eye(SIZES[-1], dtype=np.float32)
    for i in range(0, len(x), BATCH):
        h, hs, zs = x[i:i + BATCH], [], []
        for j, (w, b) in enumerate(zip(ws, bs)):
            hs.append(h)
            z = h @ w + b
            zs.append(z)
            h = np.maximum(z, 0) if j < len(ws) - 1 else z
        p = np.exp(h - h.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        delta = (p - eye[y[i:i + BATCH]]) / BATCH
        for j in reversed(range(len(ws))):
            back = delta @ ws[j].T if j else None
            ws[j] -= LR * (hs[j].T @ delta)
            bs[j] -= LR * delta.sum(axis=0)
            if j:
                delta = back * (zs[j - 1] > 0)


def bench_training() -> float:
    from xpusim.core.plugins import get_plugin_manager
    import xpusim

    pm = get_plugin_manager([sys.modules[__name__]], autoload=False)
    model = "mlp:" + "-".join(map(str, SIZES))
    xpusim.run(model=model, dataset="synthetic", epochs=1, batch_size=BATCH, optimizer="sgd",
               lr=LR, pm=pm)  # warm-up: JIT
    data = _synthetic()
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((k, n)).astype(np.float32) * 0.03 for k, n in zip(SIZES, SIZES[1:])]
    bs = [np.zeros(n, np.float32) for n in SIZES[1:]]
    numpy_epoch(data.x_train, data.y_train, ws, bs)
    sim, ref = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        r = xpusim.run(model=model, dataset="synthetic", epochs=2, batch_size=BATCH,
                       optimizer="sgd", lr=LR, pm=pm)
        t1 = time.perf_counter()
        r1 = xpusim.run(model=model, dataset="synthetic", epochs=1, batch_size=BATCH,
                        optimizer="sgd", lr=LR, pm=pm)
        t2 = time.perf_counter()
        sim.append((t1 - t0) - (t2 - t1))  # one epoch, setup and evaluation cancelled out
        t3 = time.perf_counter()
        numpy_epoch(data.x_train, data.y_train, ws, bs)
        ref.append(time.perf_counter() - t3)
    del r, r1
    s, n = min(sim), min(ref)
    print(f"training epoch ({BATCHES} batches of {BATCH}, MLP {'-'.join(map(str, SIZES))}): "
          f"simulated {s * 1e3:.1f} ms, numpy {n * 1e3:.1f} ms, ratio {s / n:.2f}x (target <= 1.3x)")
    return s / n


def bench_pricing(rows: int = 10**6) -> float:
    from xpusim.core.ledger import price
    from xpusim.core.plugins import get_plugin_manager
    from xpusim.core.trace import Trace

    rng = np.random.default_rng(0)
    trace = Trace.from_columns({
        "phase": rng.integers(0, 4, rows), "layer": rng.integers(0, 8, rows),
        "primitive": rng.integers(0, 5, rows), "m": rng.integers(1, 4096, rows),
        "n": rng.integers(1, 4096, rows), "k": rng.integers(1, 4096, rows),
        "bits": np.full(rows, 16), "fmt": np.full(rows, 2), "count": np.ones(rows, np.int64)})
    pm = get_plugin_manager(autoload=False)
    spec = pm.load_spec("h100-sxm")
    cost = pm.cost_model(spec)
    price(trace.select(np.arange(rows) < 10), cost)  # JIT warm-up
    best = min(_timed(lambda: price(trace, cost)) for _ in range(3))
    rate = rows / best
    print(f"pricing {rows:.0e} trace rows: {best * 1e3:.1f} ms, {rate:.3g} rows/s (target >= 3e6)")
    return rate


def _timed(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def bench_start() -> None:
    root = Path(__file__).resolve().parent.parent / "xpusim"
    for cache in root.rglob("__pycache__"):
        for f in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            f.unlink()
    exe = shutil.which("xpusim") or f"{sys.executable} -m xpusim"
    cmd = f"{exe} run --epochs 1 --json -"
    cold = _timed(lambda: subprocess.run(cmd, shell=True, check=True, capture_output=True))
    warm = _timed(lambda: subprocess.run(cmd, shell=True, check=True, capture_output=True))
    print(f"xpusim run --epochs 1: cold start (empty numba cache) {cold:.2f} s, warm {warm:.2f} s")


if __name__ == "__main__":
    bench_training()
    bench_pricing()
    bench_start()
