"""Shared fixtures: one plugin manager per session (built-ins only, no entry points)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("XPUSIM_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture(scope="session")
def pm():
    from xpusim.core.plugins import get_plugin_manager

    return get_plugin_manager(autoload=False)
