"""``xpusim estimate`` refuses hostile inputs with one line and never reports impossible numbers."""

from __future__ import annotations

import json
import math

import pytest

from xpusim.cli import entry
from xpusim.llm import estimate_serving, estimate_training, lifetime_cost
from xpusim.llm.inputs import EstimateInputError, EstimateOutputError, result

TRAIN = ["estimate", "--model", "gpt3-1.3b", "--hardware", "a100-sxm-80gb", "--devices", "16",
         "--tokens", "3e11"]
SERVE = ["estimate", "--serve", "--model", "llama2-70b", "--hardware", "h100-sxm",
         "--batch", "8"]


def _replace(args: list[str], option: str, value: str) -> list[str]:
    out = list(args)
    if option in out:
        out[out.index(option) + 1] = value
    else:
        out += [option, value]
    return out


def _refused(capsys, argv: list[str], *needles: str) -> str:
    code = entry(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "-inf"])
def test_tokens_must_be_a_finite_positive_number(capsys, value):
    _refused(capsys, _replace(TRAIN, "--tokens", value), "--tokens", "> 0", value)


def test_zero_tokens_is_a_clear_error_not_a_division_by_zero():
    with pytest.raises(EstimateInputError, match=r"--tokens must be a finite number > 0, found 0"):
        estimate_training("gpt3-1.3b", "a100-sxm-80gb", 16, 0)


@pytest.mark.parametrize("value", ["-1", "0"])
def test_devices_must_be_at_least_one(capsys, value):
    _refused(capsys, _replace(TRAIN, "--devices", value), "--devices", ">= 1")


@pytest.mark.parametrize("value", ["-1", "0"])
def test_tp_must_be_at_least_one(capsys, value):
    _refused(capsys, _replace(SERVE, "--tp", value), "--tp", ">= 1")


def test_tp_must_divide_the_heads(capsys):
    line = _refused(capsys, _replace(SERVE, "--tp", "3"), "--tp 3 must divide the 64 attention "
                                                          "heads of llama2-70b")
    assert "e.g. 1, 2, 4, 8" in line


@pytest.mark.parametrize("option, value, rule", [
    ("--usd-per-device-hour", "-1", ">= 0"), ("--usd-per-device-hour", "nan", ">= 0"),
    ("--pue", "-1", ">= 1"), ("--pue", "0.5", ">= 1"), ("--pue", "nan", ">= 1"),
    ("--pue", "inf", ">= 1"), ("--grid", "-0.4", ">= 0"), ("--grid", "inf", ">= 0"),
    ("--steps-multiplier", "-2", "> 0"), ("--steps-multiplier", "nan", "> 0"),
])
def test_money_energy_and_co2_inputs_are_range_checked(capsys, option, value, rule):
    _refused(capsys, _replace(TRAIN, option, value), option, rule, value)


@pytest.mark.parametrize("option, value", [("--batch", "0"), ("--prompt", "-5"),
                                           ("--output", "0"), ("--pue", "nan"),
                                           ("--grid", "-1"), ("--usd-per-device-hour", "-3")])
def test_serving_inputs_are_range_checked(capsys, option, value):
    _refused(capsys, _replace(SERVE, option, value), option)


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_lifetime_tokens_must_be_finite_and_not_negative(capsys, value):
    _refused(capsys, TRAIN + ["--lifetime-tokens", value], "--lifetime-tokens")


def test_the_api_applies_the_same_checks():
    with pytest.raises(EstimateInputError, match="--pue must be a finite number >= 1"):
        estimate_training("gpt3-1.3b", "a100-sxm-80gb", 16, 3e11, pue=float("nan"))
    with pytest.raises(EstimateInputError, match="--tp 3 must divide the 64"):
        estimate_serving("llama2-70b", "h100-sxm", tp=3)
    with pytest.raises(EstimateInputError, match="--usd-per-device-hour"):
        estimate_serving("llama2-7b", "h100-sxm", usd_per_device_hour=-1.0)
    good = estimate_training("gpt3-1.3b", "a100-sxm-80gb", 16, 3e11)
    served = estimate_serving("gpt3-1.3b", "a100-sxm-80gb")
    with pytest.raises(EstimateInputError, match="--lifetime-tokens"):
        lifetime_cost(good, served, -1e12)


def test_json_output_holds_only_finite_numbers(capsys):
    def refuse(constant):
        raise AssertionError(f"{constant} in the JSON output")

    for argv in (TRAIN + ["--json"], SERVE + ["--json"]):
        assert entry(argv) == 0
        json.loads(capsys.readouterr().out, parse_constant=refuse)


@pytest.mark.parametrize("field, value, message", [
    ("cost_usd", -1.0, "came out negative"), ("energy_j", -5.0, "came out negative"),
    ("co2_kg", -0.1, "came out negative"), ("mfu", math.nan, "came out as nan"),
    ("time_s", math.inf, "came out as inf"),
])
def test_an_impossible_result_is_refused_not_reported(field, value, message):
    good = estimate_training("gpt3-1.3b", "a100-sxm-80gb", 16, 3e11)
    assert result(good, "estimate") is good
    with pytest.raises(EstimateOutputError, match=f"estimate: {field} {message}"):
        result({**good, field: value}, "estimate")
    nested = {**good, "step_breakdown_s": {**good["step_breakdown_s"], "bubble_s": math.nan}}
    with pytest.raises(EstimateOutputError, match=r"step_breakdown_s\.bubble_s came out as nan"):
        result(nested, "estimate")
