"""Systolic accuracy on digits (mlp:64-256-10, backprop, Adam, 20 epochs, 2 seeds): the targets
for int8 serving and int8 training. int4 and lower have no threshold; their
numbers are in docs/backends/systolic.md (benchmarks/systolic_table.py)."""

from __future__ import annotations

import numpy as np
import pytest

import xpusim

SEEDS = (0, 1)
INT8 = [f"numerics.{k}=int8" for k in ("weights", "activations", "errors", "outputs")]


def mean_acc(pm, **kw):
    return float(np.mean([xpusim.run(epochs=20, seed=s, pm=pm, **kw).final_test_accuracy
                          for s in SEEDS]))


@pytest.fixture(scope="module")
def fp32(pm):
    return mean_acc(pm, hardware="h100-sxm")


@pytest.mark.slow
def test_int8_serving_of_an_fp32_model_loses_at_most_one_point(pm, fp32):
    served = mean_acc(pm, hardware="h100-sxm", serve_on="tpu-v1", serve_set=INT8)
    assert served >= fp32 - 0.01, (served, fp32)


@pytest.mark.slow
def test_int8_training_without_master_copy_within_two_points(pm, fp32):
    """8-bit weights (no fp32 copy), activations and errors; stochastic-rounded updates."""
    trained = mean_acc(pm, hardware="tpu-v1",
                       set=INT8 + ["numerics.master_weights=false",
                                   "numerics.update_rounding=stochastic"])
    assert trained >= fp32 - 0.02, (trained, fp32)


@pytest.mark.slow
def test_stochastic_rounding_matters_for_low_precision_storage(pm):
    """Without a master copy, nearest rounding of int4 weights swallows Adam's small steps;
    stochastic rounding keeps them in expectation (Gupta et al. 2015)."""
    base = ["numerics.weights=int4", "numerics.master_weights=false"]
    sr = mean_acc(pm, hardware="tpu-v1", set=base + ["numerics.update_rounding=stochastic"])
    rn = mean_acc(pm, hardware="tpu-v1", set=base + ["numerics.update_rounding=nearest"])
    assert sr > rn + 0.02, (sr, rn)
