"""Spec values that no hardware has are refused with one line naming the key, before any work:
non-finite or subnormal numbers, sizes beyond physical (and int64) bounds, TOML dates, deep
nesting, floods of unknown keys; and a device that produces non-finite values ends a run as
diverged."""

from __future__ import annotations

from pathlib import Path

import pytest

from xpusim.core import specs
from xpusim.core.errors import SpecError
from xpusim.core.plugins import get_plugin_manager
from xpusim.core.specs import numeric_paths, read_toml

SPECS = sorted(get_plugin_manager(autoload=False).spec_files())


def _refused(pm, spec: str, override: str, *words: str) -> str:
    with pytest.raises(SpecError) as info:
        pm.load_spec(spec, [override])
    msg = str(info.value)
    for word in (f"{spec}.toml", *words):
        assert word in msg, msg
    return msg


@pytest.mark.parametrize("spec", SPECS)
def test_every_number_of_every_spec_refuses_infinity(pm, spec):
    """``inf`` and ``1e400`` (which TOML reads as inf) are refused for every numeric key."""
    keys = numeric_paths(read_toml(pm.spec_files()[spec]))
    assert len(keys) >= 5
    for key in keys:
        for value in ("inf", "-1e400", "nan"):
            msg = _refused(pm, spec, f"{key}={value}", key)
            assert "must be a finite number" in msg or "expected an integer" in msg, msg


@pytest.mark.parametrize("spec, key", [("h100-sxm", "memory.hbm_bandwidth_gbs"),
                                       ("tpu-v1", "memory.dram_bandwidth_gbs"),
                                       ("loihi", "time.synop_ns")])
def test_a_subnormal_rate_is_refused(pm, spec, key):
    """5e-324 GB/s is positive, but 5e-324 x 1e9 B/s prices a transfer at Infinity seconds."""
    _refused(pm, spec, f"{key}=5e-324", key, "subnormal")


@pytest.mark.parametrize("spec, override, words", [
    ("tpu-v1", "array_rows=9223372036854775807", ["array_rows", "at most 2**53"]),
    ("tpu-v1", "array_rows=100000", ["array_rows", "<= 65536"]),
    ("tpu-v4", "num_arrays=1000000", ["num_arrays", "<= 65536"]),
    ("tpu-v1", "mac_bits=128", ["mac_bits", "<= 64"]),
    ("pcm-hermes", "adc.bits=1000", ["adc.bits", "<= 32"]),
    ("pcm-hermes", "dac.bits=64", ["dac.bits", "<= 32"]),
    ("loihi", "mesh.cores=9223372036854775807", ["mesh.cores"]),
    ("loihi", "timesteps=100000000", ["timesteps", "<= 65536"]),
])
def test_physical_bounds(pm, spec, override, words):
    _refused(pm, spec, override, *words)


def test_the_widest_converter_still_loads(pm):
    ok = pm.load_spec("pcm-hermes", ["adc.bits=32"])
    assert ok.params.adc.bits == 32


def test_toml_dates_are_named_not_internal_errors(pm, tmp_path):
    _refused(pm, "h100-sxm", "tdp_w=1979-05-27", "tdp_w", "the TOML date 1979-05-27")
    _refused(pm, "h100-sxm", "memory.hbm_bandwidth_gbs=07:32:00", "the TOML time 07:32:00")
    text = (Path(pm.spec_files()["h100-sxm"]).read_text()
            .replace("tdp_w = 700", "tdp_w = 1979-05-27T07:32:00"))
    path = tmp_path / "dated.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match=r"dated.toml: tdp_w: expected a number, found the "
                                        r"TOML datetime 1979-05-27T07:32:00"):
        pm.load_spec(path)
    path.write_text('name = "d"\nbackend = 2024-01-01\n')
    with pytest.raises(SpecError, match="backend: expected a string, found the TOML date"):
        pm.load_spec(path)


