"""Accuracy and energy of the layer-graph models across backends: the table in docs/models.md.

Each row: mean ± std of the final test accuracy (per token for sequence tasks) over
``--seeds`` seeds, training energy and inference energy per sample (mean over the seeds).

Run: ``python benchmarks/models_table.py [--seeds 3] [--only lenet5]``.
"""

from __future__ import annotations

import argparse

import numpy as np

import xpusim

# (model, data set, epochs, hardware, method, --set overrides, what the row shows)
ROWS = [
    ("lenet5", "digits", 20, "h100-sxm", "backprop", (), "fp32"),
    ("lenet5", "digits", 20, "h100-sxm", "backprop", ("compute_format=bf16",), "bf16"),
    ("lenet5", "digits", 20, "tpu-v1", "backprop", (), "int8 training"),
    ("lenet5", "digits", 20, "tpu-v4", "backprop", (), "bf16 array"),
    ("lenet5", "digits", 20, "pcm-hermes", "backprop", ("inference_time_s=86400",),
     "hardware-aware, read after 1 day"),
    ("lenet5", "digits", 20, "h100-sxm", "fa", (), "fp32"),
    ("lenet5", "digits", 20, "h100-sxm", "dfa", (), "fp32"),
    ("lenet5", "digits", 20, "loihi2", "dfa", (), "spikes, on-chip learning"),
    ("cnn:c32k3-c32k3-m2-d64", "digits", 20, "h100-sxm", "backprop", (), "fp32"),
    ("gpt-nano", "seq-reverse", 1, "h100-sxm", "backprop", (), "fp32"),
    ("gpt-nano", "seq-reverse", 1, "h100-sxm", "backprop", ("compute_format=bf16",), "bf16"),
    ("gpt-nano", "seq-reverse", 1, "tpu-v1", "backprop", (), "int8 training"),
    ("gpt-nano", "seq-reverse", 1, "pcm-hermes", "backprop", ("inference_time_s=86400",),
     "hardware-aware, read after 1 day"),
    ("gpt-nano", "seq-sort", 2, "h100-sxm", "backprop", (), "fp32"),
    ("gpt-nano", "seq-sort", 2, "h100-sxm", "backprop", ("compute_format=bf16",), "bf16"),
    ("gpt-nano", "seq-sort", 2, "tpu-v1", "backprop", (), "int8 training"),
    ("gpt-nano", "seq-sort", 2, "pcm-hermes", "backprop", ("inference_time_s=86400",),
     "hardware-aware, read after 1 day"),
]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", default=None, help="rows of this model only")
    args = ap.parse_args(argv)
    print("| model | data | hardware | rule | numerics | epochs | accuracy | training J | "
          "inference J/sample |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model, data, epochs, hw, method, sets, what in ROWS:
        if args.only and model != args.only:
            continue
        acc, train, infer = [], [], []
        for seed in range(args.seeds):
            r = xpusim.run(hardware=hw, method=method, model=model, dataset=data,
                           epochs=epochs, seed=seed, set=list(sets))
            acc.append(r.final_test_accuracy)
            train.append(r.training["energy_j"])
            infer.append(r.inference_per_sample["energy_j"])
        print(f"| {model} | {data} | {hw} | {method} | {what} | {epochs} | "
              f"{np.mean(acc):.3f} ± {np.std(acc):.3f} | {np.mean(train):.3g} | "
              f"{np.mean(infer):.3g} |", flush=True)


if __name__ == "__main__":
    main()
