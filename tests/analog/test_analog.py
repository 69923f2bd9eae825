"""Analog backend: ideal limit, non-idealities, drift, capacity, specs, training modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xpusim.core.plugins import get_plugin_manager
from xpusim.core.results import RunConfig
from xpusim.core.scheduler import run
from xpusim.core.specs import SpecError, read_toml, uncited

SPECS = Path(__file__).parents[2] / "xpusim" / "hardware_specs"
ALL_OFF = ("dac.enabled=false", "adc.enabled=false", "noise.out_noise_std=0",
           "noise.w_noise_std=0", "noise.stuck_fraction=0", "tile.ir_drop=0",
           "pcm.prog_noise_scale=0", "pcm.drift_scale=0", "pcm.read_noise_scale=0",
           "drift_compensation=none", "hwa_noise_scale=0")


@pytest.fixture(scope="module")
def pm():
    return get_plugin_manager()


def make_device(pm, overrides=(), seed=0):
    spec = pm.load_spec("pcm-hermes", tuple(overrides))
    backend = pm.backend("analog")
    return backend.device(spec, pm.compute_kernels(spec), np.random.default_rng(seed),
                          primitives=backend.primitives)


def _w(rng, k=600, n=300):
    return (rng.standard_normal((k, n)) * 0.1).astype(np.float32)


def test_all_nonidealities_off_equals_fp32(pm):
    rng = np.random.default_rng(1)
    w, x, e = _w(rng), rng.standard_normal((17, 600)).astype(np.float32), \
        rng.standard_normal((17, 300)).astype(np.float32)
    dev = make_device(pm, ALL_OFF + ("inference_time_s=86400",))
    dev.place(0, w)
    dev.prepare_inference()
    y = dev.mvm(0, x, "inference")
    ref = x.astype(np.float64) @ w
    assert np.abs(y - ref).max() <= 1e-5 * np.abs(ref).max()
    yt = dev.mvm_t(0, e, "inference")
    ref_t = e.astype(np.float64) @ w.T
    assert np.abs(yt - ref_t).max() <= 1e-5 * np.abs(ref_t).max()


@pytest.mark.parametrize("on", ["dac.enabled=true", "adc.enabled=true", "noise.out_noise_std=0.05",
                                "noise.w_noise_std=0.02", "noise.stuck_fraction=0.05",
                                "tile.ir_drop=0.1", "pcm.prog_noise_scale=1",
                                "pcm.read_noise_scale=1"])
def test_each_nonideality_changes_the_result(pm, on):
    rng = np.random.default_rng(2)
    w, x = _w(rng), rng.uniform(-1, 1, (8, 600)).astype(np.float32)
    dev = make_device(pm, ALL_OFF + (on,))
    dev.place(0, w)
    dev.prepare_inference()
    y = dev.mvm(0, x, "inference")
    err = np.abs(y - x.astype(np.float64) @ w).max() / np.abs(x @ w).max()
    assert 1e-5 < err < 2.0  # stuck-on devices read as a full-scale weight


def test_adc_saturates(pm):
    dev = make_device(pm, ALL_OFF + ("adc.enabled=true", "adc.output_bound=2"))
    w = np.ones((256, 4), np.float32)
    dev.place(0, w)
    dev.prepare_inference()
    y = dev.mvm(0, np.ones((1, 256), np.float32), "inference")
    np.testing.assert_allclose(y, 2.0, rtol=1e-6)  # 256 rows fully on, clipped at 2


def test_drift_lowers_output_and_global_compensation_restores_it(pm):
    rng = np.random.default_rng(3)
    w, x = _w(rng, 256, 64), rng.uniform(0, 1, (64, 256)).astype(np.float32)
    ref = x @ w
    gains = {}
    for comp in ("none", "global", "column"):
        dev = make_device(pm, ("inference_time_s=31536000", f"drift_compensation={comp}",
                               "adc.enabled=false", "noise.out_noise_std=0"))
        dev.place(0, w)
        dev.prepare_inference()
        y = dev.mvm(0, x, "inference")
        gains[comp] = float((y * ref).sum() / (ref * ref).sum())
    assert gains["none"] < 0.6  # nu ~ 0.05-0.1 over a year: (1.6e6)^-0.07 ~ 0.37
    assert abs(gains["global"] - 1) < 0.1 and abs(gains["column"] - 1) < 0.1


def test_same_seed_bit_identical(pm):
    rng = np.random.default_rng(4)
    w, x = _w(rng), rng.standard_normal((8, 600)).astype(np.float32)
    ys = []
    for _ in range(2):
        dev = make_device(pm, ("noise.w_noise_std=0.02",), seed=7)
        dev.place(0, w)
        dev.prepare_inference()
        ys.append(dev.mvm(0, x, "inference"))
    np.testing.assert_array_equal(ys[0], ys[1])


def test_model_larger_than_chip_pays_reprogramming(pm):
    """Layers that fit one at a time but not together: a write row before each use."""
    dev = make_device(pm, ("tile.tiles_on_chip=4",))
    dev.place(0, np.zeros((600, 300), np.float32))  # 3 x 2 = 6 tiles > 4 ... alone too big
    dev.place(1, np.zeros((256, 256), np.float32))  # 1 tile
    dev.prepare_inference()
    n_before = len(dev.trace)
    dev.mvm(1, np.ones((4, 256), np.float32), "inference")
    prims = dev.trace.column("primitive")[n_before:]
    assert list(prims) == [5, 0]  # write (PRIMITIVES index 5), then the mvm
    n_before = len(dev.trace)
    dev.mvm(0, np.ones((4, 600), np.float32), "inference")
    assert list(dev.trace.column("primitive")[n_before:]) == [0]  # priced by the cost kernel


def _price_one(pm, overrides, prim, m, n, k):
    from xpusim.core.trace import Trace
    spec = pm.load_spec("pcm-hermes", tuple(overrides))
    cm = pm.cost_model(spec)
    t = Trace()
    t.add("inference", 0, prim, m, n, k, 8, "analog")
    c = t.columns()
    time_s, energy = np.zeros(1), np.zeros((1, len(cm.components)))
    extras = np.zeros((1, len(cm.extras)))
    cm.price(c["phase"], c["primitive"], c["m"], c["n"], c["k"], c["bits"], c["fmt"],
             c["count"], c["activity"], cm.params, time_s, energy, extras)
    return time_s[0], dict(zip(cm.components, energy[0])), dict(zip(cm.extras, extras[0]))


def test_cost_kernel_reads_the_analog_format_code_from_its_params(pm):
    """Format codes follow registration order; a numba-cached kernel must take the code as data,
    so a code moved elsewhere moves the crossbar pricing with it."""
    from xpusim.core.formats import format_code
    from xpusim.core.trace import Trace
    from xpusim.plugins.hardware.analog import cost

    cm = pm.cost_model(pm.load_spec("pcm-hermes", ()))
    t = Trace()
    t.add("inference", 0, "mvm", 8, 256, 256, 8, "analog")
    t.add("inference", 0, "mvm", 8, 256, 256, 8, "fp32")
    c = t.columns()
    out = []
    for code in (format_code("analog"), format_code("fp32")):
        params = cm.params.copy()
        params[cost.F_ANALOG_CODE] = code
        time_s, energy = np.zeros(2), np.zeros((2, len(cm.components)))
        extras = np.zeros((2, len(cm.extras)))
        cm.price(c["phase"], c["primitive"], c["m"], c["n"], c["k"], c["bits"], c["fmt"],
                 c["count"], c["activity"], params, time_s, energy, extras)
        out.append(dict(zip(cm.extras, extras.T)))
    assert out[0]["adc_conversions"][0] > 0 and out[0]["adc_conversions"][1] == 0
    assert out[1]["adc_conversions"][1] > 0 and out[1]["adc_conversions"][0] == 0


def test_layer_larger_than_chip_is_reprogrammed_each_use(pm):
    t_fit, e_fit, x_fit = _price_one(pm, (), "mvm", 32, 1024, 1024)        # 16 of 64 tiles
    t_big, e_big, x_big = _price_one(pm, ("tile.tiles_on_chip=8",), "mvm", 32, 1024, 1024)
    assert x_fit["tiles_used"] == x_big["tiles_used"] == 16
    assert e_fit["write"] == 0 and x_fit["tile_reprogrammings"] == 0
    assert x_big["tile_reprogrammings"] == 16
    assert x_big["programming_pulses"] == 2 * 1024 * 1024 * 20   # 2 cells x 20 P&V iterations
    assert e_big["write"] > 0 and t_big > 2 * t_fit              # 2 rounds + programming time


def test_bit_slices_cost_columns_conversions_and_cells(pm):
    _, e1, x1 = _price_one(pm, (), "mvm", 8, 256, 256)
    _, e3, x3 = _price_one(pm, ("tile.weight_slices=3",), "mvm", 8, 256, 256)
    assert x3["tiles_used"] == 3 * x1["tiles_used"] == 3
    assert x3["adc_conversions"] == 3 * x1["adc_conversions"]
    np.testing.assert_allclose(e3["array"], 3 * e1["array"])
    _, _, xt = _price_one(pm, ("tile.weight_slices=3",), "mvm_t", 8, 256, 256)
    assert xt["adc_conversions"] == 8 * 256 * 3  # 3 x 256 driven columns over 256-row tiles


def test_bit_slicing_reduces_programming_error(pm):
    rng = np.random.default_rng(5)
    w, x = _w(rng, 256, 128), rng.uniform(-1, 1, (64, 256)).astype(np.float32)
    ref = x.astype(np.float64) @ w
    errs = {}
    for slices in (1, 3):
        dev = make_device(pm, ALL_OFF + ("pcm.prog_noise_scale=1", f"tile.weight_slices={slices}"))
        dev.place(0, w)
        dev.prepare_inference()
        errs[slices] = np.abs(dev.mvm(0, x, "inference") - ref).mean()
        yt = dev.mvm_t(0, ref.astype(np.float32), "inference")
        rt = ref @ w.T
        assert np.abs(yt - rt).mean() < 0.2 * np.abs(rt).mean()
    assert errs[3] < 0.3 * errs[1]   # the lower slices program the residual error


def test_bit_slicing_needs_programmed_weights(pm):
    with pytest.raises(SpecError, match="tile.weight_slices: bit-slicing"):
        pm.load_spec("pcm-hermes", ("tile.weight_slices=2", "training_mode=in-situ"))


def test_in_situ_stuck_devices_do_not_move(pm):
    dev = make_device(pm, ("training_mode=in-situ", "noise.stuck_fraction=0.2"))
    w = np.full((64, 32), 0.1, np.float32)
    dev.place(0, w)
    stuck = dev.rules[0].array.stuck
    assert 0.1 < stuck.mean() < 0.3
    before = dev.weights(0)[stuck]
    dev.update(0, np.ones((8, 64), np.float32), np.ones((8, 32), np.float32), 0.1)
    after = dev.weights(0)
    np.testing.assert_array_equal(after[stuck], before)
    assert (after[~stuck] > 0.1).mean() > 0.9


@pytest.mark.parametrize("override, message", [
    ("adc.bits=0", "adc.bits: must be > 0, found 0"),
    ("pcm.g_max_us=0", "pcm.g_max_us: must be > 0, found 0.0"),
    ("tile.rows=4096", "tile.rows: tile 4096x256 is larger than the chip's largest crossbar"),
    ("noise.out_noise_std=-0.1", "noise.out_noise_std: must be >= 0, found -0.1"),
])
def test_bad_specs_rejected_clearly(pm, override, message):
    with pytest.raises(SpecError) as err:
        pm.load_spec("pcm-hermes", (override,))
    assert message in str(err.value)
    assert "pcm-hermes.toml" in str(err.value)


@pytest.mark.parametrize("name", ["pcm-hermes", "reram-generic", "aihwkit-defaults",
                                  "preset-reram-es", "preset-reram-sb", "preset-ecram",
                                  "preset-capacitor", "preset-pcm"])
def test_specs_load_and_are_cited(pm, name):
    assert pm.load_spec(name).backend == "analog"
    assert uncited(read_toml(SPECS / f"{name}.toml")) == []


def test_price_counts_conversions_and_summarizes(pm):
    from xpusim.core.trace import Trace
    spec = pm.load_spec("pcm-hermes")
    cm = pm.cost_model(spec)
    t = Trace()
    t.add("inference", 0, "mvm", 10, 512, 512, 8, "analog")
    c = t.columns()
    n = len(t)
    time_s, energy = np.zeros(n), np.zeros((n, len(cm.components)))
    extras = np.zeros((n, len(cm.extras)))
    cm.price(c["phase"], c["primitive"], c["m"], c["n"], c["k"], c["bits"], c["fmt"],
             c["count"], c["activity"], cm.params, time_s, energy, extras)
    ex = dict(zip(cm.extras, extras[0]))
    assert ex["adc_conversions"] == 10 * 512 * 2      # 2 row tiles, one conversion per column
    assert ex["dac_conversions"] == 10 * 512 * 2      # 2 column tiles driven by each input
    assert ex["tile_reads"] == 10 * 4
    assert ex["tiles_used"] == 4
    np.testing.assert_allclose(time_s[0], 10 * 133e-9)
    s = cm.summarize({"macs": ex["macs"], "time_s": time_s[0], "energy_j": energy[0].sum()})
    assert s["tops"] > 1 and s["tops_per_w"] > 1


def test_hardware_aware_run_programs_at_deploy(pm):
    r = run(RunConfig(hardware="pcm-hermes", epochs=1), plugins=pm)
    assert r.status == "ok" and r.final_test_accuracy > 0.5
    assert r.deploy["energy_by_component_j"]["write"] > 0
    assert r.training["energy_by_component_j"]["write"] < r.deploy["energy_by_component_j"]["write"]


@pytest.mark.slow
def test_in_situ_training_close_to_digital(pm):
    cfg = dict(epochs=10, optimizer="sgd", lr=0.05, seed=0)
    digital = run(RunConfig(hardware="h100-sxm", **cfg), plugins=pm).final_test_accuracy
    r = run(RunConfig(hardware="pcm-hermes", overrides=("training_mode=in-situ",), **cfg),
            plugins=pm)
    # aihwkit-default constant-step device: dw_min 0.001 over [-0.6, 0.6] = 1200 states
    assert r.final_test_accuracy > digital - 0.05
    assert r.training["energy_by_component_j"]["write"] > 0
    assert r.training["counters"]["update_pulses"] > 0


@pytest.mark.slow
def test_drift_study_light():
    """Light version of benchmarks/analog_drift_table.py (2 seeds, 8 epochs, 1 s and 1 year).

    What the full table shows and this asserts: accuracy is high at 1 s in every arm; with
    global compensation a year of drift costs at most a few points; hardware-aware training is
    not worse than fp32 training after a year. (One might expect uncompensated accuracy
    to fall with time: for this ReLU MLP it does not, in xpusim nor in aihwkit on the same
    weights, because the mean drift is a near-global scale that argmax ignores; see
    docs/backends/analog.md. The output-scale loss itself is asserted in
    test_drift_lowers_output_and_global_compensation_restores_it.)"""
    import sys
    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    from analog_drift_table import drift_accuracies
    res = drift_accuracies(seeds=2, epochs=8, times={"1 s": 1.0, "1 year": 31536000.0})
    mean = {key: {t: float(np.mean(v)) for t, v in row.items()} for key, row in res.items()}
    for key, row in mean.items():
        assert row["1 s"] > 0.9, key
    for train in ("fp32", "hardware-aware"):
        assert mean[(train, "global")]["1 year"] > mean[(train, "global")]["1 s"] - 0.03
    assert mean[("hardware-aware", "global")]["1 year"] > mean[("fp32", "global")]["1 year"] - 0.02


@pytest.mark.parametrize("over, has, lacks", [
    ((), {"read", "program_noise", "age_noise", "prog_sigmas"}, {"pulse_batch"}),
    (("training_mode=in-situ",), {"read", "pulse_batch"}, {"program_noise", "transfer_batch"}),
    (("training_mode=in-situ", "layers.1.transfer.algorithm=ttv2"),
     {"pulse_batch", "transfer_batch", "read_row"}, {"pulse_counts"}),
    (("training_mode=hybrid", "pulsed.lifetime=10"), {"pulse_counts", "pulse_decay"},
     {"pulse_batch"}),
    (("layers.0.modifier.type=discretize",), {"modify_weights"}, {"read_row"}),
])
def test_kernel_set_holds_what_the_spec_runs(pm, over, has, lacks):
    """A plugin replacing a kernel must see it run: the set holds only what the spec calls."""
    names = set(pm.compute_kernels(pm.load_spec("pcm-hermes", over)).names)
    assert has <= names and not lacks & names
