"""The example plugin's own tests: the conformance suite, hand-checked costs, noise, a run."""

from __future__ import annotations

import numpy as np
import pytest

import xpusim
from xpusim.core.plugins import get_plugin_manager
from xpusim.core.scheduler import price_primitive
from xpusim.core.errors import SpecError
from xpusim.core.trace import Trace
from xpusim.testing import parametrize_with_checks

# Works installed (entry point) or not (explicit module): the manager registers it once.
PLUGINS = ["xpusim_photonic"]
SPEC = "photonic-mzi-64"


@parametrize_with_checks(["photonic"], plugins=PLUGINS)
def test_conformance(target, check):
    check(target)


@pytest.fixture(scope="module")
def pm():
    return get_plugin_manager(PLUGINS)


def test_one_tile_mvm_costs_what_the_formulas_say(pm):
    """A 1x64 · 64x64 product fills one tile once: 64 DAC + 64 ADC conversions, one symbol."""
    spec = pm.load_spec(SPEC)
    _, ledger = price_primitive(pm, SPEC, "mvm", (1, 64, 64))
    e = ledger.by_component()
    assert e["conversion"] == pytest.approx(64 * 2e-12 + 64 * 5e-12)
    assert e["weight_programming"] == 0.0  # fits in the resident tiles
    assert e["digital"] == 0.0  # one row tile: no partial sums to add
    sram = 64 * 8 / 8 + 64 * 4
    assert e["onchip_memory"] == pytest.approx(sram * 0.5e-12)
    t = max(1 / 10e9, sram / 1000e9)
    assert ledger.total_time_s == pytest.approx(t)
    static_w = 2.0 + 64 * 64 * 4 * 0.5e-3
    assert spec.params.static_power_w == pytest.approx(static_w)
    assert e["static"] == pytest.approx(static_w * t)


def test_large_matrix_reprograms_tiles(pm):
    """256x256 weights need 16 blocks on 4 tiles: 12 blocks reprogrammed per call."""
    _, ledger = price_primitive(pm, SPEC, "mvm", (8, 256, 256))
    counters = ledger.extra_totals()
    assert counters["weights_programmed"] == 12 * 64 * 64
    assert counters["adc_conversions"] == 8 * 256 * 4
    assert ledger.total_time_s >= 3 * 10e-6  # three rounds of thermal reprogramming


def test_noise_and_quantization_change_the_product(pm):
    spec = pm.load_spec(SPEC)
    info = pm.backend("photonic")
    kernels = pm.compute_kernels(spec)
    rng = np.random.default_rng(0)
    x = rng.random((16, 64), dtype=np.float32)
    w = rng.standard_normal((64, 32)).astype(np.float32)
    dev = info.device(spec, kernels, np.random.default_rng(1), Trace(), primitives=info.primitives)
    dev.place(0, w)
    y = dev.mvm(0, x, "inference")
    exact = x @ w
    err = np.abs(y - exact).max() / np.abs(exact).max()
    assert 1e-4 < err < 0.05  # noisy and quantized, but close
    assert len(np.unique(dev.weights(0))) <= 2 ** 8 - 1  # 8-bit weights
    quiet = pm.load_spec(SPEC, ["noise.output_std=0", "dac.bits=16", "adc.bits=16",
                                "mesh.weight_bits=16"])
    dev = info.device(quiet, kernels, np.random.default_rng(1), Trace(),
                      primitives=info.primitives)
    dev.place(0, w)
    assert np.abs(dev.mvm(0, x, "inference") - exact).max() / np.abs(exact).max() < 1e-3


def test_run_trains_and_prices(pm):
    r = xpusim.run(hardware=SPEC, epochs=3, model="mlp:64-32-10", pm=pm)
    assert r.status == "ok" and r.final_test_accuracy > 0.7
    assert r.config["backend"] == "photonic"
    assert r.training["energy_by_component_j"]["weight_programming"] > 0
    assert r.inference_per_sample["energy_j"] > 0


def test_bad_spec_value_is_named(pm):
    with pytest.raises(SpecError, match=r"photonic-mzi-64.toml: adc: adc.bits"):
        pm.load_spec(SPEC, ["adc.bits=4"])
