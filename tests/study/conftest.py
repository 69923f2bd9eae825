"""Fixtures for the study tests: tiny study files and a fake backend without ``mvm_t``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

TINY = {"model": "mlp:64-16-10", "epochs": 1}

FAKE_PLUGIN = '''
"""A backend without mvm_t (so backprop is incompatible) and its own parameter set."""
from pathlib import Path

import attrs

from xpusim import hookimpl
from xpusim.core import BackendInfo
from xpusim.core.specs import quantity
from xpusim.plugins.hardware.gpu.device import GpuDevice


@attrs.frozen
class NoBwdParams:
    adc_bits: int = quantity(unit="bit", doc="ADC resolution", default=8, ge=1, le=16)


@hookimpl
def xpusim_register_backends():
    return [BackendInfo("nobwd", params=NoBwdParams, device=GpuDevice,
                        primitives={"mvm", "update", "elementwise", "reduce", "write"})]


@hookimpl
def xpusim_spec_dirs():
    return [Path(__file__).parent / "specs"]
'''


@pytest.fixture()
def fake_plugin(tmp_path: Path) -> str:
    """Path to a plugin module registering backend ``nobwd`` with spec ``fake-nobwd``."""
    folder = tmp_path / "fakeplug"
    (folder / "specs").mkdir(parents=True)
    (folder / "specs" / "fake-nobwd.toml").write_text(
        'name = "fake-nobwd"\nbackend = "nobwd"\nadc_bits = 8\n')
    path = folder / "xpusim_fake_nobwd.py"
    path.write_text(FAKE_PLUGIN)
    return str(path)


def write_study(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path
