"""The opt-in pytest plugin: parametrize_with_checks ids/xfails and the fixtures, end to end."""

from __future__ import annotations

from toy import write_toy

from xpusim.testing import BACKEND_CHECKS


def test_parametrize_with_checks_ids_and_xfail(pytester, tmp_path):
    good = write_toy(tmp_path, "good")
    broken = write_toy(tmp_path, "twin_mismatch")
    pytester.makepyfile(f'''
        from xpusim.testing import parametrize_with_checks

        @parametrize_with_checks(["toy"], plugins=[{str(good)!r}])
        def test_good(target, check):
            check(target)

        @parametrize_with_checks(["toy"], plugins=[{str(broken)!r}],
                                 expected_failed_checks={{"check_twins_match": "known bug"}})
        def test_broken(target, check):
            check(target)
    ''')
    result = pytester.runpytest_inprocess("-v", "-rx", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*test_good[[]toy-check_twins_match[]] PASSED*",
                                 "*test_broken[[]toy-check_twins_match[]] XFAIL*",
                                 "XFAIL*test_broken[[]toy-check_twins_match[]]*known bug*"])
    outcomes = result.parseoutcomes()
    n = len(BACKEND_CHECKS)  # per test: one skip (no undeclared primitive); one xfail
    assert outcomes == {"passed": 2 * n - 3, "skipped": 2, "xfailed": 1}, outcomes


def test_parametrize_with_checks_reports_a_broken_kernel(pytester, tmp_path):
    broken = write_toy(tmp_path, "twin_mismatch")
    pytester.makepyfile(f'''
        from xpusim.testing import parametrize_with_checks

        @parametrize_with_checks(["toy"], plugins=[{str(broken)!r}])
        def test_broken(target, check):
            check(target)
    ''')
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, passed=len(BACKEND_CHECKS) - 2, skipped=1)
    result.stdout.fnmatch_lines(["E*ConformanceError: kernel 'matmul' vs its twin (seed 0)*"])


def test_fixtures(pytester, tmp_path):
    good = write_toy(tmp_path, "good")
    pytester.makeini(f"[pytest]\nxpusim_plugins =\n    {good}\n")
    pytester.makeconftest('pytest_plugins = ["xpusim.testing"]')
    pytester.makepyfile('''
        from xpusim.core.ledger import price

        def test_pm_has_plugin_under_test(xpusim_pm):
            assert "toy" in xpusim_pm.backends and "gpu" in xpusim_pm.backends

        def test_tiny_trace_prices(xpusim_pm, tiny_trace):
            spec = xpusim_pm.load_spec("toy_good")
            ledger = price(tiny_trace, xpusim_pm.cost_model(spec))
            assert len(tiny_trace) == 6 and ledger.total_energy_j > 0

        def test_tiny_run_and_recorder(tiny_run, hook_recorder):
            r = tiny_run("toy_good")
            assert r.status == "ok" and r.config["cost_kernels"] == "toy_good"
            calls = hook_recorder.assert_called("xpusim_cost_kernels", plugin="toy_good")
            assert calls[0].kwargs["spec"].backend == "toy"
            assert type(calls[0].result).__name__ == "CostModel"
            assert not hook_recorder.getcalls("xpusim_register_methods", plugin="nobody")

        def test_recorder_sees_direct_hook_calls(xpusim_pm, hook_recorder):
            specs = xpusim_pm.pm.hook.xpusim_spec_dirs()
            assert hook_recorder.calls[-1].hook == "xpusim_spec_dirs"
            assert hook_recorder.calls[-1].result == specs
            assert hook_recorder.getcalls("xpusim_spec_dirs", plugin="toy_good")

        def test_recorder_patches_nothing(xpusim_pm):
            from xpusim.testing import HookRecorder

            impls = [i for name in dir(xpusim_pm.pm.hook) if name.startswith("xpusim_")
                     for i in xpusim_pm.hook(name).get_hookimpls()]
            before = [i.function for i in impls]
            rec = HookRecorder(xpusim_pm)
            xpusim_pm.methods
            assert [i.function for i in impls] == before
            assert rec.assert_called("xpusim_register_methods")[0].error is None
            rec.finish_recording()
            xpusim_pm.call("xpusim_register_methods")
            assert len(rec.getcalls("xpusim_register_methods")) == 1
    ''')
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
