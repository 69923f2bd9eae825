"""The xpusim conformance suite: checks a hardware backend or training method must pass.

Use it from a plugin's tests (opt-in, like pytest's ``pytester``)::

    # conftest.py
    pytest_plugins = ["xpusim.testing"]

    # test_conformance.py
    from xpusim.testing import parametrize_with_checks

    @parametrize_with_checks(["photonic"])
    def test_conformance(target, check):
        check(target)

or in one call, ``check_backend("photonic")``, which raises the first failure. The fixtures
``xpusim_pm``, ``tiny_trace``, ``tiny_run`` and ``hook_recorder`` come with the pytest plugin;
``run_checks(plugins, name)`` is what ``xpusim plugins --check`` runs. ``price_twin`` and
``TraceRows`` shorten the twin of a cost kernel. Nothing here needs pytest except the
decorator and the fixtures.
"""

from __future__ import annotations

from .checks import (BACKEND_CHECKS, METHOD_CHECKS, BackendUnderTest, CheckResult, CheckSkipped,
                     ConformanceError, MethodUnderTest, check_backend, check_method,
                     compare_twin, parametrize_with_checks, run_checks)
from .template import spec_template
from .twins import TraceRows, jitter, price_args, price_twin, spec_params

try:  # the pytest plugin part: only when pytest is installed
    import pytest as _pytest
except ImportError:  # pragma: no cover - CLI use without pytest
    _pytest = None

if _pytest is not None:
    from .fixtures import (HookRecorder, hook_recorder, tiny_run, tiny_trace,  # noqa: F401
                           xpusim_plugins, xpusim_pm)

    def pytest_addoption(parser):  # noqa: ANN001, ANN201 - pytest hook
        parser.addini("xpusim_plugins", type="linelist", default=[],
                      help="plugin modules (names or .py paths) the xpusim_pm fixture loads")

__all__ = [
    "BACKEND_CHECKS", "METHOD_CHECKS", "BackendUnderTest", "CheckResult", "CheckSkipped",
    "ConformanceError", "MethodUnderTest", "check_backend", "check_method", "compare_twin",
    "parametrize_with_checks", "run_checks", "spec_template", "TraceRows", "jitter",
    "price_args", "price_twin", "spec_params",
]
