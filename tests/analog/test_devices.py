"""Analog in-situ devices: the step models against their formulas, spreads, write noise,
leakage, one-sided pairs, update management and the statistics of the pulsed update."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xpusim.plugins.hardware.analog import pulsed as P
from xpusim.plugins.hardware.analog.insitu import PulsedArray

OFF = ("pulsed.dw_min_dtod=0", "pulsed.dw_min_std=0", "pulsed.up_down_dtod=0",
       "pulsed.w_max_dtod=0", "pulsed.w_min_dtod=0")


def pulsed_params(pm, *over):
    return pm.load_spec("aihwkit-defaults", ("training_mode=in-situ", *over)).params.pulsed


def one_pulse(arr, w0, up):
    """The weight after one pulse from w0 on every device of ``arr``."""
    arr.w[...] = w0
    counts = np.full(arr.w.shape, 1.0 if up else -1.0)
    P.apply_counts(counts, np.arange(6, dtype=np.uint64), arr.dev, np.zeros(P.N_STATS))
    return arr.w.copy()


def test_constant_step_moves_one_step_and_stops_at_the_bounds(pm):
    arr = PulsedArray(pulsed_params(pm, *OFF), (2, 3), np.random.default_rng(0))
    np.testing.assert_allclose(one_pulse(arr, 0.1, True), 0.101)
    np.testing.assert_allclose(one_pulse(arr, 0.1, False), 0.099)
    np.testing.assert_allclose(one_pulse(arr, 0.5995, True), 0.6)  # clipped at w_max


def test_soft_bounds_step_shrinks_linearly_to_zero_at_the_bound(pm):
    arr = PulsedArray(pulsed_params(pm, *OFF, "pulsed.model=soft-bounds"), (1, 1),
                      np.random.default_rng(0))
    for w0 in (-0.3, 0.0, 0.3):
        assert one_pulse(arr, w0, True)[0, 0] - w0 == pytest.approx(0.001 * (1 - w0 / 0.6))
        assert w0 - one_pulse(arr, w0, False)[0, 0] == pytest.approx(0.001 * (1 + w0 / 0.6))


def test_linear_step_gamma_sets_the_step_at_the_bound(pm):
    arr = PulsedArray(pulsed_params(pm, *OFF, "pulsed.model=linear-step",
                                    "pulsed.linear_step.gamma_up=0.4",
                                    "pulsed.linear_step.gamma_up_dtod=0",
                                    "pulsed.linear_step.gamma_down_dtod=0"), (1, 1),
                      np.random.default_rng(0))
    # step at w_max is (1 - gamma) of the step at 0
    assert one_pulse(arr, 0.599, True)[0, 0] - 0.599 == pytest.approx(
        0.001 * (1 - 0.4 * 0.599 / 0.6))
    assert 0.3 - one_pulse(arr, 0.3, False)[0, 0] == pytest.approx(0.001)  # gamma_down = 0


def test_exp_step_follows_its_formula(pm):
    arr = PulsedArray(pulsed_params(pm, *OFF, "pulsed.model=exp-step"), (1, 1),
                      np.random.default_rng(0))
    es = arr.pu.exp_step
    for w0 in (-0.4, 0.0, 0.4):
        z = 2 * w0 / 1.2 * es.slope_a + es.offset_b
        up = max(1 - es.amplitude_up * math.exp(es.exponent_up * z), 0) * 0.001
        down = max(1 - es.amplitude_down * math.exp(-es.exponent_down * z), 0) * 0.001
        assert one_pulse(arr, w0, True)[0, 0] - w0 == pytest.approx(up, rel=1e-9, abs=1e-15)
        assert w0 - one_pulse(arr, w0, False)[0, 0] == pytest.approx(down, rel=1e-9, abs=1e-15)


def test_pow_step_follows_its_formula(pm):
    arr = PulsedArray(pulsed_params(pm, *OFF, "pulsed.model=pow-step", "pulsed.pow_step.gamma=2",
                                    "pulsed.pow_step.gamma_dtod=0"), (1, 1),
                      np.random.default_rng(0))
    w0 = 0.3
    assert one_pulse(arr, w0, True)[0, 0] - w0 == pytest.approx(0.001 * ((0.6 - w0) / 1.2) ** 2)
    assert w0 - one_pulse(arr, w0, False)[0, 0] == pytest.approx(0.001 * ((w0 + 0.6) / 1.2) ** 2)


def test_piecewise_step_interpolates_its_table(pm):
    arr = PulsedArray(pulsed_params(pm, *OFF, "pulsed.model=piecewise-step",
                                    "pulsed.piecewise_step.up=[2.0, 1.0, 0.0]",
                                    "pulsed.piecewise_step.down=[0.0, 1.0, 2.0]"), (1, 1),
                      np.random.default_rng(0))
    # w = -0.3 is a quarter of the range: halfway between the factors 2 and 1
    assert one_pulse(arr, -0.3, True)[0, 0] + 0.3 == pytest.approx(0.0015)
    assert -0.3 - one_pulse(arr, -0.3, False)[0, 0] == pytest.approx(0.0005)


def test_device_to_device_spreads_have_their_widths(pm):
    shape = (200, 200)
    arr = PulsedArray(pulsed_params(pm, "pulsed.dw_min_dtod=0.3", "pulsed.w_max_dtod=0.2",
                                    "pulsed.up_down_dtod=0", "pulsed.w_min_dtod=0"), shape,
                      np.random.default_rng(1))
    su, hi = arr.dev[2], arr.dev[5]
    assert np.std(su) / np.mean(su) == pytest.approx(0.3, rel=0.05)
    assert np.std(hi) / 0.6 == pytest.approx(0.2, rel=0.05)
    np.testing.assert_allclose(arr.dev[4], -0.6)  # w_min_dtod = 0


def test_cycle_to_cycle_noise_has_its_width(pm):
    arr = PulsedArray(pulsed_params(pm, *OFF[:1], *OFF[2:], "pulsed.dw_min_std=0.3"),
                      (300, 300), np.random.default_rng(0))
    steps = one_pulse(arr, 0.0, True) / 0.001
    assert steps.mean() == pytest.approx(1.0, abs=0.01)
    assert steps.std() == pytest.approx(0.3, rel=0.03)


def test_write_noise_shows_in_the_read_weights_only(pm):
    arr = PulsedArray(pulsed_params(pm, *OFF, "pulsed.model=soft-bounds",
                                    "pulsed.write_noise_std=10"), (300, 300),
                      np.random.default_rng(0))
    one_pulse(arr, 0.0, True)
    np.testing.assert_allclose(arr.w, 0.001)
    assert (arr.w_app - arr.w).std() == pytest.approx(10 * 0.001, rel=0.03)


def test_leakage_decays_toward_the_reset_value(pm):
    pu = pulsed_params(pm, *OFF, "pulsed.lifetime=100", "pulsed.reset=0.1")
    arr = PulsedArray(pu, (4, 4), np.random.default_rng(0))
    arr.set_weights(np.full((4, 4), 0.5))
    kernels = pm.compute_kernels(pm.load_spec("aihwkit-defaults", ("training_mode=in-situ",
                                                                   "pulsed.lifetime=100")))
    for _ in range(100):
        arr.leak(kernels, np.uint64(3))
    np.testing.assert_allclose(arr.w, 0.1 + 0.4 * (1 - 1 / 100) ** 100)


def test_pulsed_update_is_sgd_in_expectation(pm, insitu):
    """Mean weight change over many devices and updates = lr xᵀd (update management keeps the
    expectation; the spread is the pulses' stochasticity)."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (32, 64)).astype(np.float32)
    d = (rng.standard_normal((32, 8)) * 0.01).astype(np.float32)
    runs = []
    for seed in range(20):
        dev = insitu(OFF + ("pulsed.w_max=5", "pulsed.w_min=-5"), seed)
        dev.place(0, np.zeros((64, 8), np.float32))
        dev.update(0, x, d, 0.05)
        runs.append(dev.weights(0).astype(np.float64))
    runs = np.array(runs)
    ideal = 0.05 * x.T.astype(np.float64) @ d
    assert np.corrcoef(runs.mean(axis=0).ravel(), ideal.ravel())[0, 1] > 0.95
    sums = runs.sum(axis=(1, 2))
    assert abs(sums.mean() - ideal.sum()) < 4 * sums.std(ddof=1) / np.sqrt(len(sums))


def test_update_management_shortens_the_train(pm, insitu):
    """A small update uses BL = ceil(lr max|x| max|d| / dw_min) slots (here 1), recorded as the
    update row's bits; without BL management all 31 slots."""
    x = np.ones((4, 16), np.float32)
    d = np.full((4, 4), 0.01, np.float32)
    for over, bits in (((), 1), (("pulsed.update_bl_management=false",), 31)):
        dev = insitu(over)
        dev.place(0, np.zeros((16, 4), np.float32))
        dev.update(0, x, d, 0.05)  # k = 0.05 x 1 x 0.01 / 0.001 = 0.5
        assert dev.trace.column("bits")[-1] == bits


def test_one_sided_pair_only_potentiates_and_refreshes(pm, insitu):
    over = ("pulsed.one_sided.enabled=true", "pulsed.w_min=0", "pulsed.w_max=1", "pulsed.dw_min=0.01",
            "pulsed.model=soft-bounds", *OFF, "noise.out_noise_std=0")
    dev = insitu(over)
    dev.place(0, np.zeros((8, 4), np.float32))
    rule = dev.rules[0]
    rng = np.random.default_rng(0)
    for _ in range(5):
        gp, gm = rule.gp.w.copy(), rule.gm.w.copy()
        dev.update(0, rng.uniform(-1, 1, (8, 8)).astype(np.float32),
                   rng.uniform(-0.1, 0.1, (8, 4)).astype(np.float32), 0.5)
        if not (rule.gp.w < gp - 1e-12).any():  # no refresh happened: both only grew
            assert (rule.gm.w >= gm - 1e-12).all()
    np.testing.assert_allclose(dev.weights(0), rule.gp.w - rule.gm.w, atol=1e-6)
    # both devices high: the refresh resets them and writes the difference back
    rule.gp.w[...] = 0.9
    rule.gm.w[...] = 0.8
    dev.update(0, np.zeros((1, 8), np.float32), np.zeros((1, 4), np.float32), 0.5)
    assert (rule.gp.w < 0.5).all() and (rule.gm.w < 0.1).all()
    assert 0.0 < (rule.gp.w - rule.gm.w).mean() < 0.2
    assert dev.trace.column("primitive").tolist().count(0) >= 1  # refresh reads priced


def test_lr_schedule_factors():
    from xpusim.plugins.hardware.analog.params_insitu import LrSchedule
    assert LrSchedule(kind="step", every_batches=10, factor=0.5).factor_at(25) == 0.25
    assert LrSchedule(kind="exponential", every_batches=10, factor=0.5).factor_at(5) == \
        pytest.approx(0.5 ** 0.5)
    cos = LrSchedule(kind="cosine", total_batches=100, min_factor=0.1)
    assert cos.factor_at(0) == 1.0 and cos.factor_at(100) == pytest.approx(0.1)
    assert cos.factor_at(50) == pytest.approx(0.55)
    assert LrSchedule(kind="linear", total_batches=10).factor_at(5) == 0.5


def test_lr_schedule_scales_the_pulses(pm, insitu):
    x = np.ones((8, 16), np.float32)
    d = np.full((8, 4), 0.05, np.float32)
    pulses = []
    for kind in ("constant", "step"):
        dev = insitu(OFF + (f"lr_schedule.kind={kind}", "lr_schedule.every_batches=1",
                                "lr_schedule.factor=0.1", "pulsed.w_max=5", "pulsed.w_min=-5"))
        dev.place(0, np.zeros((16, 4), np.float32))
        dev.update(0, x, d, 0.05)
        before = dev.weights(0).copy()
        dev.update(0, x, d, 0.05)
        pulses.append(np.abs(dev.weights(0) - before).sum())
    assert pulses[1] == pytest.approx(0.1 * pulses[0], rel=0.3)


@pytest.mark.parametrize("key", [np.uint64(0), np.uint64(0x9E3779B97F4A7C15),
                                 np.uint64(2**64 - 1)])
def test_a_device_s_pulses_draw_the_normals_gauss_normal_draws(key):
    """The coincidence loop takes pulses 2q and 2q + 1 of a device from the two halves of one
    word (``_pair_normal``): the same numbers as ``gauss.normal`` at 2·wbase + p, whatever the
    number of pulses."""
    from xpusim.numerics import gauss
    for wbase in (np.uint64(0), np.uint64(12345 * 32), np.uint64(2**40 + 7)):
        rw = np.uint64(0)
        for p in range(P.MAX_PULSES):
            z, rw = P._pair_normal(key, wbase, p, np.uint64(rw))
            want = gauss.normal(key, np.uint64(2 * int(wbase) + p), gauss.KI, gauss.WI, gauss.FI)
            assert z == want, (int(key), int(wbase), p)
