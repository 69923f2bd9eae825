"""Deliberately broken copies of a small plugin are each caught by the suite, by name."""

from __future__ import annotations

import pytest
from toy import VARIANTS, write_toy

from xpusim.core.plugins import get_plugin_manager
from xpusim.testing import ConformanceError, check_backend, run_checks

#: variant -> (the check that must fail, words its message must contain)
CAUGHT = {
    "twin_mismatch": ("check_twins_match", ["'matmul'", "rtol"]),
    "negative_energy": ("check_cost_valid", ["negative", "mvm"]),
    "hook_raises": ("check_hook_types", ["'toy_hook_raises'", "xpusim_cost_kernels",
                                         "RuntimeError", "boom"]),
    "claims_foreign": ("check_foreign_spec_ignored", ["'toy_claims_foreign'",
                                                      "xpusim_compute_kernels"]),
    "ignores_count": ("check_cost_linear_in_count", ["not linear in count", "time_s"]),
    "not_additive": ("check_cost_additive", ["not additive", "time_s"]),
    "nondeterministic": ("check_seed_determinism", ["seed 0 differ"]),
    "uncited": ("check_specs_load", ["[source]", "static_power_w"]),
    "untwinned_kernel": ("check_kernels_have_twins", ["compute kernel 'clip'"]),
    "dead_kernel": ("check_registered_kernels_run", ["matmul_t never ran", "toy_dead_kernel"]),
    "inference_only_leaky": ("check_undeclared_primitives_refused", ["'update'"]),
    "no_capabilities": ("check_capabilities", ["declares no capabilities"]),
    "beats_its_peak": ("check_capabilities", ["above the declared fp32 peak"]),
}


def _results(tmp_path, variant):
    pm = get_plugin_manager([str(write_toy(tmp_path, variant))], autoload=False)
    return {r.name: r for r in run_checks(pm, "toy")}


def test_every_variant_is_covered():
    assert set(CAUGHT) | {"good", "import_error", "inference_only"} == set(VARIANTS)


def test_good_toy_passes_every_check(tmp_path):
    results = _results(tmp_path, "good")
    failed = {n: r.message for n, r in results.items() if not r.passed}
    assert not failed
    assert results["check_undeclared_primitives_refused"].status == "skipped"
    assert sum(r.status == "passed" for r in results.values()) == len(results) - 1


def test_inference_only_toy_refuses_training_primitives(tmp_path):
    results = _results(tmp_path, "inference_only")
    assert results["check_undeclared_primitives_refused"].status == "passed"
    assert results["check_tiny_run_learns"].status == "skipped"
    assert all(r.passed for r in results.values())


@pytest.mark.parametrize("variant", sorted(CAUGHT))
def test_broken_variant_is_caught(tmp_path, variant):
    check, words = CAUGHT[variant]
    results = _results(tmp_path, variant)
    assert results[check].status == "failed", results[check]
    for word in words:
        assert word in results[check].message
    with pytest.raises(ConformanceError, match="failed"):
        check_backend("toy", pm=get_plugin_manager([str(write_toy(tmp_path, variant))],
                                                    autoload=False))


def test_expected_failures_are_reported_as_xfail(tmp_path):
    pm = get_plugin_manager([str(write_toy(tmp_path, "twin_mismatch"))], autoload=False)
    results = {r.name: r for r in run_checks(
        pm, "toy", expected_failed_checks={"check_twins_match": "known: kernel off by 1e-3"})}
    assert results["check_twins_match"].status == "xfailed"
    assert "known: kernel off by 1e-3" in results["check_twins_match"].message
    # an expected failure that passes is itself a failure (so stale entries get removed)
    good = get_plugin_manager([str(write_toy(tmp_path, "good"))], autoload=False)
    results = {r.name: r for r in run_checks(
        good, "toy", expected_failed_checks={"toy": {"check_twins_match": "stale"}})}
    assert results["check_twins_match"].status == "failed"
    assert "but passed" in results["check_twins_match"].message


def test_unknown_name_is_one_failed_result():
    results = run_checks(get_plugin_manager(autoload=False), "gpux")
    assert [r.status for r in results] == ["failed"]
    assert "unknown backend or method 'gpux'" in results[0].message
    assert "did you mean 'gpu'" in results[0].message
