"""End-to-end runs: accuracy, determinism, results, divergence, mismatches."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pytest

import xpusim
from xpusim.core.errors import IncompatibleError, XpusimError


def _numbers(result) -> str:
    d = result.to_json()
    d.pop("meta")
    return json.dumps(d, sort_keys=True, default=float)


def test_same_seed_gives_bit_identical_results(pm):
    a = xpusim.run(epochs=2, seed=3, pm=pm)
    b = xpusim.run(epochs=2, seed=3, pm=pm)
    c = xpusim.run(epochs=2, seed=4, pm=pm)
    assert _numbers(a) == _numbers(b)
    assert _numbers(a) != _numbers(c)


def test_result_json_and_row(pm):
    r = xpusim.run(epochs=2, pm=pm, lifetime_inferences=1e6)
    d = json.loads(r.dumps())
    assert 0.5 < d["final_test_accuracy"] <= 1.0
    assert d["config"]["spec_hash"] and d["config"]["version"] == xpusim.__version__
    assert len(d["accuracy_per_epoch"]) == 2
    t = d["training"]
    assert t["energy_j"] == pytest.approx(sum(t["energy_by_component_j"].values()))
    assert t["time_s"] == pytest.approx(sum(v["time_s"] for v in t["by_phase"].values()))
    assert set(t["by_phase"]) == {"train-forward", "train-backward", "train-update"}
    assert d["lifetime"]["energy_j"] == pytest.approx(
        t["energy_j"] + 1e6 * d["inference_per_sample"]["energy_j"])
    row = r.to_row()
    assert row["training.energy_by_component_j.static"] > 0
    import pandas as pd

    assert len(pd.DataFrame([row])) == 1


def test_backprop_stores_activations_and_records_every_primitive(pm):
    r = xpusim.run(epochs=1, pm=pm, batch_size=32)
    assert r.peak_activation_bytes == 4 * 32 * (64 + 256)  # each dense layer's input
    macs = r.trace_summary["macs_by_phase"]
    per_sample = 64 * 256 + 256 * 10
    assert macs["train-forward"] == 1437 * per_sample
    assert macs["train-update"] == 1437 * per_sample
    assert macs["train-backward"] == 1437 * 256 * 10


def test_divergence_is_a_failed_run_with_its_step(pm):
    r = xpusim.run(epochs=3, lr=1e30, optimizer="sgd", pm=pm)
    assert r.status == "diverged"
    assert r.failed_step is not None and r.failed_step >= 1
    assert "diverged at step" in r.failure


def test_model_data_mismatch_is_clear(pm):
    with pytest.raises(XpusimError, match=r"model 'mlp:10-5-10' takes 10 inputs .* 64 features"):
        xpusim.run(model="mlp:10-5-10", epochs=1, pm=pm)


def test_incompatible_method_names_both(pm):
    from xpusim.core import BackendInfo, MethodInfo
    from xpusim.core.scheduler import check_compatible

    gpu = pm.backend("gpu")
    lame = BackendInfo("lame", gpu.params, gpu.device, {"mvm"})
    with pytest.raises(IncompatibleError, match=r"method 'backprop' needs primitive\(s\) mvm_t, "
                                                r"update which backend 'lame'"):
        check_compatible(pm.method("backprop"), lame, "lame-chip")
    assert isinstance(pm.method("backprop"), MethodInfo)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_backprop_fp32_on_h100_reaches_95_percent(pm, seed):
    r = xpusim.run(hardware="h100-sxm", epochs=20, seed=seed, pm=pm)
    assert r.final_test_accuracy >= 0.95


@pytest.mark.slow
def test_bf16_mixed_precision_within_one_point_of_fp32(pm):
    fp32 = np.mean([xpusim.run(epochs=20, seed=s, pm=pm).final_test_accuracy for s in range(3)])
    bf16 = np.mean([xpusim.run(epochs=20, seed=s, set=["compute_format=bf16"],
                               pm=pm).final_test_accuracy for s in range(3)])
    assert abs(fp32 - bf16) <= 0.01


@pytest.mark.slow
def test_fp16_with_dynamic_loss_scaling_trains(pm):
    r = xpusim.run(epochs=10, set=["compute_format=fp16", "loss_scale=65536",
                                   "dynamic_loss_scaling=true"], pm=pm)
    assert r.final_test_accuracy >= 0.93


def test_serve_on_another_spec_deploys_and_prices_there(pm):
    from xpusim.core.results import RunConfig
    from xpusim.core.scheduler import run

    base = RunConfig(hardware="h100-sxm", epochs=2, seed=3)
    same = run(base, plugins=pm)
    served = run(attrs.evolve(base, serve_hardware="pcm-hermes"), plugins=pm)
    assert served.config["serve_spec_name"] == "pcm-hermes"
    assert served.config["config_hash"] != same.config["config_hash"]
    assert served.accuracy_per_epoch == same.accuracy_per_epoch  # training untouched
    # deployment = programming every layer's cells; inference priced on the analog chip
    assert served.deploy["energy_by_component_j"]["write"] > 0
    assert served.inference_per_sample["energy_j"] != same.inference_per_sample["energy_j"]
    assert "adc_conversions" in served.inference_per_sample["counters"]
    assert abs(served.final_test_accuracy - same.final_test_accuracy) < 0.1


def test_serve_set_without_serve_on_is_a_clear_error(capsys):
    from xpusim.cli import entry

    code = entry(["run", "--epochs", "1", "--serve-set", "adc.bits=4"])
    assert code != 0
    assert "--serve-set needs --serve-on" in capsys.readouterr().err
