"""Every built-in model on every built-in spec: an estimate that respects the spec's declared
capabilities (MFU and HFU <= 1, memory and on-chip weights within capacity) or one clear
error; and the step breakdown adds up to the step time."""

from __future__ import annotations

import math

import pytest

from xpusim.core.errors import XpusimError
from xpusim.llm import estimate_serving, estimate_training, list_models
from xpusim.llm.estimate import MEMORY_HEADROOM, resolve_hardware

SPECS = ["h100-sxm", "a100-sxm-80gb", "v100-sxm2", "tpu-v1", "tpu-v4", "edge-int8",
         "pcm-hermes", "reram-generic", "aihwkit-defaults", "loihi", "loihi2"]


def _finite(d):
    for k, v in d.items():
        if isinstance(v, dict):
            _finite(v)
        elif isinstance(v, float):
            assert math.isfinite(v) and (v >= 0 or k.endswith("_note")), (k, v)


@pytest.mark.parametrize("spec", SPECS)
def test_estimates_never_exceed_what_the_spec_declares(spec):
    hw = resolve_hardware(spec)
    outcomes = {"ok": 0, "refused": 0}
    for model in list_models():
        try:
            r = estimate_training(model, spec, 256, tokens=1e9)
        except XpusimError:
            outcomes["refused"] += 1
        else:
            outcomes["ok"] += 1
            _finite({k: v for k, v in r.items() if k not in ("mfu", "hfu",
                                                             "peak_flops_per_device")})
            if r["mfu"] is not None:
                assert 0 < r["mfu"] <= r["hfu"] <= 1.0
            mem = r["memory_per_device_bytes"]
            assert mem["usable_bytes"] is None or mem["total_bytes"] <= mem["usable_bytes"]
            if hw.weight_capacity:
                assert r["params"] / (r["parallel"]["tp"] * r["parallel"]["pp"]) \
                    <= hw.weight_capacity * 1.01
            parts = sum(r["step_breakdown_s"].values())
            assert parts == pytest.approx(r["step_time_s"], rel=1e-9)
        try:
            s = estimate_serving(model, spec)
        except XpusimError:
            outcomes["refused"] += 1
        else:
            outcomes["ok"] += 1
            if hw.memory_bytes:
                assert s["memory_per_device_bytes"]["total_bytes"] <= \
                    hw.memory_bytes * (1 - MEMORY_HEADROOM)
            assert s["j_per_token"] == pytest.approx(s["j_per_token_device"] * s["pue"]
                                                     if "pue" in s else s["j_per_token"])
            assert s["j_per_token_device"] <= s["j_per_token"]
    assert outcomes["ok"] + outcomes["refused"] == 2 * len(list_models())


def test_tpu_memory_is_checked_when_serving():
    r = estimate_serving("gpt3-175b", "tpu-v4")
    assert r["tp"] >= 16
    assert r["memory_per_device_bytes"]["total_bytes"] <= 32 * 2 ** 30 * (1 - MEMORY_HEADROOM)


def test_weights_beyond_the_chip_are_refused_unless_reprogrammed():
    with pytest.raises(XpusimError, match="cannot keep its weights resident on pcm-hermes"):
        estimate_serving("llama2-7b", "pcm-hermes")
    r = estimate_serving("gpt3-125m", "pcm-hermes", weights="reprogrammed")
    assert r["time_per_output_token_s"] > 0


def test_mfu_uses_the_declared_peak_and_hfu_counts_recomputation():
    r = estimate_training("gpt3-1.3b", "a100-sxm-80gb", 64, tokens=1e9,
                          parallel="dp=64,tp=1,pp=1,mb=4,recompute=true")
    assert r["peak_flops_per_device"] == pytest.approx(312e12)
    assert r["hfu"] > r["mfu"] > 0
    assert r["hardware_flops"] > r["training_flops"]
