"""Accuracy and energy of low-precision training and serving on the systolic specs vs fp32 on
h100-sxm, as in docs/backends/systolic.md (digits, mlp:64-256-10, backprop, Adam).

Rows: fp32 on h100-sxm; bf16 on tpu-v4; int8 / int4 / int2 training on tpu-v1 with an fp32
master copy (QAT, straight-through estimator) and without one (weights, activations and errors
in the format, stochastic-rounded updates); int4 / int2 / ternary / binary weights with wider
activations and errors (QAT); fp32-trained weights served on tpu-v1 in int8 /
int4 / int2 and on edge-int8 (post-training quantization, ``--serve-on``).

Run: ``python benchmarks/systolic_table.py [--epochs 20] [--seeds 3]``
"""

from __future__ import annotations

import argparse

import numpy as np

import xpusim
from xpusim.core.plugins import get_plugin_manager


def formats(fmt: str, master: bool | None = None) -> list[str]:
    """--set overrides putting weights, activations, errors and outputs in ``fmt``."""
    out = [f"numerics.{k}={fmt}" for k in ("weights", "activations", "errors", "outputs")]
    return out + ([] if master is None else [f"numerics.master_weights={str(master).lower()}"])


ROWS = [  # label, training spec, training overrides, serving spec, serving overrides
    ("fp32 (train + serve)", "h100-sxm", [], None, []),
    ("bf16 (train + serve)", "tpu-v4", [], None, []),
    ("int8 QAT, fp32 master", "tpu-v1", formats("int8", True), None, []),
    ("int8, no master (SR updates)", "tpu-v1", formats("int8", False), None, []),
    ("int4 QAT, fp32 master", "tpu-v1", formats("int4", True), None, []),
    ("int4, no master (SR updates)", "tpu-v1", formats("int4", False), None, []),
    ("int4 weights + activations, int8 errors, QAT", "tpu-v1",
     formats("int4", True) + ["numerics.errors=int8"], None, []),
    ("int2 QAT, fp32 master", "tpu-v1", formats("int2", True), None, []),
    ("int2 weights, int8 activations + errors, QAT", "tpu-v1",
     formats("int8", True) + ["numerics.weights=int2"], None, []),
    ("ternary weights, int8 activations + errors, QAT", "tpu-v1",
     formats("int8", True) + ["numerics.weights=ternary"], None, []),
    ("binary weights, int8 activations + errors, QAT", "tpu-v1",
     formats("int8", True) + ["numerics.weights=binary"], None, []),
    ("fp32-trained, served int8", "h100-sxm", [], "tpu-v1", formats("int8")),
    ("fp32-trained, served int4", "h100-sxm", [], "tpu-v1", formats("int4")),
    ("fp32-trained, served int2", "h100-sxm", [], "tpu-v1", formats("int2")),
    ("fp32-trained, served int8 edge", "h100-sxm", [], "edge-int8", []),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    pm = get_plugin_manager(autoload=False)
    print("| configuration | trained on | served on | accuracy (mean ± sd) | "
          "training energy / sample | inference energy / sample | inference time / sample |")
    print("|---|---|---|---|---|---|---|")
    for label, hw, ov, serve, serve_ov in ROWS:
        runs = [xpusim.run(hardware=hw, set=ov, serve_on=serve, serve_set=serve_ov,
                           epochs=args.epochs, seed=s, pm=pm) for s in range(args.seeds)]
        acc = [r.final_test_accuracy for r in runs]
        r = runs[0]
        samples = r.config["train_samples"] * args.epochs
        inf = r.inference_per_sample
        print(f"| {label} | {hw} | {serve or hw} | {np.mean(acc):.3f} ± {np.std(acc):.3f} | "
              f"{r.training['energy_j'] / samples * 1e6:.3g} µJ | {inf['energy_j'] * 1e9:.3g} nJ"
              f" | {inf['time_s'] * 1e9:.3g} ns |")


if __name__ == "__main__":
    main()
