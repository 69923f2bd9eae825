"""The published runs of xpusim/llm/validation/cases.toml: every case is cited and priced, and
the goals of docs/validation-llm.md are asserted on the scored ones (median |error| <= 10 %; for
training also on the cases held out from the stacks' calibration)."""

from __future__ import annotations

import math
import statistics

import pytest

from xpusim.llm.stacks import get_stack, list_stacks
from xpusim.llm.validation import (QUANTITIES, calibration_cases, load_cases, model_of, run_all,
                                   summary)

GOAL = 0.10


@pytest.fixture(scope="module")
def outcomes():
    return run_all()


def test_every_case_is_cited_and_well_formed():
    cases = load_cases()
    assert sum(c.kind == "training" for c in cases) >= 60
    assert sum(c.kind == "serving" for c in cases) >= 60
    for c in cases:
        assert c.source and c.verified, c.label
        assert c.quantity in QUANTITIES, c.label
        assert c.published > 0, c.label
        assert c.scored or c.unscored, f"{c.label}: an unscored case says why"
        m = model_of(c)
        assert all(k in m.sources for k in ("layers", "d_model", "heads", "vocab")), c.label


def test_every_case_is_priced_or_refused_with_a_reason(outcomes):
    for o in outcomes:
        if o.refused:
            assert "does not fit" in o.refused and not o.scored
        else:
            assert math.isfinite(o.estimate) and o.estimate > 0, o.case.label


def test_serving_meets_the_goal(outcomes):
    s = summary(outcomes)["serving"]
    assert s["cases"] >= 60
    assert s["median_abs_error"] <= GOAL, s


def test_training_meets_the_goal_on_the_held_out_cases(outcomes):
    """The goal on every scored case and, the honest number, on the cases no calibration saw."""
    s = summary(outcomes)["training"]
    assert s["cases"] >= 80 and s["held_out"]["cases"] >= 50, s
    assert s["median_abs_error"] <= GOAL, s
    assert s["held_out"]["median_abs_error"] <= GOAL, s["held_out"]


def test_every_training_case_names_its_stack_and_its_role():
    for c in load_cases():
        if c.kind == "training":
            stack = get_stack(c.stack, flash_attention=c.attention)
            assert c.stack_source, c.label
            assert c.role in ("calibration", "validation"), c.label
            assert stack.name == c.stack


def test_each_calibrated_number_is_fitted_on_its_own_calibration_cases_only(outcomes):
    """A stack's gemm_efficiency is the one at which its calibration cases' median error is
    zero; a stack with no calibration case has none (1); no case is both fitted and held out."""
    cases = load_cases()
    for name in list_stacks():
        stack = get_stack(name)
        chosen = calibration_cases(name, cases)
        if not chosen:
            assert stack.gemm_efficiency == 1.0, name
            continue
        assert stack.gemm_efficiency < 1.0, name
        errors = [o.error for o in outcomes if o.case in chosen]
        assert len(errors) == len(chosen)
        assert abs(statistics.median(errors)) <= 0.01, (name, statistics.median(errors))
    for c in cases:  # every calibration case is used by the fit of the stack it ran on
        if c.role == "calibration":
            assert c.kind == "training" and c.scored and get_stack(c.stack).gemm_efficiency < 1


def test_the_search_finds_the_published_layout_or_a_faster_one():
    for c in load_cases():
        if c.kind == "training" and c.label in ("Megatron GPT 1T", "MPT-7b 2048 tok, 8 x A100 "
                                                "80GB", "MT-NLG 530B, 280 DGX A100"):
            from xpusim.llm.validation import run
            o = run(c, search=True)
            assert o.search == "the published layout" or o.search.startswith("faster"), o.search
