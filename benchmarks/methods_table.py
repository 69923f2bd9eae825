"""Regenerate the accuracy x training-energy table of docs/methods.md.

Every training method (backprop and the local rules) on every spec of every registered backend:
test accuracy (mean of 3 seeds) and training energy (J, mean of the seeds) on sklearn digits,
``mlp:64-256-10``, 20 epochs, batch 32, each method's default learning rate and options (Adam).
A pair whose backend lacks a primitive the method needs is shown as refused, with the missing
primitive; where a device takes plain SGD steps only (on-chip learning engines) the run uses
``optimizer="sgd"`` with the method's SGD default step, marked †. Two extra rows freeze the Hebbian layer at its random start
(``hidden_batches=0``): the random-feature baseline a Hebbian layer has to beat.

Run: ``python benchmarks/methods_table.py`` (prints the table) or
``python benchmarks/methods_table.py --write`` (also splices it into docs/methods.md between
the ``methods-table`` markers). ``--specs h100-sxm,loihi`` restricts the columns;
``--seeds 1`` is a quick look. About 1 s per run on the GPU backend.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

from xpusim.core.errors import IncompatibleError
from xpusim.core.plugins import get_plugin_manager
from xpusim.core.results import RunConfig
from xpusim.core.scheduler import run

DOC = Path(__file__).resolve().parents[1] / "docs" / "methods.md"
START, END = "<!-- methods-table:start -->", "<!-- methods-table:end -->"
ROWS = (
    ("backprop", {}), ("fa", {}), ("dfa", {}), ("oja", {}), ("krotov-hopfield", {}),
    ("forward-forward", {}),
    ("oja", {"hidden_batches": 0}), ("krotov-hopfield", {"hidden_batches": 0}),
)
SETTINGS = dict(dataset="digits", model="mlp:64-256-10", epochs=20, batch_size=32)


def cell(pm, spec: str, method: str, options: dict, seeds: int) -> tuple[str, dict]:
    accs, energy, peak = [], [], 0
    optimizer, mark = "adam", ""
    for seed in range(seeds):
        while True:
            try:
                r = run(RunConfig(hardware=spec, method=method, seed=seed, options=options,
                                  optimizer=optimizer, **SETTINGS), plugins=pm)
                break
            except IncompatibleError:
                need = pm.method(method).primitives
                have = pm.backend(pm.load_spec(spec).backend).primitives
                if need - have:
                    return f"refused (no {', '.join(sorted(need - have))})", {}
                if optimizer == "sgd":
                    raise
                optimizer, mark = "sgd", " †"  # the device takes plain SGD steps only
        if r.status != "ok":
            return f"diverged (step {r.failed_step})", {}
        accs.append(r.final_test_accuracy)
        energy.append(r.training["energy_j"])
        peak = r.peak_activation_bytes
    return (f"{np.mean(accs):.3f} / {np.mean(energy):.3g} J{mark}",
            {"acc": accs, "energy_j": energy, "peak": peak})


def build(specs: list[str], seeds: int) -> str:
    pm = get_plugin_manager()
    lines = ["| method | " + " | ".join(f"`{s}`" for s in specs) + " | peak activations |",
             "|---|" + "---|" * len(specs) + "---|"]
    for method, options in ROWS:
        if method not in pm.methods:
            continue
        name = f"`{method}`" + (" (hidden layer frozen at init)" if options else "")
        cells, peak = [], ""
        for spec in specs:
            t = time.perf_counter()
            text, raw = cell(pm, spec, method, options, seeds)
            print(f"{method:16s} {str(options):26s} {spec:16s} {text:28s} "
                  f"{raw.get('acc', '')} ({time.perf_counter() - t:.1f} s)", file=sys.stderr)
            cells.append(text)
            if raw and not peak:
                peak = f"{raw['peak'] / 1024:.1f} KiB"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {peak} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", help="comma-separated spec names (default: every spec)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="splice the table into docs/methods.md")
    args = ap.parse_args(argv)
    pm = get_plugin_manager()
    specs = args.specs.split(",") if args.specs else sorted(
        pm.spec_files(), key=lambda s: (pm.load_spec(s).backend, s))
    table = build(specs, args.seeds)
    print(table)
    if args.write:
        text = DOC.read_text()
        block = f"{START}\n{table}\n{END}"
        new, n = re.subn(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text,
                         flags=re.S)
        if n != 1:
            sys.exit(f"{DOC}: expected one {START} ... {END} block")
        DOC.write_text(new)
        print(f"wrote {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main()
