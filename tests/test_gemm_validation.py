"""GPU GEMM times against the published measurements of benchmarks/gemm_validation.csv."""

from __future__ import annotations

import importlib.util
import statistics
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("gemm_validation",
                                                  ROOT / "benchmarks" / "gemm_validation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gv = _module()


@pytest.fixture(scope="module")
def rows():
    return gv.evaluate(gv.load_cases())


@pytest.fixture(scope="module")
def goal(rows):
    return [r for r in rows if gv.in_goal(r)]


def test_every_case_names_its_source_and_role(pm):
    cases = gv.load_cases()
    assert len(cases) > 500
    for gpu in {c["gpu"] for c in cases}:
        assert pm.load_spec(gpu).backend == "gpu"
    for c in cases:
        assert c["source"] and c["reference"], c
        assert c["role"] in ("calibration", "validation", "reported"), c
        assert c["format"] in gv.SPEC_FORMAT, c
        assert c["tflops"] > 0 and min(c["m"], c["n"], c["k"]) > 0, c
        if c["role"] == "reported":
            assert c["note"], f"a reported row says why it is out of the goal: {c}"


def test_the_goal_covers_a100_and_h100_in_every_format(goal):
    assert len(goal) >= 80
    assert {r["gpu"] for r in goal} == set(gv.GOAL_GPUS)
    assert {r["format"] for r in goal if r["gpu"] == "h100-sxm"} >= {"bf16", "fp16", "tf32",
                                                                      "fp8-e4m3"}


def test_median_error_within_goal(goal):
    assert statistics.median(abs(r["error"]) for r in goal) <= gv.GOAL_MEDIAN


@pytest.mark.xfail(strict=True, reason="3 of 90 cases lie at 15-18 % (docs/validation-gemm.md): "
                   "4096x4096x256 bf16 (XLA, +18 %: the output write overlaps the main loop "
                   "more than the model lets it), 10240^3 fp16 (-16 %, every 10240^3 GEMM of "
                   "that contributor runs 5-10 % below its 8192^3) and 4096x256x4096 bf16 "
                   "(XLA, -15 %)")
def test_no_case_beyond_goal(goal):
    worst = max(goal, key=lambda r: abs(r["error"]))
    assert abs(worst["error"]) <= gv.GOAL_MAX, worst


def test_calibration_rows_reproduce_the_spec_fractions(pm):
    """Each spec's calibrated sustained fraction is the one its calibration row implies."""
    for c in gv.load_cases():
        if c["role"] != "calibration":
            continue
        params = pm.load_spec(c["gpu"]).params
        spec_value = getattr(params.gemm.sustained, gv.SUSTAINED_KEY[c["format"]])
        assert spec_value == pytest.approx(gv.calibrate(c), abs=0.002), c
