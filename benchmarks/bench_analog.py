"""Speed of the analog backend, as ratios against NumPy in the same process.

1. One analog MVM with every non-ideality on (DAC, ADC, output + per-read conductance noise,
   IR drop, stuck devices, PCM programming noise, drift and 1/f noise, drift compensation),
   1024x1024 weights, batch 256, vs a NumPy float32 matmul of the same shape (target <= 3x).
2. One simulated in-situ training epoch of the digits MLP (45 batches of 32, aihwkit-defaults
   with training_mode=in-situ, training only), seconds per epoch (benchmarks/analog_aihwkit.py
   times aihwkit's beside it in one run).

    python benchmarks/bench_analog.py
"""

from __future__ import annotations

import time

import numpy as np

from xpusim.core.plugins import get_plugin_manager

ALL_ON = ("noise.w_noise_std=0.02", "noise.stuck_fraction=0.01", "tile.ir_drop=0.05",
          "inference_time_s=86400", "drift_compensation=global")


def blocks(f, g, rounds=3, calls=20):
    """Best times of f and g, each timed in blocks of ``calls`` back-to-back calls, the blocks
    alternating for ``rounds`` rounds: (best f, best g, [ratio of the two blocks' bests per
    round]). Blocks keep each side's thread pool to itself (numba's and OpenBLAS's workers spin
    for a while after a call, and slow whatever runs next); the rounds show how much a shared
    machine's speed moves the result."""
    f(), g()
    best_f, best_g, ratios = np.inf, np.inf, []
    for _ in range(rounds):
        times = []
        for h in (f, g):
            ts = []
            for _ in range(calls):
                t = time.perf_counter()
                h()
                ts.append(time.perf_counter() - t)
            times.append(min(ts))
        best_f, best_g = min(best_f, times[0]), min(best_g, times[1])
        ratios.append(times[0] / times[1])
    return best_f, best_g, ratios


def bench_mvm():
    pm = get_plugin_manager()
    spec = pm.load_spec("pcm-hermes", ALL_ON)
    backend = pm.backend("analog")
    dev = backend.device(spec, pm.compute_kernels(spec), np.random.default_rng(0),
                         primitives=backend.primitives)
    rng = np.random.default_rng(1)
    w = (rng.standard_normal((1024, 1024)) * 0.05).astype(np.float32)
    x = rng.standard_normal((256, 1024)).astype(np.float32)
    dev.place(0, w)
    dev.prepare_inference()
    dev.trace.enabled = False
    return blocks(lambda: dev.mvm(0, x, "inference"), lambda: x @ w)


def bench_epoch(spec="aihwkit-defaults", epochs=5):
    """Seconds per in-situ training epoch (45 batches of 32, training only, no evaluation),
    the loop benchmarks/analog_aihwkit.py times in aihwkit."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from analog_drift_table import trained
    pm = get_plugin_manager()
    over = ("training_mode=in-situ",)
    trained(pm, 0, 1, spec, over, "sgd", 0.05)  # compile
    t = time.perf_counter()
    trained(pm, 0, epochs, spec, over, "sgd", 0.05)
    return (time.perf_counter() - t) / epochs


if __name__ == "__main__":
    ta, tn, ratios = bench_mvm()
    print(f"analog mvm 1024x1024 b256, all non-idealities: {ta * 1e3:.2f} ms; numpy float32 "
          f"matmul {tn * 1e3:.2f} ms (best of 3 rounds of 20 calls each); ratio {ta / tn:.2f}x "
          f"(target <= 3x; per round {', '.join(f'{r:.2f}' for r in ratios)})")
    te = bench_epoch()
    print(f"in-situ digits epoch (45 batches of 32, training only, aihwkit-defaults): {te:.3f} s "
          f"(benchmarks/analog_aihwkit.py times aihwkit's beside it)")
