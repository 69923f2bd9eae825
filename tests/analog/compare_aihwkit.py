"""Side by side with IBM aihwkit 1.2.0 (exits 0 with a message when aihwkit is absent).

Not collected by pytest (the name does not start with ``test_``). aihwkit lives in its own
virtual environment (build it with ``AIHWKIT_VENV=/work/main/.venv-aihwkit bash
/work/shared/peers/aihwkit-setup.sh``); this script runs under xpusim's venv and calls that
environment's Python (``AIHWKIT_PYTHON``, default ``.venv-aihwkit/bin/python``) for the aihwkit
half, passing arrays through a temporary ``.npz``, so neither venv needs the other's packages.

    .venv/bin/python tests/analog/compare_aihwkit.py [--repeats 5] [--quick]

1. Drift, same weights: one fp32-trained digits MLP (``mlp:64-256-10``, xpusim, seed 0, all
   analog effects off in training) is programmed on ``aihwkit-defaults`` in xpusim and loaded
   into aihwkit ``AnalogLinear`` layers with matched settings: ``InferenceRPUConfig`` (its
   default IO: 7-bit DAC, 9-bit ADC, out_noise 0.06, out_bound 12, abs-max noise management),
   ``PCMLikeNoiseModel(g_max=25)``, weights scaled per column to max 1
   (``weight_scaling_omega=1``, ``weight_scaling_columnwise=True``, as xpusim maps them),
   with and without ``GlobalDriftCompensation``. Test accuracy at 1 s, 1 h, 1 day, 1 year,
   mean over ``repeats`` programmings in each simulator (aihwkit seeds from the clock).
   Expected: within 2 points at each time. aihwkit's own default mapping (raw weights,
   ``weight_scaling_omega=0``) is printed too, for the drift discussion in the docs.
2. In-situ ranking: the digits MLP trained from scratch with constant-step devices (plain SGD,
   batches of 32) in both simulators from the same initial weights (xpusim's He-normal draw
   per seed, zero biases), for several ``dw_min`` and ``up_down``. Expected: the same ranking
   (smaller dw_min better, more asymmetry worse) wherever both simulators separate two
   settings by more than 2 standard errors over seeds; closer pairs are reported as ties.
3. Elementary pulsed update: one 64 x 10 tile with every device spread off, fed the same 200
   batches of random (x, d) in both simulators: mean and mean absolute weight afterwards, with
   and without up/down asymmetry, beside ideal SGD.
4. Speed: seconds per in-situ training epoch (45 batches of 32) in aihwkit and in xpusim,
   training loop only (no evaluation), in this process, with ``OPENBLAS_NUM_THREADS=1``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
AIHWKIT_PYTHON = os.environ.get("AIHWKIT_PYTHON", str(ROOT / ".venv-aihwkit" / "bin" / "python"))
TIMES = {"1 s": 1.0, "1 h": 3600.0, "1 day": 86400.0, "1 year": 31536000.0}
INSITU = [(0.001, 0.0), (0.01, 0.0), (0.05, 0.0), (0.001, 0.3), (0.001, 0.6)]  # dw_min, up_down
INSITU_LR, INSITU_EPOCHS = 0.05, 10


def per_epoch(values, epochs):
    """Means of a per-batch series over each of ``epochs`` equal parts."""
    return [float(np.mean(part)) for part in np.array_split(np.asarray(values), epochs)]


# -- the aihwkit half (runs in the aihwkit venv) --------------------------------------------------

def aihwkit_worker(task_path: str, out_path: str) -> None:
    import torch
    from aihwkit.inference import GlobalDriftCompensation, PCMLikeNoiseModel
    from aihwkit.nn import AnalogLinear, AnalogSequential
    from aihwkit.optim import AnalogSGD
    from aihwkit.simulator.configs import ConstantStepDevice, InferenceRPUConfig, SingleRPUConfig

    d = dict(np.load(task_path))
    cfg = json.loads(str(d.pop("cfg")))
    xte, yte = torch.tensor(d["x_test"]), d["y_test"]
    out: dict = {"drift": {}, "insitu": {}, "epoch_s": {}, "first_layer_error": {}}

    def accuracy(model):
        with torch.no_grad():
            return float((model(xte).argmax(1).numpy() == yte).mean())

    def inference_model(mapping, comp):
        rc = InferenceRPUConfig()
        rc.noise_model = PCMLikeNoiseModel(g_max=25.0)
        rc.drift_compensation = GlobalDriftCompensation() if comp == "global" else None
        if mapping == "column":
            rc.mapping.weight_scaling_omega = 1.0
            rc.mapping.weight_scaling_columnwise = True
        layers = []
        for i in range(2):
            w, b = d[f"w{i}"], d[f"b{i}"]
            lin = AnalogLinear(w.shape[0], w.shape[1], bias=True, rpu_config=rc)
            lin.set_weights(torch.tensor(w.T.copy()), torch.tensor(b))
            layers.append(lin)
        return AnalogSequential(layers[0], torch.nn.ReLU(), layers[1]).eval()

    for mapping in cfg["mappings"]:
        for comp in ("none", "global"):
            for label, t in cfg["times"].items():
                accs = []
                for _ in range(cfg["repeats"]):
                    model = inference_model(mapping, comp)
                    model.program_analog_weights()
                    model.drift_analog_weights(t)
                    accs.append(accuracy(model))
                out["drift"][f"{mapping}|{comp}|{label}"] = accs

    xtr, ytr = torch.tensor(d["x_train"]), torch.tensor(d["y_train"])
    for dw_min, up_down in cfg["insitu"]:
        accs, secs = [], []
        for rep in range(cfg["insitu_repeats"]):
            torch.manual_seed(rep)
            rc = SingleRPUConfig(device=ConstantStepDevice(dw_min=dw_min, up_down=up_down))
            model = AnalogSequential(AnalogLinear(64, 256, rpu_config=rc), torch.nn.ReLU(),
                                     AnalogLinear(256, 10, rpu_config=rc))
            for i, layer in enumerate((model[0], model[2])):  # xpusim's initial weights
                w = torch.tensor(d[f"init{rep}_w{i}"].T.copy())
                layer.set_weights(w, torch.zeros(w.shape[0]))
            opt = AnalogSGD(model.parameters(), lr=cfg["lr"])
            opt.regroup_param_groups(model)
            loss_fn = torch.nn.CrossEntropyLoss()
            errors = []  # mean |error| reaching the first layer, per batch
            hook = model[0].register_full_backward_hook(
                lambda m, gi, go: errors.append(float(go[0].abs().mean())))
            n = len(xtr)
            t_train = 0.0
            for _ in range(cfg["epochs"]):
                model.train()
                order = torch.randperm(n)
                t0 = time.perf_counter()
                for i in range(0, n, 32):
                    idx = order[i:i + 32]
                    opt.zero_grad()
                    loss_fn(model(xtr[idx]), ytr[idx]).backward()
                    opt.step()
                t_train += time.perf_counter() - t0
            hook.remove()
            model.eval()
            accs.append(accuracy(model))
            secs.append(t_train / cfg["epochs"])
            if rep == 0:
                out["first_layer_error"][f"{dw_min}|{up_down}"] = per_epoch(errors, cfg["epochs"])
        out["insitu"][f"{dw_min}|{up_down}"] = accs
        out["epoch_s"][f"{dw_min}|{up_down}"] = secs
    out["pulses"] = {}
    for up_down in (0.0, 0.6):  # 3. one tile, the same (x, d) sequence, spreads off
        dev = ConstantStepDevice(dw_min=0.001, up_down=up_down, dw_min_dtod=0.0, dw_min_std=0.0,
                                 up_down_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0)
        layer = AnalogLinear(64, 10, bias=False, rpu_config=SingleRPUConfig(device=dev))
        layer.set_weights(torch.zeros(10, 64))
        tile = next(layer.analog_tiles())
        tile.set_learning_rate(cfg["lr"])
        for b in range(len(d["pulse_x"])):
            tile.update(torch.tensor(d["pulse_x"][b]), torch.tensor(d["pulse_d"][b]))
        out["pulses"][str(up_down)] = layer.get_weights()[0].numpy().T.tolist()
    Path(out_path).write_text(json.dumps(out))


# -- the xpusim half -------------------------------------------------------------------------------

def aihwkit_available() -> bool:
    if not Path(AIHWKIT_PYTHON).exists():
        return False
    r = subprocess.run([AIHWKIT_PYTHON, "-c", "import aihwkit"], capture_output=True)
    return r.returncode == 0


def xpusim_drift(pm, method, device, repeats):
    from xpusim.core.scheduler import accuracy
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from analog_drift_table import set_params

    data = pm.dataset("digits").flat()
    serve = pm.load_spec("aihwkit-defaults").params
    res = {}
    for comp in ("none", "global"):
        for label, t in TIMES.items():
            accs = []
            for rep in range(repeats):
                device.rng = np.random.default_rng(1000 + rep)
                device.params = serve
                device.finalize_training()  # a fresh programming per repeat
                set_params(device, inference_time_s=t, drift_compensation=comp)
                device.prepare_inference()
                accs.append(accuracy(method, data.x_test, data.y_test))
            res[f"column|{comp}|{label}"] = accs
    return res


def xpusim_insitu(pm, settings, repeats, epochs, lr):
    from xpusim.core.scheduler import accuracy
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from analog_drift_table import trained

    data = pm.dataset("digits").flat()
    accs, secs, errors = {}, {}, {}
    for dw_min, up_down in settings:
        over = ("training_mode=in-situ", "pulsed.model=constant-step",
                f"pulsed.dw_min={dw_min}", f"pulsed.up_down={up_down}")
        a, s, seen = [], [], []
        for rep in range(repeats):
            t0 = time.perf_counter()
            with first_layer_errors(seen) if rep == 0 else contextlib.nullcontext():
                method, device = trained(pm, rep, epochs, "aihwkit-defaults", over, "sgd", lr)
            s.append((time.perf_counter() - t0) / epochs)
            device.trace.enabled = False
            a.append(accuracy(method, data.x_test, data.y_test))
        accs[f"{dw_min}|{up_down}"], secs[f"{dw_min}|{up_down}"] = a, s
        errors[f"{dw_min}|{up_down}"] = per_epoch(seen, epochs)
    return accs, secs, errors


@contextlib.contextmanager
def first_layer_errors(seen: list):
    """While active, append the mean |error| each update of layer 0 receives to ``seen``."""
    from xpusim.plugins.hardware.analog.device import AnalogDevice

    update = AnalogDevice._update

    def recording(self, layer, pre, post, *args):
        if layer == 0:
            seen.append(float(np.abs(post).mean()))
        return update(self, layer, pre, post, *args)

    AnalogDevice._update = recording
    try:
        yield seen
    finally:
        AnalogDevice._update = update


def xpusim_pulses(pm, xs, ds, lr):
    """The elementary pulsed update on one 64 x 10 layer (spreads off), fed the sequence of
    (x, d) batches that aihwkit's tile is fed: final weights per up_down."""
    from xpusim.core.optim import make_optimizer
    from xpusim.core.trace import Trace

    info = pm.backend("analog")
    out = {}
    for up_down in (0.0, 0.6):
        spec = pm.load_spec("aihwkit-defaults", (
            "training_mode=in-situ", "pulsed.model=constant-step", "pulsed.dw_min=0.001",
            f"pulsed.up_down={up_down}", "pulsed.dw_min_dtod=0", "pulsed.dw_min_std=0",
            "pulsed.up_down_dtod=0", "pulsed.w_bounds_dtod=0"))
        dev = info.device(spec, pm.compute_kernels(spec), np.random.default_rng(1), Trace(),
                          make_optimizer("sgd", 0.0), primitives=info.primitives)
        dev.place(0, np.zeros((64, 10), np.float32), None)
        for x, d in zip(xs, ds):
            dev.update(0, x, -d, lr)  # post = -gradient: descent, as aihwkit's update
        out[str(up_down)] = dev.weights(0)
    return out


