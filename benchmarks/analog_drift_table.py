"""Drift study: a digits MLP programmed on an analog spec, accuracy at 1 s, 1 h, 1 day, 1 year.

Per seed, two trainings of ``mlp:64-256-10`` (Adam, batches of 32):

* ``fp32``: every analog effect off during training (no DAC/ADC, no output noise, no noise
  injection): plain floating-point training;
* ``hardware-aware``: the training forward pass runs through the spec's analog model (DAC, ADC,
  output noise) with the PCM programming noise of REFERENCES E8 injected per batch
  (``hwa_noise_scale``).

Both are then programmed once on the full spec (PCM programming noise, REFERENCES E8) and read
at each time with drift and 1/f read noise (E9, E10), with and without global drift
compensation. Prints a Markdown table, mean ± std over seeds (the test split of ``digits`` has
360 images: one image is 0.28 points).

    python benchmarks/analog_drift_table.py [--seeds 5] [--epochs 20] [--spec pcm-hermes]
        [--model mlp:64-256-10] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse

import attrs
import numpy as np

from xpusim.core.plugins import get_plugin_manager
from xpusim.core.scheduler import accuracy

MODEL = "mlp:64-256-10"
TIMES = {"1 s": 1.0, "1 h": 3600.0, "1 day": 86400.0, "1 year": 31536000.0}
DIGITAL = ("dac.enabled=false", "adc.enabled=false", "noise.out_noise_std=0",
           "noise.w_noise_std=0", "hwa_noise_scale=0", "training_mode=hardware-aware")
TRAININGS = {"fp32": DIGITAL, "hardware-aware": ("training_mode=hardware-aware",)}


def drift_accuracies(seeds=5, epochs=20, times=TIMES, spec="pcm-hermes", overrides=(),
                     compensations=("none", "global"), trainings=TRAININGS, model=MODEL):
    """{(training, compensation): {time label: [accuracy per seed]}}."""
    pm = get_plugin_manager()
    data = pm.dataset("digits").flat()
    serve = pm.load_spec(spec, tuple(overrides)).params
    out: dict = {}
    for train, train_overrides in trainings.items():
        for seed in range(seeds):
            method, device = trained(pm, seed, epochs, spec, (*overrides, *train_overrides),
                                     model=model)
            device.trace.enabled = False
            device.params = serve           # deploy on the full analog model
            device.finalize_training()      # program once (PCM programming noise)
            for comp in compensations:
                for label, t in times.items():
                    set_params(device, inference_time_s=t, drift_compensation=comp)
                    device.prepare_inference()  # drift + 1/f read noise at t
                    acc = accuracy(method, data.x_test, data.y_test)
                    out.setdefault((train, comp), {}).setdefault(label, []).append(acc)
    return out


def set_params(device, **changes):
    device.params = attrs.evolve(device.params, **changes)


def trained(pm, seed, epochs, spec="pcm-hermes", overrides=(), optimizer="adam", lr=None,
            model=MODEL):
    """Train like scheduler.run does (batches of 32; Adam with its default step unless told),
    keep the method and the device."""
    from xpusim.core.optim import make_optimizer
    from xpusim.core.trace import Trace
    spec = pm.load_spec(spec, tuple(overrides))
    backend = pm.backend("analog")
    from xpusim.core.registry import DataShape

    data = pm.dataset("digits").flat()
    model = pm.model(model, DataShape(data.sample_shape, data.n_classes))
    ss = np.random.SeedSequence(seed).spawn(3)
    rng = [np.random.Generator(np.random.PCG64(s)) for s in ss]
    device = backend.device(spec, pm.compute_kernels(spec), rng[0], Trace(),
                            make_optimizer(optimizer, 0.9), primitives=backend.primitives)
    method = pm.method("backprop").factory(model, device, rng[1],
                                           {"lr": lr, "optimizer": optimizer})
    method.initialize()
    n = len(data.x_train)
    for _ in range(epochs):
        order = rng[2].permutation(n)
        for i in range(0, n, 32):
            idx = order[i:i + 32]
            method.train_batch(data.x_train[idx], data.y_train[idx])
    return method, device


def table(res, times=TIMES) -> str:
    lines = ["| training | compensation | " + " | ".join(times) + " |",
             "|---|---|" + "---|" * len(times)]
    for (train, comp), row in res.items():
        cells = [f"{100 * np.mean(v):.1f} ± {100 * np.std(v):.1f}" for v in row.values()]
        lines.append(f"| {train} | {comp} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--spec", default="pcm-hermes")
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--set", action="append", default=[], dest="overrides")
    a = ap.parse_args()
    print(table(drift_accuracies(a.seeds, a.epochs, spec=a.spec, overrides=a.overrides,
                                 model=a.model)))


if __name__ == "__main__":
    main()
