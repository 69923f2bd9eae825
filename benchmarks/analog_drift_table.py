"""Drift study: a digits MLP programmed on pcm-hermes, accuracy at 1 s, 1 h, 1 day, 1 year.

Trains once per seed (fp32-style training = hardware-aware mode with no noise injected;
hardware-aware = programming noise injected in the forward pass), programs the weights with
PCM programming noise, then reads them at each time with drift + 1/f read noise, with and
without global drift compensation. Prints a Markdown table (mean +- std over seeds).

    python benchmarks/analog_drift_table.py [--seeds 5] [--epochs 20]
"""

from __future__ import annotations

import argparse

import numpy as np

from xpusim.core.plugins import get_plugin_manager
from xpusim.core.scheduler import accuracy

TIMES = {"1 s": 1.0, "1 h": 3600.0, "1 day": 86400.0, "1 year": 31536000.0}


def drift_accuracies(seeds=5, epochs=20, times=TIMES):
    """{(training, compensation): {time label: [acc per seed]}}."""
    pm = get_plugin_manager()
    data = pm.dataset("digits")
    out: dict = {}
    for train, hwa in (("fp32", "0"), ("hardware-aware", "1")):
        for seed in range(seeds):
            method, device = _trained(pm, seed, epochs, hwa)
            device.trace.enabled = False
            device.finalize_training()  # program once (PCM programming noise)
            for comp in ("none", "global"):
                for label, t in times.items():
                    _set(device, inference_time_s=t, drift_compensation=comp)
                    device.prepare_inference()  # drift + 1/f read noise at t
                    acc = accuracy(method, data.x_test, data.y_test)
                    out.setdefault((train, comp), {}).setdefault(label, []).append(acc)
    return out


def _set(device, **changes):
    import attrs
    device.params = attrs.evolve(device.params, **changes)


def _trained(pm, seed, epochs, hwa):
    """Train like scheduler.run does, but keep the method and device."""
    from xpusim.core.optim import make_optimizer
    from xpusim.core.trace import Trace
    spec = pm.load_spec("pcm-hermes", (f"hwa_noise_scale={hwa}",))
    backend = pm.backend("analog")
    model = pm.model("mlp:64-256-10")
    data = pm.dataset("digits")
    ss = np.random.SeedSequence(seed).spawn(3)
    rng = [np.random.Generator(np.random.PCG64(s)) for s in ss]
    device = backend.device(spec, pm.compute_kernels(spec), rng[0], Trace(),
                            make_optimizer("adam", 0.9), primitives=backend.primitives)
    method = pm.method("backprop").factory(model, device, rng[1], {"lr": None, "optimizer": "adam"})
    method.initialize()
    eye = np.eye(data.n_classes, dtype=np.float32)
    n = len(data.x_train)
    for _ in range(epochs):
        order = rng[2].permutation(n)
        for i in range(0, n, 32):
            idx = order[i:i + 32]
            method.train_batch(data.x_train[idx], eye[data.y_train[idx]])
    return method, device


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=20)
    a = ap.parse_args()
    res = drift_accuracies(a.seeds, a.epochs)
    print("| training | compensation | " + " | ".join(TIMES) + " |")
    print("|---|---|" + "---|" * len(TIMES))
    for (train, comp), row in res.items():
        cells = [f"{100 * np.mean(v):.1f} ± {100 * np.std(v):.1f}" for v in row.values()]
        print(f"| {train} | {comp} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
