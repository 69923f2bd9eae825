"""The published runs of xpusim/llm/validation/cases.toml: every case is cited and priced, and
the goals of docs/validation-llm.md are asserted on the scored ones (median |error| <= 10 %)."""

from __future__ import annotations

import math

import pytest

from xpusim.llm.validation import QUANTITIES, load_cases, model_of, run_all, summary

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


@pytest.mark.xfail(strict=True, reason="training estimates on GPUs are faster than the runs "
                   "(median about 27 %): docs/validation-llm.md, 'Where the estimates err'")
def test_training_meets_the_goal(outcomes):
    s = summary(outcomes)["training"]
    assert s["median_abs_error"] <= GOAL, s


def test_the_search_finds_the_published_layout_or_a_faster_one():
    for c in load_cases():
        if c.kind == "training" and c.label in ("Megatron GPT 1T", "MPT-7b 2048 tok, 8 x A100 "
                                                "80GB", "MT-NLG 530B, 280 DGX A100"):
            from xpusim.llm.validation import run
            o = run(c, search=True)
            assert o.search == "the published layout" or o.search.startswith("faster"), o.search