@pytest.mark.parametrize("depth", [17, 1000, 5000])
def test_deep_nesting_is_one_clear_error(pm, tmp_path, depth):
    keys = ".".join(["a"] * depth)
    path = tmp_path / "deep.toml"
    path.write_text(f'name = "deep"\nbackend = "gpu"\n[{keys}]\nx = 1\n')
    with pytest.raises(SpecError, match=r"deep.toml: a.a.a...: tables or arrays nested more "
                                        r"than 16 deep"):
        pm.load_spec(path)
    path.write_text(f'name = "deep"\nbackend = "gpu"\nx = {"[" * depth}1{"]" * depth}\n')
    with pytest.raises(SpecError, match="deep.toml: .*nested"):
        pm.load_spec(path)
    with pytest.raises(SpecError, match=r"--set a.a.a...: a key \d+ tables deep"):
        pm.load_spec("h100-sxm", [f"{keys}=1"])
    with pytest.raises(SpecError, match="--set tdp_w: .*nest"):
        pm.load_spec("h100-sxm", [f"tdp_w={'[' * depth}{']' * depth}"])


def test_sixteen_levels_still_load_as_unknown_keys(pm):
    with pytest.raises(SpecError, match=r"h100-sxm.toml: a: unknown key"):
        pm.load_spec("h100-sxm", [".".join(["a"] * 16) + "=1"])


def test_a_flood_of_unknown_keys_lists_twenty_and_counts_the_rest(pm, tmp_path, monkeypatch):
    text = Path(pm.spec_files()["h100-sxm"]).read_text()
    junk = "\n".join(f"junk_{i:05d} = {i}" for i in range(5000))
    first_table = text.index("\n[")
    path = tmp_path / "flood.toml"
    path.write_text(text[:first_table] + "\n" + junk + "\n" + text[first_table:])
    calls = []
    real = specs.did_you_mean
    monkeypatch.setattr(specs, "did_you_mean", lambda *a: calls.append(a) or real(*a))
    with pytest.raises(SpecError) as info:
        pm.load_spec(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 21
    assert lines[0] == "flood.toml: junk_00000: unknown key"
    assert lines[19] == "flood.toml: junk_00019: unknown key"
    assert lines[20].startswith("flood.toml: (top level): 4980 more unknown keys not listed "
                                "(known: peak, mac_energy, memory")
    assert len(calls) == 20  # did-you-mean runs for the listed keys only


NAN_GEMM = '''
import numpy as np
from xpusim import hookimpl
from xpusim.plugins.hardware.gpu import compute
STATE = {"calls": 0, "nan_after": 10}

def nan_gemm(a, b, fmt):
    STATE["calls"] += 1
    out = compute.gemm(a, b, fmt)
    return out * np.float32("nan") if STATE["calls"] > STATE["nan_after"] else out

@hookimpl(wrapper=True)
def xpusim_compute_kernels(spec):
    base = yield
    return base.replace(gemm=nan_gemm) if spec.backend == "gpu" else base
'''


@pytest.mark.parametrize("when, where", [("training", "training diverged at step"),
                                         ("serving", "inference diverged")])
def test_non_finite_device_outputs_end_the_run_as_diverged(tmp_path, when, where):
    """A device whose products turn NaN mid-training, or only when serving, is diverged."""
    import sys

    from xpusim.core.results import RunConfig
    from xpusim.core.scheduler import run

    path = tmp_path / f"xpusim_nangemm_{when}.py"
    path.write_text(NAN_GEMM)
    pm = get_plugin_manager([str(path)], autoload=False)
    state = sys.modules[f"xpusim_nangemm_{when}"].STATE
    if when == "serving":  # NaN from the first product after the last epoch's evaluation
        state["nan_after"] = float("inf")

    def after_epoch(epoch, accuracy, loss):
        state["nan_after"] = min(state["nan_after"], state["calls"])

    r = run(RunConfig(epochs=1, model="mlp:64-16-10"), plugins=pm,
            on_epoch=after_epoch if when == "serving" else None)
    assert r.status == "diverged", r.status
    assert where in r.failure and "non-finite" in r.failure, r.failure
