"""A local rule's simulated epoch versus backprop's on the same backend.

For each method: one training epoch (MLP 784-1024-1024-10, batch 128, 20 batches of random
data) on one spec, measured two ways:

* wall-clock seconds the simulator takes for the epoch (the best of ``--repeats``, methods
  interleaved so that load from other processes hits them alike), as a ratio to backprop's.
  Target: <= 1.0 for the rules that skip the backward pass through the weights (dfa, oja,
  krotov-hopfield); fa does the same sequential work as backprop through fixed matrices;
  forward-forward does two forward passes per layer by design.
* the simulated hardware time and energy of that epoch (the priced trace), as ratios.

Run: ``python benchmarks/bench_methods.py [--spec h100-sxm] [--repeats 5]``. On a spec that
refuses backprop (no ``mvm_t``) the ratios are n/a; devices that take plain SGD steps only get
``sgd``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from xpusim.core.errors import IncompatibleError
from xpusim.core.ledger import price
from xpusim.core.optim import make_optimizer
from xpusim.core.plugins import get_plugin_manager
from xpusim.core.registry import DataShape
from xpusim.core.trace import Trace

METHODS = ("backprop", "fa", "dfa", "oja", "krotov-hopfield", "forward-forward")
SIZES, BATCH, BATCHES = "784-1024-1024-10", 128, 20


def epoch(pm, spec_name: str, method: str, x: np.ndarray, labels: np.ndarray):
    """(wall seconds of the training loop, simulated seconds, simulated joules)."""
    spec = pm.load_spec(spec_name)
    backend = pm.backend(spec.backend)
    rng = np.random.Generator(np.random.PCG64(0))
    trace = Trace()
    try:
        device = backend.device(spec, pm.compute_kernels(spec), rng, trace,
                                make_optimizer("adam"), primitives=backend.primitives)
    except IncompatibleError:  # on-chip learning engines take plain SGD steps only
        device = backend.device(spec, pm.compute_kernels(spec), rng, trace,
                                make_optimizer("sgd"), primitives=backend.primitives)
    n_in, n_out = int(SIZES.split("-")[0]), int(SIZES.split("-")[-1])
    model = pm.model(f"mlp:{SIZES}", DataShape((n_in,), n_out))
    m = pm.method(method).factory(model, device,
                                  np.random.Generator(np.random.PCG64(1)), {"lr": None})
    m.initialize()
    t = time.perf_counter()
    for i in range(0, len(x), BATCH):
        m.train_batch(x[i:i + BATCH], labels[i:i + BATCH])
    wall = time.perf_counter() - t
    ledger = price(trace, pm.cost_model(spec), spec.name).to_dict()
    return wall, ledger["time_s"], ledger["energy_j"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="h100-sxm")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    pm = get_plugin_manager()
    gen = np.random.default_rng(0)
    n_in, n_out = int(SIZES.split("-")[0]), int(SIZES.split("-")[-1])
    x = gen.random((BATCH * BATCHES, n_in), dtype=np.float32)
    labels = gen.integers(0, n_out, len(x))
    backend = pm.backend(pm.load_spec(args.spec).backend)
    methods = []
    for method in METHODS:
        if pm.method(method).primitives - backend.primitives:
            print(f"{method:16s} refused on {args.spec} (needs "
                  f"{sorted(pm.method(method).primitives - backend.primitives)})")
            continue
        epoch(pm, args.spec, method, x[:BATCH], labels[:BATCH])  # warm-up (JIT, caches)
        methods.append(method)
    runs: dict[str, list] = {m: [] for m in methods}
    for _ in range(args.repeats):
        for method in methods:
            runs[method].append(epoch(pm, args.spec, method, x, labels))
    rows = {m: (min(r[0] for r in rs), rs[0][1], rs[0][2]) for m, rs in runs.items()}
    base = rows.get("backprop")
    print(f"one epoch of mlp:{SIZES}, {BATCHES} batches of {BATCH}, spec {args.spec}")
    print(f"{'method':16s} {'wall s':>8s} {'vs bp':>6s} {'sim s':>10s} {'vs bp':>6s} "
          f"{'sim J':>10s} {'vs bp':>6s}")
    for method, (wall, sim_s, sim_j) in rows.items():
        r = (wall / base[0], sim_s / base[1], sim_j / base[2]) if base else (np.nan,) * 3
        print(f"{method:16s} {wall:8.3f} {r[0]:6.2f} {sim_s:10.3g} {r[1]:6.2f} "
              f"{sim_j:10.3g} {r[2]:6.2f}")


if __name__ == "__main__":
    main()
