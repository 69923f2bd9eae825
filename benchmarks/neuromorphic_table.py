"""Accuracy and energy of local rules on the neuromorphic specs vs float (h100-sxm), as in
docs/backends/neuromorphic.md. Plain SGD everywhere (what an on-chip learning engine applies).

Run: ``python benchmarks/neuromorphic_table.py [--epochs 10] [--seeds 2]``
"""

from __future__ import annotations

import argparse

import numpy as np

import xpusim
from xpusim.core.plugins import get_plugin_manager


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=2)
    args = ap.parse_args()
    pm = get_plugin_manager(autoload=False)
    print("| method | hardware | accuracy (mean of seeds) | training energy / sample | "
          "inference energy / sample | inference breakdown |")
    print("|---|---|---|---|---|---|")
    for method in ("dfa", "oja", "krotov-hopfield"):
        for hw in ("h100-sxm", "loihi", "loihi2"):
            runs = [xpusim.run(hardware=hw, method=method, optimizer="sgd", epochs=args.epochs,
                               seed=s, pm=pm) for s in range(args.seeds)]
            acc = np.mean([r.final_test_accuracy for r in runs])
            r = runs[0]
            samples = r.config["train_samples"] * args.epochs
            inf = r.inference_per_sample
            parts = ", ".join(f"{k} {v * 1e6:.3g} µJ" for k, v in
                              inf["energy_by_component_j"].items() if v > 0)
            print(f"| {method} | {hw} | {acc:.3f} | {r.training['energy_j'] / samples * 1e6:.3g} µJ"
                  f" | {inf['energy_j'] * 1e6:.3g} µJ | {parts} |")


if __name__ == "__main__":
    main()