def separation(a, b) -> tuple[float, float]:
    """Difference of two settings' mean accuracies and its standard error over seeds."""
    a, b = np.asarray(a), np.asarray(b)
    return float(a.mean() - b.mean()), float(np.sqrt(a.var(ddof=1) / a.size
                                                      + b.var(ddof=1) / b.size))


def main() -> int:
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--insitu-repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="1 repeat, 3 in-situ epochs")
    a = ap.parse_args()
    if not aihwkit_available():
        print(f"aihwkit not available at {AIHWKIT_PYTHON}: skipping the side-by-side comparison")
        return 0
    if a.quick:
        a.repeats, a.insitu_repeats = 1, 2
    epochs = 3 if a.quick else INSITU_EPOCHS

    from xpusim.core.plugins import get_plugin_manager
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from analog_drift_table import DIGITAL, trained

    pm = get_plugin_manager()
    data = pm.dataset("digits").flat()
    method, device = trained(pm, 0, 20, "aihwkit-defaults", DIGITAL)
    device.trace.enabled = False
    arrays = {"x_test": data.x_test.astype(np.float32), "y_test": data.y_test,
              "x_train": data.x_train.astype(np.float32), "y_train": data.y_train}
    for i in range(2):
        arrays[f"w{i}"] = device.weights(i).astype(np.float32)
        arrays[f"b{i}"] = device.bias[i].astype(np.float32)
    prng = np.random.default_rng(7)  # 3. the elementary update's (x, d) sequence
    arrays["pulse_x"] = prng.uniform(0, 1, (200, 32, 64)).astype(np.float32)
    arrays["pulse_d"] = (prng.standard_normal((200, 32, 10)) * 0.01).astype(np.float32)
    for rep in range(a.insitu_repeats):  # both simulators start in-situ runs from these
        _, init = trained(pm, rep, 0, "aihwkit-defaults", DIGITAL)
        for i in range(2):
            arrays[f"init{rep}_w{i}"] = init.weights(i).astype(np.float32)
    cfg = {"times": TIMES, "repeats": a.repeats, "mappings": ["column", "raw"],
           "insitu": INSITU, "insitu_repeats": a.insitu_repeats, "epochs": epochs,
           "lr": INSITU_LR}
    with tempfile.TemporaryDirectory() as tmp:
        task, out = Path(tmp) / "task.npz", Path(tmp) / "out.json"
        np.savez(task, cfg=json.dumps(cfg), **arrays)
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        t0 = time.perf_counter()
        subprocess.run([AIHWKIT_PYTHON, __file__, "--aihwkit-worker", str(task), str(out)],
                       check=True, env=env)
        print(f"(aihwkit half: {time.perf_counter() - t0:.0f} s)")
        theirs = json.loads(out.read_text())
    ours = xpusim_drift(pm, method, device, a.repeats)
    digital = float(np.mean(method.predict(data.x_test).argmax(1) == data.y_test))

    print(f"\n## Drift, same weights (fp32 test accuracy {100 * digital:.1f} %), "
          f"mean ± std over {a.repeats} programmings\n")
    print("| compensation | time | xpusim | aihwkit (per-column scaling) | difference | "
          "aihwkit (raw weights, its default) |")
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for comp in ("none", "global"):
        for label in TIMES:
            o = ours[f"column|{comp}|{label}"]
            t = theirs["drift"][f"column|{comp}|{label}"]
            r = theirs["drift"][f"raw|{comp}|{label}"]
            diff = 100 * (np.mean(o) - np.mean(t))
            worst = max(worst, abs(diff))
            print(f"| {comp} | {label} | {100 * np.mean(o):.1f} ± {100 * np.std(o):.1f} | "
                  f"{100 * np.mean(t):.1f} ± {100 * np.std(t):.1f} | {diff:+.1f} | "
                  f"{100 * np.mean(r):.1f} ± {100 * np.std(r):.1f} |")
    print(f"\nlargest difference: {worst:.1f} points (criterion: within 2) -> "
          f"{'PASS' if worst <= 2 else 'FAIL'}")

    accs, secs, errors = xpusim_insitu(pm, INSITU, a.insitu_repeats, epochs, INSITU_LR)
    print(f"\n## In-situ training, constant-step devices (SGD lr {INSITU_LR}, {epochs} epochs, "
          f"mean over {a.insitu_repeats} seeds)\n")
    print("| dw_min | up_down | xpusim | aihwkit |")
    print("|---|---|---|---|")
    for dw_min, up_down in INSITU:
        key = f"{dw_min}|{up_down}"
        cells = [f"{100 * np.mean(r[key]):.1f} ± {100 * np.std(r[key]):.1f}"
                 for r in (accs, theirs["insitu"])]
        print(f"| {dw_min} | {up_down} | {cells[0]} | {cells[1]} |")

    same = True
    for group in ([f"{d}|0.0" for d in (0.001, 0.01, 0.05)],
                  [f"0.001|{u}" for u in (0.0, 0.3, 0.6)]):
        for better, worse in zip(group, group[1:]):
            verdict = {}
            for name, res in (("xpusim", accs), ("aihwkit", theirs["insitu"])):
                diff, se = separation(res[better], res[worse])
                verdict[name] = (np.sign(diff) if abs(diff) > 2 * se else 0, diff, se)
            agree = not (verdict["xpusim"][0] and verdict["aihwkit"][0]
                         and verdict["xpusim"][0] != verdict["aihwkit"][0])
            same &= agree
            print(f"{better} vs {worse}: " + ", ".join(
                f"{name} {100 * v[1]:+.1f} ± {100 * v[2]:.1f}"
                f"{' (tie)' if v[0] == 0 else ''}" for name, v in verdict.items())
                + ("" if agree else "  <- opposite orders"))
    print(f"same ranking wherever both separate the settings by more than 2 standard errors: "
          f"{'PASS' if same else 'FAIL'}")
    print("\nMean |error| reaching the first layer, per epoch (seed 0):")
    for key in ("0.001|0.0", "0.001|0.6"):
        for name, res in (("xpusim", errors), ("aihwkit", theirs["first_layer_error"])):
            print(f"  dw_min|up_down {key}, {name}: "
                  + " ".join(f"{v:.1e}" for v in res[key]))
    ideal = -INSITU_LR * np.einsum("bsi,bsj->ij", arrays["pulse_x"], arrays["pulse_d"])
    mine = xpusim_pulses(pm, arrays["pulse_x"], arrays["pulse_d"], INSITU_LR)
    print("\n## Elementary pulsed update: one 64 x 10 tile, the same 200 batches of (x, d), "
          "spreads off\n")
    print("| up_down | mean w: xpusim | aihwkit | mean abs w: xpusim | aihwkit | ideal SGD: "
          "mean | mean abs |")
    print("|---|---|---|---|---|---|---|")
    for up_down in ("0.0", "0.6"):
        t = np.asarray(theirs["pulses"][up_down])
        o = mine[up_down]
        print(f"| {up_down} | {o.mean():+.4f} | {t.mean():+.4f} | {np.abs(o).mean():.4f} | "
              f"{np.abs(t).mean():.4f} | {ideal.mean():+.4f} | {np.abs(ideal).mean():.4f} |")
    ours_s = np.mean(secs["0.001|0.0"])
    theirs_s = np.mean(theirs["epoch_s"]["0.001|0.0"])
    print(f"\n## Speed: in-situ epoch (45 batches of 32, training only)\n\nxpusim {ours_s:.3f} s, "
          f"aihwkit {theirs_s:.3f} s: xpusim / aihwkit = {ours_s / theirs_s:.2f}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--aihwkit-worker":
        aihwkit_worker(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
