"""Per-layer tables, backward periphery, inference noise models and the hardware-aware
training toolbox (modifiers, clipping, weight scaling, learned input ranges)."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.core.results import RunConfig
from xpusim.core.scheduler import run
from xpusim.core.specs import SpecError
from xpusim.core.trace import Trace
from xpusim.plugins.hardware.analog import hwa, noise_models as NM
from xpusim.plugins.hardware.analog.params import layer_params

IDEAL = ("dac.enabled=false", "adc.enabled=false", "noise.out_noise_std=0", "noise.w_noise_std=0",
         "pcm.prog_noise_scale=0", "pcm.drift_scale=0", "pcm.read_noise_scale=0",
         "drift_compensation=none", "hwa_noise_scale=0")


def hwa_device(pm, over=(), seed=0):
    spec = pm.load_spec("pcm-hermes", tuple(over))
    info = pm.backend("analog")
    return info.device(spec, pm.compute_kernels(spec), np.random.default_rng(seed), Trace(),
                       primitives=info.primitives)


def test_layer_table_applies_to_its_layer_only(pm):
    spec = pm.load_spec("pcm-hermes", ("layers.1.adc.bits=4", "layers.1.noise.out_noise_std=0.1"))
    p = spec.params
    assert layer_params(p, 0) is p and layer_params(p, 1).adc.bits == 4
    assert layer_params(p, 1).noise.out_noise_std == 0.1 and layer_params(p, 1).dac == p.dac
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((256, 64)) * 0.1).astype(np.float32)
    x = rng.uniform(-1, 1, (16, 256)).astype(np.float32)
    dev = hwa_device(pm, IDEAL + ("layers.1.adc.enabled=true", "layers.1.adc.bits=3"))
    dev.place(0, w)
    dev.place(1, w)
    dev.prepare_inference()
    exact = x.astype(np.float64) @ w
    assert np.abs(dev.mvm(0, x, "inference") - exact).max() < 1e-4 * np.abs(exact).max()
    err1 = np.abs(dev.mvm(1, x, "inference") - exact).max()
    assert err1 > 0.01 * np.abs(exact).max()  # a 3-bit ADC on layer 1 only


def test_layer_table_prices_its_layer(pm):
    r = {}
    for bits in (6, 10):
        res = run(RunConfig(hardware="pcm-hermes", overrides=(f"layers.0.adc.bits={bits}",),
                            epochs=1), plugins=pm)
        r[bits] = res.inference_per_sample
    # layer 0's ADCs: Walden energy doubles per bit; layer 1 unchanged
    assert r[10]["energy_by_component_j"]["adc"] > 4 * r[6]["energy_by_component_j"]["adc"]


@pytest.mark.parametrize("override, message", [
    ("layers.0.tile.rows=128", "layers.0.tile: chip-wide: cannot differ per layer"),
    ("layers.0.adc.bitz=4", "layers.0.adc.bitz: unknown key (did you mean 'bits'?)"),
    ("layers.2.adc.bits=0", "layers.2.adc.bits: must be > 0, found 0"),
    ("layers.x.adc.bits=4", "layers.x: expected a layer id"),
    ("backward.adc.bits=0", "backward.adc.bits: must be > 0, found 0"),
    ("backward.noise.stuck_fraction=0.1", "backward.noise.stuck_fraction: a device property"),
    ("backward.dack.bits=4", "backward.dack: unknown key"),
    ("transfer.fast.dw_min=-1", "transfer.fast.dw_min: must be > 0, found -1"),
])
def test_bad_override_tables_are_named(pm, override, message):
    with pytest.raises(SpecError) as err:
        pm.load_spec("pcm-hermes", (override, "training_mode=hardware-aware"))
    assert message in str(err.value) and "pcm-hermes.toml" in str(err.value)


def test_perfect_backward_pass(pm):
    rng = np.random.default_rng(1)
    w = (rng.standard_normal((64, 32)) * 0.1).astype(np.float32)
    e = rng.standard_normal((8, 32)).astype(np.float32)
    errs = {}
    for over in ((), ("backward.perfect=true",)):
        dev = hwa_device(pm, ("hwa_noise_scale=0", "noise.out_noise_std=0.1") + over)
        dev.place(0, w)
        out = dev.mvm_t(0, e, "train-backward")
        errs[over] = np.abs(out - e.astype(np.float64) @ w.T).max()
    assert errs[()] > 1e-2 and errs[("backward.perfect=true",)] < 1e-5


@pytest.mark.parametrize("model", ["pcm", "hermes", "state-independent", "reram-wan2022"])
def test_programming_noise_has_the_model_width(model):
    mv = np.zeros(NM.N_MV)
    mv[NM.M_MODEL] = NM.MODELS[model]
    mv[NM.M_DEVICES], mv[NM.M_GMAX], mv[NM.M_PROG], mv[NM.M_DRIFT] = 2, 25.0, 1.0, 1.0
    mv[NM.M_C0] = 0.2
    g = np.full((400, 400), 0.5)
    g_prog, nu = np.empty_like(g), np.empty_like(g)
    NM.program_noise(g, mv, np.uint64(5), g_prog, nu)
    expected = {"pcm": (0.26348 + 1.965 * 0.5 - 1.1731 * 0.25) / 25.0,
                "hermes": (0.16603222 + 4.71806468 * 0.5 - 8.48101252 * 0.25
                           + 4.68961419 * 0.125) / 20.7,
                "state-independent": 0.2 / 25.0,
                "reram-wan2022": (0.348 + 16.030 * 0.5 - 43.853 * 0.25 + 45.393 * 0.125
                                  - 16.815 * 0.0625) / 25.0}[model]
    assert g_prog.std() == pytest.approx(expected, rel=0.02)
    if model == "hermes":  # mean drift exponent at g = 0.5: -0.0436/4 - 0.0126/2 + 0.0736
        assert nu.mean() == pytest.approx(-0.0436 * 0.25 - 0.0126 * 0.5 + 0.0736, rel=0.05)


def test_drift_shrinks_conductance_with_time():
    mv = np.zeros(NM.N_MV)
    mv[NM.M_MODEL], mv[NM.M_DEVICES], mv[NM.M_GMAX] = NM.HERMES, 2, 20.7
    mv[NM.M_T0], mv[NM.M_TREAD], mv[NM.M_READ] = 300.0, 512e-9, 0.0
    g = np.full((100, 100), 0.5)
    nu = np.full_like(g, 0.06)
    out = np.empty_like(g)
    NM.age_noise(g, g, nu, mv, 86400.0, np.uint64(1), out)
    np.testing.assert_allclose(out, 0.5 * ((86400 + 300) / 300) ** -0.06)


def test_wan2022_model_only_at_its_fitted_times(pm):
    with pytest.raises(SpecError, match="inference_time_s: reram-wan2022 is fitted at 1, 86400"):
        pm.load_spec("pcm-hermes", ("inference_noise.model=reram-wan2022",
                                    "inference_time_s=3600"))


def test_modifiers(pm):
    kernels = pm.compute_kernels(pm.load_spec("pcm-hermes", ("modifier.type=add-normal",)))
    rng = np.random.default_rng(0)
    w = rng.uniform(-1, 1, (300, 300)).astype(np.float32)
    from xpusim.plugins.hardware.analog.params_hwa import Modifier
    out = hwa.modify(Modifier(type="discretize", res=0.25), w, rng, kernels)
    steps = out / (0.25 * np.abs(w).max())
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-5)
    assert np.abs(out - w).max() <= 0.125 * np.abs(w).max() + 1e-6
    out = hwa.modify(Modifier(type="add-normal", std_dev=0.05), w, rng, kernels)
    assert (out - w).std() == pytest.approx(0.05 * np.abs(w).max(), rel=0.02)
    out = hwa.modify(Modifier(type="mult-normal", std_dev=0.1), w, rng, kernels)
    assert ((out - w) / w).std() == pytest.approx(0.1, rel=0.03)
    out = hwa.modify(Modifier(pdrop=0.3), w, rng, kernels)
    assert (out == 0).mean() == pytest.approx(0.3, abs=0.01)


@pytest.mark.parametrize("over, bound", [
    (("clip.type=fixed", "clip.fixed_value=0.05"), lambda w: 0.05),
    (("clip.type=layer-gaussian", "clip.sigma=1"), lambda w: w.std(ddof=1)),
    (("clip.type=average-channel-max",), lambda w: np.abs(w).max(axis=0).mean()),
])
def test_clipping_bounds_the_master_weights(pm, over, bound):
    dev = hwa_device(pm, over)
    rng = np.random.default_rng(2)
    w = (rng.standard_normal((32, 16)) * 0.1).astype(np.float32)
    dev.place(0, w)
    dev.update(0, np.zeros((1, 32), np.float32), np.zeros((1, 16), np.float32), 0.0)
    assert np.abs(dev.weights(0)).max() == pytest.approx(bound(w), rel=1e-5)


def test_layer_scaling_uses_one_scale(pm):
    from xpusim.plugins.hardware.analog.programmed import column_scale
    w = np.array([[1.0, 0.5], [-2.0, 0.1]])
    np.testing.assert_allclose(column_scale(w, "column"), [2.0, 0.5])
    np.testing.assert_allclose(column_scale(w, "layer"), [2.0, 2.0])


def test_learned_input_range(pm):
    over = ("input_range.enabled=true", "input_range.init_from_data=2",
            "input_range.init_value=1.0")
    r = run(RunConfig(hardware="pcm-hermes", overrides=over, epochs=1, optimizer="sgd",
                      lr=0.05), plugins=pm)
    assert r.status == "ok" and r.final_test_accuracy > 0.5
    dev = hwa_device(pm, IDEAL + over)
    dev.place(0, np.eye(4, dtype=np.float32))
    x = np.array([[0.5, -0.5, 3.0, 0.1]], np.float32)
    dev.mvm(0, x, "train-forward")  # first batch: r = 3 std(x)
    assert dev.ranges[0].value == pytest.approx(3 * float(np.std(x)))
    dev = hwa_device(pm, IDEAL + over[:1] + ("input_range.init_from_data=0",
                                             "input_range.init_value=1.0"))
    dev.place(0, np.eye(4, dtype=np.float32))
    dev.mvm(0, x, "train-forward")
    np.testing.assert_allclose(dev.mvm(0, x, "inference")[0], np.clip(x[0], -1, 1), rtol=1e-5)
    # the loss wants output 2 larger (post = -gradient = +1): the clipped input 3.0 pushes r up
    dev.update(0, x, np.array([[0.0, 0.0, 1.0, 0.0]], np.float32), 0.1)
    assert dev.ranges[0].value == pytest.approx(1.0 + 0.1 * 1.0, rel=1e-5)  # lr x |grad| x r
    assert dev.trace.column("primitive").tolist().count(1) == 1  # the backward read, priced


def test_toolbox_needs_hardware_aware_mode(pm):
    with pytest.raises(SpecError, match="modifier.type: acts on the digital weights"):
        pm.load_spec("pcm-hermes", ("training_mode=in-situ", "modifier.type=add-normal"))
    with pytest.raises(SpecError, match="lr_schedule.kind: schedules pulsed"):
        pm.load_spec("pcm-hermes", ("lr_schedule.kind=step",))
