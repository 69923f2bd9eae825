"""The conformance suite (``xpusim.testing``) over every built-in backend and method.

Targets are discovered at collection time, so backends and methods added later are covered.
Entry-point plugins are not loaded here (they have their own tests).
"""

from __future__ import annotations

from xpusim.core.plugins import get_plugin_manager
from xpusim.testing import parametrize_with_checks

PM = get_plugin_manager(autoload=False)
TARGETS = sorted(PM.backends) + sorted(PM.methods)

#: {target: {check: why}} for known, reported gaps (strict xfails: remove when fixed).
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}


def test_every_builtin_is_a_target():
    assert "gpu" in TARGETS and "backprop" in TARGETS


@parametrize_with_checks(TARGETS, pm=PM, expected_failed_checks=EXPECTED_FAILED_CHECKS)
def test_conformance(target, check):
    check(target)
