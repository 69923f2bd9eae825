"""Speed and fidelity of layer-graph models, against PyTorch on the CPU in the same run.

1. One training epoch (the training steps only) of ``lenet5`` on digits (45 batches of 32) and
   of ``gpt-nano`` on seq-reverse (250 batches of 32), fp32 on h100-sxm, Adam: xpusim's wall
   time over PyTorch's for the same architecture, batch and optimizer, both limited to the
   same thread count (``--threads``; BLAS and numba for xpusim, ``torch.set_num_threads``).
2. The same xpusim epoch on pcm-hermes with every analog non-ideality on, over xpusim's fp32.
3. ``--accuracy``: lenet5 on digits, 20 epochs, Adam 1e-3, batch 32, over ``--seeds`` seeds in
   both simulators (PyTorch's own initialisation): mean test accuracy side by side.

PyTorch is an optional, benchmark-only dependency (never needed by xpusim or its tests):
``python -m venv .venv-bench && .venv-bench/bin/pip install torch==2.13.0 -e .`` then
``.venv-bench/bin/python benchmarks/bench_models.py [--threads 1] [--accuracy]``. Without it,
only the xpusim figures print.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from xpusim.core.optim import make_optimizer
from xpusim.core.plugins import get_plugin_manager
from xpusim.core.registry import DataShape
from xpusim.core.trace import Trace

BATCH = 32


def limit_threads(n: int) -> None:
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(n)
    limit_threads.ctx = threadpool_limits(n)  # kept alive for the whole run


def xpusim_epoch(pm, model: str, dataset: str, spec: str = "h100-sxm", sets=(),
                 repeats: int = 3) -> float:
    """Best wall seconds of one epoch of training steps (no evaluation, no pricing)."""
    data = pm.dataset(dataset)
    loaded = pm.load_spec(spec, sets)
    backend = pm.backend(loaded.backend)
    graph = pm.model(model, DataShape(data.sample_shape, data.n_classes, data.task))
    if len(graph.input_shape) == 1 and not graph.tokens:
        data = data.flat()
    best = float("inf")
    for rep in range(repeats):
        rng = np.random.default_rng(rep)
        device = backend.device(loaded, pm.compute_kernels(loaded), rng, Trace(),
                                make_optimizer("adam"), primitives=backend.primitives)
        method = pm.method("backprop").factory(graph, device, rng, {"lr": None})
        method.initialize()
        order = rng.permutation(len(data.x_train))
        t = time.perf_counter()
        for i in range(0, len(order), BATCH):
            idx = order[i:i + BATCH]
            method.train_batch(data.x_train[idx], data.y_train[idx])
        best = min(best, time.perf_counter() - t)
    return best


# -- PyTorch twins of the architectures -------------------------------------------------------


def torch_lenet5(torch, classes: int = 10):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64, 120), nn.ReLU(), nn.Linear(120, 84),
                         nn.ReLU(), nn.Linear(84, classes))


def torch_gpt_nano(torch, vocab: int, seq: int, d: int = 64, heads: int = 4, layers: int = 2,
                   ffn: int = 256):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(d, ffn), nn.GELU(approximate="tanh"),
                                     nn.Linear(ffn, d))
            self.register_buffer("mask", torch.triu(torch.ones(seq, seq, dtype=torch.bool), 1))

        def forward(self, x):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, attn_mask=self.mask, need_weights=False)[0]
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, d), nn.Parameter(torch.zeros(seq, d))
            self.blocks = nn.Sequential(*[Block() for _ in range(layers)])
            self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)

        def forward(self, ids):
            return self.head(self.ln(self.blocks(self.tok(ids) + self.pos)))

    return GPT()


def torch_epoch(torch, net, x, y, repeats: int = 3, seed: int = 0) -> float:
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=-1)
    best = float("inf")
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for rep in range(repeats):
        torch.manual_seed(seed + rep)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        order = torch.randperm(len(xt))
        t = time.perf_counter()
        for i in range(0, len(order), BATCH):
            idx = order[i:i + BATCH]
            out = net(xt[idx])
            loss = loss_fn(out.reshape(-1, out.shape[-1]), yt[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
        best = min(best, time.perf_counter() - t)
    return best


def torch_accuracy(torch, data, epochs: int, seed: int) -> float:
    torch.manual_seed(seed)
    net = torch_lenet5(torch, data.n_classes)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(order), BATCH):
            idx = order[i:i + BATCH]
            loss = loss_fn(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        pred = net(torch.from_numpy(data.x_test)).argmax(1).numpy()
    return float((pred == data.y_test).mean())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--accuracy", action="store_true", help="also the lenet5 accuracy parity")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args(argv)
    limit_threads(args.threads)
    pm = get_plugin_manager()
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
        print("PyTorch not installed: xpusim figures only")
    cases = [("lenet5", "digits"), ("gpt-nano", "seq-reverse")]
    print(f"one training epoch, batch {BATCH}, Adam, {args.threads} thread(s), best of "
          f"{args.repeats}")
    print(f"{'model':10s} {'xpusim fp32 s':>14s} {'torch s':>9s} {'ratio':>6s} "
          f"{'analog s':>9s} {'analog/fp32':>12s}")
    for model, dataset in cases:
        xpusim_epoch(pm, model, dataset + (":train=64,test=8" if dataset != "digits" else ""),
                     repeats=1)  # compile kernels, warm caches
        fp32 = xpusim_epoch(pm, model, dataset, repeats=args.repeats)
        analog = xpusim_epoch(pm, model, dataset, spec="pcm-hermes", repeats=args.repeats)
        ref = float("nan")
        if torch is not None:
            data = pm.dataset(dataset)
            net = torch_lenet5(torch) if model == "lenet5" else \
                torch_gpt_nano(torch, data.n_classes, data.sample_shape[0])
            ref = torch_epoch(torch, net, data.x_train, data.y_train, args.repeats)
        print(f"{model:10s} {fp32:14.3f} {ref:9.3f} {fp32 / ref:6.2f} {analog:9.3f} "
              f"{analog / fp32:12.2f}")
    if args.accuracy:
        import xpusim

        data = pm.dataset("digits")
        ours = [xpusim.run(model="lenet5", epochs=20, seed=s, pm=pm).final_test_accuracy
                for s in range(args.seeds)]
        print(f"lenet5, digits, 20 epochs, {args.seeds} seeds: xpusim "
              f"{np.mean(ours):.4f} ± {np.std(ours):.4f}", end="")
        if torch is not None:
            theirs = [torch_accuracy(torch, data, 20, s) for s in range(args.seeds)]
            print(f", PyTorch {np.mean(theirs):.4f} ± {np.std(theirs):.4f}, difference "
                  f"{100 * (np.mean(ours) - np.mean(theirs)):+.1f} points")
        else:
            print()


if __name__ == "__main__":
    main()
