"""Side by side with IBM aihwkit 1.2.0: writes docs/backends/analog-aihwkit.md.

    .venv/bin/python benchmarks/analog_aihwkit.py [--seeds 5] [--epochs 10] [--reps 5]
        [--threads 1] [--only drift,elementary,training,speed] [--quick] [--out FILE]

aihwkit lives in its own virtual environment, ``.venv-aihwkit`` (a CPU build of aihwkit 1.2.0
from its source package against torch's CPU wheel); this script runs under xpusim's venv and
calls that environment's Python (``AIHWKIT_PYTHON``) for the aihwkit half, passing arrays
through a temporary ``.npz``.
Without aihwkit it says so and exits 0. Both simulators run with ``--threads`` threads
(numba and OpenBLAS for xpusim, torch and OpenBLAS for aihwkit), in the same run.

1. Drift, same weights: an fp32-trained digits MLP programmed with each inference noise model
   (pcm, hermes, state-independent, reram-wan2022), read at several times with global drift
   compensation; test accuracy, mean over ``reps`` programmings in each simulator.
2. Elementary update: one 64 x 10 layer of each device type and each in-situ rule, fed the
   same 200 batches of (x, d) in both simulators; mean, mean |w| and std of the weights read
   afterwards, pooled over ``reps`` populations of devices.
3. Training: the digits MLP (64-256-10, SGD, batches of 32) trained in-situ from the same
   initial weights (xpusim's draw per seed, zero biases) in both simulators; test
   accuracy mean ± std over seeds, and seconds per training epoch (training loop only).
4. Speed: the in-situ epochs of 3., and one 2048 x 2048 inference MVM at batch 256 with the
   same tile mapping (512 x 512), periphery and PCM model (1 day of drift) on both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _threads_from_argv() -> str:
    """--threads, read before NumPy starts its BLAS thread pool (the variables act at import)."""
    argv = sys.argv[1:]
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


if __name__ == "__main__" and "--aihwkit-worker" not in sys.argv:
    for _var in ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[_var] = _threads_from_argv()

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
AIHWKIT_PYTHON = os.environ.get("AIHWKIT_PYTHON", str(ROOT / ".venv-aihwkit" / "bin" / "python"))
OUT = ROOT / "docs" / "backends" / "analog-aihwkit.md"

# -- what is compared: xpusim (spec, overrides) beside an aihwkit recipe ----------------------------

DEVICE_LR, RULE_LR = 0.05, 0.2
SGD_ROWS = {  # name: (xpusim spec, overrides), aihwkit recipe (see worker), learning rate
    "constant-step": ("aihwkit-defaults", (), DEVICE_LR),
    "soft-bounds": ("aihwkit-defaults", ("pulsed.model=soft-bounds",), DEVICE_LR),
    "linear-step": ("aihwkit-defaults", ("pulsed.model=linear-step",
                                         "pulsed.linear_step.gamma_up=0.5",
                                         "pulsed.linear_step.gamma_down=0.5"), DEVICE_LR),
    "exp-step": ("aihwkit-defaults", ("pulsed.model=exp-step",), DEVICE_LR),
    "pow-step": ("aihwkit-defaults", ("pulsed.model=pow-step", "pulsed.pow_step.gamma=2"),
                 DEVICE_LR),
    "piecewise-step": ("aihwkit-defaults", ("pulsed.model=piecewise-step",
                                            "pulsed.piecewise_step.up=[1.5, 1.0, 0.5]",
                                            "pulsed.piecewise_step.down=[0.5, 1.0, 1.5]"),
                       DEVICE_LR),
    "preset ReRAM exp-step": ("preset-reram-es", (), DEVICE_LR),
    "preset ReRAM soft-bounds": ("preset-reram-sb", (), DEVICE_LR),
    "preset ECRAM": ("preset-ecram", (), DEVICE_LR),
    "preset capacitor": ("preset-capacitor", (), DEVICE_LR),
    "preset PCM pair": ("preset-pcm", (), DEVICE_LR),
}
RULE_ROWS = {
    f"{algo} (soft-bounds)": ("aihwkit-defaults", ("pulsed.model=soft-bounds",
                                                   f"transfer.algorithm={algo}"), RULE_LR)
    for algo in ("tiki-taka", "ttv2", "c-ttv2", "agad")
}
ROWS = {**SGD_ROWS, **RULE_ROWS}
SPEED_ROWS = ("constant-step", "soft-bounds", "tiki-taka (soft-bounds)")
DRIFT_MODELS = {  # name: xpusim overrides, times
    "pcm": (("inference_noise.model=pcm",), {"1 s": 1.0, "1 h": 3600.0, "1 day": 86400.0,
                                             "1 year": 31536000.0}),
    "hermes": (("inference_noise.model=hermes", "pcm.g_max_us=20.7", "pcm.t0_s=300",
                "pcm.t_read_s=5.12e-7"), {"1 s": 1.0, "1 h": 3600.0, "1 day": 86400.0,
                                          "1 year": 31536000.0}),
    "state-independent": (("inference_noise.model=state-independent",),
                          {"1 s": 1.0, "1 h": 3600.0, "1 day": 86400.0, "1 year": 31536000.0}),
    "reram-wan2022": (("inference_noise.model=reram-wan2022",),
                      {"1 s": 1.0, "1 day": 86400.0, "2 days": 172800.0}),
}


# -- the aihwkit half (runs in the aihwkit venv) --------------------------------------------------

def _rpu_config(name):
    """The aihwkit configuration of a row (defaults unless stated, as xpusim's spec)."""
    from aihwkit.simulator import presets
    from aihwkit.simulator.configs import (
        BufferedTransferCompound, ChoppedTransferCompound, ConstantStepDevice,
        DynamicTransferCompound, ExpStepDevice, LinearStepDevice, PiecewiseStepDevice,
        PowStepDevice, SingleRPUConfig, SoftBoundsDevice, TransferCompound, UnitCellRPUConfig)
    single = {
        "constant-step": ConstantStepDevice, "soft-bounds": SoftBoundsDevice,
        "linear-step": lambda: LinearStepDevice(gamma_up=0.5, gamma_down=0.5),
        "exp-step": ExpStepDevice, "pow-step": lambda: PowStepDevice(pow_gamma=2.0),
        "piecewise-step": lambda: PiecewiseStepDevice(piecewise_up=[1.5, 1.0, 0.5],
                                                      piecewise_down=[0.5, 1.0, 1.5]),
    }
    if name in single:
        return SingleRPUConfig(device=single[name]())
    preset = {"preset ReRAM exp-step": presets.ReRamESPreset,
              "preset ReRAM soft-bounds": presets.ReRamSBPreset,
              "preset ECRAM": presets.EcRamPreset, "preset capacitor": presets.CapacitorPreset,
              "preset PCM pair": presets.PCMPreset}
    if name in preset:
        return preset[name]()
    compound = {"tiki-taka": TransferCompound, "ttv2": BufferedTransferCompound,
                "c-ttv2": ChoppedTransferCompound, "agad": DynamicTransferCompound}
    algo = name.split(" ")[0]
    return UnitCellRPUConfig(device=compound[algo](
        unit_cell_devices=[SoftBoundsDevice(), SoftBoundsDevice()]))


def aihwkit_worker(task_path: str, out_path: str) -> None:
    import torch
    from aihwkit.inference import (GlobalDriftCompensation, HermesNoiseModel, PCMLikeNoiseModel,
                                   ReRamWan2022NoiseModel, StateIndependentNoiseModel)
    from aihwkit.nn import AnalogLinear, AnalogSequential
    from aihwkit.optim import AnalogSGD
    from aihwkit.simulator.configs import InferenceRPUConfig

    d = dict(np.load(task_path))
    cfg = json.loads(str(d.pop("cfg")))
    torch.set_num_threads(cfg["threads"])
    out: dict = {"drift": {}, "elementary": {}, "training": {}, "epoch_s": {}}
    xte, yte = torch.tensor(d["x_test"]), d["y_test"]

    def accuracy(model):
        with torch.no_grad():
            return float((model(xte).argmax(1).numpy() == yte).mean())

    models = {"pcm": lambda: PCMLikeNoiseModel(g_max=25.0), "hermes": HermesNoiseModel,
              "state-independent": StateIndependentNoiseModel,
              "reram-wan2022": ReRamWan2022NoiseModel}
    for model_name, times in cfg["drift"].items():
        for label, t in times.items():
            accs = []
            for _ in range(cfg["reps"]):
                rc = InferenceRPUConfig()
                rc.noise_model = models[model_name]()
                rc.drift_compensation = GlobalDriftCompensation()
                rc.mapping.weight_scaling_omega = 1.0
                rc.mapping.weight_scaling_columnwise = True
                layers = []
                for i in range(2):
                    w, b = d[f"w{i}"], d[f"b{i}"]
                    lin = AnalogLinear(w.shape[0], w.shape[1], bias=True, rpu_config=rc)
                    lin.set_weights(torch.tensor(w.T.copy()), torch.tensor(b))
                    layers.append(lin)
                net = AnalogSequential(layers[0], torch.nn.ReLU(), layers[1]).eval()
                net.program_analog_weights()
                net.drift_analog_weights(t)
                accs.append(accuracy(net))
            out["drift"][f"{model_name}|{label}"] = accs

    for name, lr in cfg["elementary"].items():
        res = []
        for _ in range(cfg["reps"]):
            layer = AnalogLinear(64, 10, bias=False, rpu_config=_rpu_config(name))
            layer.set_weights(torch.zeros(10, 64))
            tile = next(layer.analog_tiles())
            tile.set_learning_rate(lr)
            for b in range(len(d["pulse_x"])):
                tile.update(torch.tensor(d["pulse_x"][b]), torch.tensor(d["pulse_d"][b]))
            res.append(layer.get_weights()[0].numpy().T.tolist())
        out["elementary"][name] = res

    xtr, ytr = torch.tensor(d["x_train"]), torch.tensor(d["y_train"])
    n = len(xtr)
    for name, lr in cfg["training"].items():
        accs, secs = [], []
        for seed in range(cfg["train_seeds"]):
            torch.manual_seed(seed)
            rc = _rpu_config(name)
            net = AnalogSequential(AnalogLinear(64, 256, rpu_config=rc), torch.nn.ReLU(),
                                   AnalogLinear(256, 10, rpu_config=rc))
            for i, layer in enumerate((net[0], net[2])):  # xpusim's initial weights
                w = torch.tensor(d[f"init{seed}_w{i}"].T.copy())
                layer.set_weights(w, torch.zeros(w.shape[0]))
            opt = AnalogSGD(net.parameters(), lr=lr)
            opt.regroup_param_groups(net)
            loss_fn = torch.nn.CrossEntropyLoss()
            if seed == 0:  # first use of this configuration: not timed
                net(xtr[:32])
            order_rng = np.random.default_rng(seed)
            epoch_s = []
            for _ in range(cfg["train_epochs"]):
                net.train()
                order = torch.tensor(order_rng.permutation(n))
                t0 = time.perf_counter()
                for i in range(0, n, 32):
                    idx = order[i:i + 32]
                    opt.zero_grad()
                    loss_fn(net(xtr[idx]), ytr[idx]).backward()
                    opt.step()
                epoch_s.append(time.perf_counter() - t0)
            net.eval()
            accs.append(accuracy(net))
            secs.append(min(epoch_s))
        out["training"][name] = accs
        out["epoch_s"][name] = secs

    if cfg["speed"]:
        rc = InferenceRPUConfig()
        rc.noise_model = PCMLikeNoiseModel(g_max=25.0)
        rc.drift_compensation = GlobalDriftCompensation()
        rc.mapping.weight_scaling_omega = 1.0
        rc.mapping.weight_scaling_columnwise = True
        rc.mapping.max_input_size = rc.mapping.max_output_size = 512
        lin = AnalogLinear(2048, 2048, bias=False, rpu_config=rc)
        lin.set_weights(torch.tensor(d["big_w"].T.copy()))
        lin.eval()
        lin.program_analog_weights()
        lin.drift_analog_weights(86400.0)
        x = torch.tensor(d["big_x"])
        with torch.no_grad():
            lin(x)
            ts = []
            for _ in range(cfg["mvm_calls"]):
                t0 = time.perf_counter()
                lin(x)
                ts.append(time.perf_counter() - t0)
        out["mvm_s"] = ts
    Path(out_path).write_text(json.dumps(out))


# -- the xpusim half -------------------------------------------------------------------------------

def aihwkit_available() -> bool:
    if not Path(AIHWKIT_PYTHON).exists():
        return False
    return subprocess.run([AIHWKIT_PYTHON, "-c", "import aihwkit"],
                          capture_output=True).returncode == 0


def mlp(pm, data):
    from xpusim.core.registry import DataShape
    return pm.model("mlp:64-256-10", DataShape(data.sample_shape, data.n_classes))


def xpusim_device(pm, spec, overrides, seed, optimizer="sgd"):
    from xpusim.core.optim import make_optimizer
    from xpusim.core.trace import Trace
    s = pm.load_spec(spec, tuple(overrides))
    info = pm.backend("analog")
    dev = info.device(s, pm.compute_kernels(s), np.random.default_rng(seed), Trace(),
                      make_optimizer(optimizer, 0.0), primitives=info.primitives)
    dev.trace.enabled = False
    return dev


def xpusim_drift(pm, weights, biases, data, reps):
    from xpusim.core.scheduler import accuracy
    method_cls = pm.method("backprop").factory
    res = {}
    for model_name, (over, times) in DRIFT_MODELS.items():
        for label, t in times.items():
            accs = []
            for rep in range(reps):
                dev = xpusim_device(pm, "aihwkit-defaults", (*over, f"inference_time_s={t}",
                                                             "drift_compensation=global"),
                                    1000 + rep)
                for i in range(2):
                    dev.place(i, weights[i], biases[i])
                method = method_cls(mlp(pm, data), dev, np.random.default_rng(0), {"lr": 0.0})
                dev.finalize_training()
                dev.prepare_inference()
                accs.append(accuracy(method, data.x_test, data.y_test))
            res[f"{model_name}|{label}"] = accs
    return res


def xpusim_elementary(pm, xs, ds, reps):
    out = {}
    for name, (spec, over, lr) in ROWS.items():
        res = []
        for rep in range(reps):
            dev = xpusim_device(pm, spec, ("training_mode=in-situ", *over), rep)
            dev.place(0, np.zeros((64, 10), np.float32))
            for x, d in zip(xs, ds):
                dev.update(0, x, -d, lr)  # post = -gradient: descent, as aihwkit's update
            res.append(dev.weights(0).astype(np.float64))
        out[name] = res
    return out


def xpusim_training(pm, data, seeds, epochs, rows=None):
    from xpusim.core.scheduler import accuracy
    accs, secs = {}, {}
    n = len(data.x_train)
    for name in ROWS if rows is None else rows:
        spec, over, lr = ROWS[name]
        a, s = [], []
        warm = xpusim_device(pm, spec, ("training_mode=in-situ", *over), 0)  # compile first
        method = pm.method("backprop").factory(mlp(pm, data), warm, np.random.default_rng(0),
                                               {"lr": lr})
        method.initialize()
        method.train_batch(data.x_train[:32], data.y_train[:32])
        for seed in range(seeds):
            dev = xpusim_device(pm, spec, ("training_mode=in-situ", *over), seed + 100)
            method = pm.method("backprop").factory(mlp(pm, data), dev,
                                                   np.random.default_rng(seed), {"lr": lr})
            method.initialize()  # the He-normal draw exported to aihwkit (same seed)
            order_rng = np.random.default_rng(seed)
            epoch_s = []
            for _ in range(epochs):
                order = order_rng.permutation(n)
                t0 = time.perf_counter()
                for i in range(0, n, 32):
                    idx = order[i:i + 32]
                    method.train_batch(data.x_train[idx], data.y_train[idx])
                epoch_s.append(time.perf_counter() - t0)
            a.append(accuracy(method, data.x_test, data.y_test))
            s.append(min(epoch_s))
        accs[name], secs[name] = a, s
    return accs, secs


def initial_weights(pm, data, seed):
    """xpusim's initial weights for ``seed`` (the draw ``initialize`` makes)."""
    dev = xpusim_device(pm, "aihwkit-defaults", ("training_mode=hardware-aware",), 0)
    method = pm.method("backprop").factory(mlp(pm, data), dev, np.random.default_rng(seed),
                                           {"lr": 0.05})
    method.initialize()
    return [dev.weights(i).astype(np.float32) for i in range(2)]


def fp32_weights(pm, data, epochs=20):
    """A digits MLP trained in floating point (every analog effect off), for the drift part."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from analog_drift_table import DIGITAL, trained
    method, device = trained(pm, 0, epochs, "aihwkit-defaults", DIGITAL)
    return ([device.weights(i).astype(np.float32) for i in range(2)],
            [device.bias[i].astype(np.float32) for i in range(2)])


def run_worker(cfg, arrays) -> dict:
    """The aihwkit half of ``cfg``, in aihwkit's own environment."""
    with tempfile.TemporaryDirectory() as tmp:
        task, out = Path(tmp) / "task.npz", Path(tmp) / "out.json"
        np.savez(task, cfg=json.dumps(cfg), **arrays)
        t0 = time.perf_counter()
        subprocess.run([AIHWKIT_PYTHON, __file__, "--aihwkit-worker", str(task), str(out)],
                       check=True, env=dict(os.environ))
        print(f"(aihwkit: {time.perf_counter() - t0:.0f} s)", flush=True)
        return json.loads(out.read_text())


def xpusim_mvm(pm, w, x, calls):
    dev = xpusim_device(pm, "aihwkit-defaults", ("inference_time_s=86400",), 0)
    dev.place(0, w)
    dev.prepare_inference()
    dev.mvm(0, x, "inference")
    ts = []
    for _ in range(calls):
        t0 = time.perf_counter()
        dev.mvm(0, x, "inference")
        ts.append(time.perf_counter() - t0)
    return ts


# -- report ------------------------------------------------------------------------------------------

def pm_(v):
    return f"{100 * np.mean(v):.1f} ± {100 * np.std(v):.1f}"


def elementary_stats(runs):
    a = np.asarray(runs, np.float64)
    return a.mean(), np.abs(a).mean(), a.std()


def report(args, ours, theirs) -> str:
    lines = ["# Side by side with IBM aihwkit 1.2.0", "",
             "Generated by `benchmarks/analog_aihwkit.py` (do not edit by hand):", "",
             "```", f".venv/bin/python benchmarks/analog_aihwkit.py {' '.join(args.argv)}".rstrip(),
             "```", "",
             f"Both simulators ran in the same run on {os.cpu_count()} cores, "
             f"{args.threads} thread(s) each (xpusim: numba and OpenBLAS; aihwkit: torch and "
             f"OpenBLAS). aihwkit seeds its C++ simulator from the clock: its figures are means "
             f"over repeats, as are xpusim's over seeds.", ""]
    if "drift" in ours:
        lines += ["## Drift, same weights", "",
                  f"An fp32-trained digits MLP (test accuracy {100 * ours['digital']:.1f} %) "
                  f"programmed with each inference noise model (per-column weight scaling, "
                  f"global drift compensation); test accuracy in %, mean ± std over {args.reps} "
                  f"programmings. Criterion: within 2 points.", "",
                  "| model | time | xpusim | aihwkit | difference |", "|---|---|---|---|---|"]
        worst = 0.0
        for key, o in ours["drift"].items():
            t = theirs["drift"][key]
            diff = 100 * (np.mean(o) - np.mean(t))
            worst = max(worst, abs(diff))
            model, label = key.split("|")
            lines.append(f"| {model} | {label} | {pm_(o)} | {pm_(t)} | {diff:+.1f} |")
        lines += ["", f"Largest difference: **{worst:.1f} points** "
                  f"({'within' if worst <= 2 else 'outside'} the criterion).", ""]
    if "elementary" in ours:
        lines += ["## Elementary update", "",
                  "One 64 x 10 layer per row, zero initial weights, the same 200 batches of 32 "
                  "(x uniform in [0, 1), d normal with std 0.01) in both simulators, learning rate "
                  f"{DEVICE_LR} (devices) or {RULE_LR} (rules), device spreads as configured; "
                  f"statistics of the weights read afterwards, pooled over {args.reps} device "
                  "populations. The last column is the largest relative difference of mean |w| "
                  "and std. Criterion: a few percent.", "",
                  "| row | mean w: xpusim | aihwkit | mean abs w: xpusim | aihwkit | std: xpusim | "
                  "aihwkit | difference |", "|---|---|---|---|---|---|---|---|"]
        for name in ROWS:
            o = elementary_stats(ours["elementary"][name])
            t = elementary_stats(theirs["elementary"][name])
            rel = max(abs(o[1] / t[1] - 1), abs(o[2] / t[2] - 1)) if t[1] and t[2] else 0.0
            lines.append(f"| {name} | {o[0]:+.4f} | {t[0]:+.4f} | {o[1]:.4f} | {t[1]:.4f} | "
                         f"{o[2]:.4f} | {t[2]:.4f} | {100 * rel:.1f} % |")
        lines.append("")
    if "training" in ours:
        lines += ["## In-situ training", "",
                  f"The digits MLP 64-256-10, SGD, batches of 32, {args.epochs} epochs, "
                  f"learning rate {DEVICE_LR} (devices) or {RULE_LR} (rules), from the same "
                  f"initial weights; test accuracy in %, mean ± std over {args.seeds} seeds. "
                  "Criterion: the means within the seed spread (the difference below twice "
                  "its standard error, or below 2 points).", "",
                  "| row | xpusim | aihwkit | difference | within spread |",
                  "|---|---|---|---|---|"]
        for name in ROWS:
            o, t = np.asarray(ours["training"][name]), np.asarray(theirs["training"][name])
            diff = 100 * (o.mean() - t.mean())
            se = 100 * np.sqrt(o.var(ddof=1) / o.size + t.var(ddof=1) / t.size) \
                if o.size > 1 else 0.0
            ok = abs(diff) <= max(2 * se, 2.0)
            lines.append(f"| {name} | {pm_(o)} | {pm_(t)} | {diff:+.1f} | "
                         f"{'yes' if ok else 'no'} |")
        lines.append("")
    if "speed" in ours:
        lines += ["## Speed", "",
                  "Seconds per in-situ training epoch (45 batches of 32, training loop only, the "
                  f"learning rate of the training table): the best epoch of {args.rounds} "
                  "rounds in which the two simulators take turns (each round: one seed, "
                  f"{args.speed_epochs} epochs per row and side), {args.threads} thread(s) each:",
                  "", "| row | xpusim | aihwkit | aihwkit / xpusim |", "|---|---|---|---|"]
        for name in SPEED_ROWS:
            o, t = np.min(ours["epoch_s"][name]), np.min(theirs["epoch_s"][name])
            lines.append(f"| {name} | {o:.4f} | {t:.4f} | **{t / o:.2f}x** |")
        o, t = np.min(ours["mvm_s"]), np.min(theirs["mvm_s"])
        lines += ["", "One 2048 x 2048 inference MVM at batch 256 (512 x 512 tiles on both "
                  "sides, aihwkit's default periphery: 7-bit DAC, 9-bit ADC, output noise 0.06, "
                  "iterative bound management; PCM model after 1 day, global drift compensation), "
                  f"best of {args.mvm_calls} calls per round, same rounds:", "",
                  "| | xpusim | aihwkit | aihwkit / xpusim |", "|---|---|---|---|",
                  f"| 2048 x 2048, batch 256 | {1e3 * o:.1f} ms | {1e3 * t:.1f} ms | "
                  f"**{t / o:.2f}x** |", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mvm-calls", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3, help="speed: alternating rounds")
    ap.add_argument("--speed-epochs", type=int, default=3, help="speed: epochs per round")
    ap.add_argument("--only", default="drift,elementary,training,speed")
    ap.add_argument("--quick", action="store_true", help="2 seeds, 2 epochs, 2 repeats")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    args.argv = sys.argv[1:]
    if args.quick:
        args.seeds, args.epochs, args.reps, args.rounds, args.speed_epochs = 2, 2, 2, 1, 2
    parts = set(args.only.split(","))
    if not aihwkit_available():
        print(f"aihwkit not available at {AIHWKIT_PYTHON}: nothing compared")
        return 0
    from xpusim.core.plugins import get_plugin_manager

    pm = get_plugin_manager()
    data = pm.dataset("digits").flat()
    arrays = {"x_test": data.x_test.astype(np.float32), "y_test": data.y_test,
              "x_train": data.x_train.astype(np.float32), "y_train": data.y_train}
    ours: dict = {}
    if "drift" in parts:
        weights, biases = fp32_weights(pm, data)
        for i in range(2):
            arrays[f"w{i}"], arrays[f"b{i}"] = weights[i], biases[i]
    prng = np.random.default_rng(7)
    arrays["pulse_x"] = prng.uniform(0, 1, (200, 32, 64)).astype(np.float32)
    arrays["pulse_d"] = (prng.standard_normal((200, 32, 10)) * 0.01).astype(np.float32)
    for seed in range(args.seeds):
        for i, w in enumerate(initial_weights(pm, data, seed)):
            arrays[f"init{seed}_w{i}"] = w
    brng = np.random.default_rng(11)
    arrays["big_w"] = (brng.standard_normal((2048, 2048)) * 0.05).astype(np.float32)
    arrays["big_x"] = brng.standard_normal((256, 2048)).astype(np.float32)
    training = {name: lr for name, (_, _, lr) in ROWS.items()} if "training" in parts else {}
    cfg = {"reps": args.reps, "train_seeds": args.seeds, "train_epochs": args.epochs,
           "threads": args.threads, "mvm_calls": args.mvm_calls,
           "drift": {k: v[1] for k, v in DRIFT_MODELS.items()} if "drift" in parts else {},
           "elementary": ({name: lr for name, (_, _, lr) in ROWS.items()}
                          if "elementary" in parts else {}),
           "training": training, "speed": False}
    theirs = run_worker(cfg, arrays)
    t0 = time.perf_counter()
    if "drift" in parts:
        ours["drift"] = xpusim_drift(pm, [arrays["w0"], arrays["w1"]],
                                     [arrays["b0"], arrays["b1"]], data, args.reps)
        ours["digital"] = _digital_accuracy(arrays, data)
    if "elementary" in parts:
        ours["elementary"] = xpusim_elementary(pm, arrays["pulse_x"], arrays["pulse_d"],
                                               args.reps)
    if training:
        ours["training"], _ = xpusim_training(pm, data, args.seeds, args.epochs)
    print(f"(xpusim half: {time.perf_counter() - t0:.0f} s)", flush=True)
    if "speed" in parts:  # the two sides take turns, round by round
        ours["speed"] = True
        ours["epoch_s"] = {name: [] for name in SPEED_ROWS}
        ours["mvm_s"], theirs["epoch_s"], theirs["mvm_s"] = [], {n: [] for n in SPEED_ROWS}, []
        speed_cfg = {**cfg, "drift": {}, "elementary": {}, "speed": True, "train_seeds": 1,
                     "train_epochs": args.speed_epochs,
                     "training": {name: ROWS[name][2] for name in SPEED_ROWS}}
        for _ in range(args.rounds):
            t = run_worker(speed_cfg, arrays)
            _, secs = xpusim_training(pm, data, 1, args.speed_epochs, SPEED_ROWS)
            for name in SPEED_ROWS:
                theirs["epoch_s"][name] += t["epoch_s"][name]
                ours["epoch_s"][name] += secs[name]
            theirs["mvm_s"] += t["mvm_s"]
            ours["mvm_s"] += xpusim_mvm(pm, arrays["big_w"], arrays["big_x"], args.mvm_calls)
    if "training" not in parts:
        ours.pop("training", None)
    text = report(args, ours, theirs)
    args.out.write_text(text)
    print(text)
    return 0


def _digital_accuracy(arrays, data) -> float:
    h = np.maximum(data.x_test @ arrays["w0"] + arrays["b0"], 0.0)
    return float(((h @ arrays["w1"] + arrays["b1"]).argmax(1) == data.y_test).mean())


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--aihwkit-worker":
        aihwkit_worker(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
