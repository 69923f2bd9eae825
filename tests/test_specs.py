"""Spec loading: shipped specs validate and cite every number; bad input gets one clear line."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xpusim.core.errors import SpecError, UnknownNameError
from xpusim.core.specs import apply_overrides, read_toml, uncited

H100 = Path(__file__).resolve().parent.parent / "xpusim" / "hardware_specs" / "h100-sxm.toml"


def _write(tmp_path: Path, text: str, name: str = "chip.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _h100_with(tmp_path: Path, old: str, new: str) -> Path:
    text = H100.read_text()
    assert old in text
    return _write(tmp_path, text.replace(old, new, 1))


def test_every_shipped_spec_loads_and_cites_every_number(pm):
    files = pm.spec_files()
    assert {"h100-sxm", "a100-sxm-80gb", "v100-sxm2"} <= set(files)
    for name, path in files.items():
        spec = pm.load_spec(name)
        assert spec.name == name == path.stem
        assert uncited(read_toml(path)) == [], f"{name}: numbers without a [source]"


def test_override_applies_and_changes_the_hash(pm):
    base = pm.load_spec("h100-sxm")
    bf16 = pm.load_spec("h100-sxm", ["compute_format=bf16", "memory.hbm_bandwidth_gbs=1000"])
    assert bf16.params.compute_format == "bf16"
    assert bf16.params.memory.hbm_bandwidth_gbs == 1000.0
    assert bf16.hash != base.hash
    assert pm.load_spec("h100-sxm").hash == base.hash


@pytest.mark.parametrize("old,new,message", [
    ("hbm_bandwidth_gbs = 3350.0", "hbm_bandwith_gbs = 3350.0",
     "h100-sxm.toml: memory.hbm_bandwith_gbs: unknown key (did you mean 'hbm_bandwidth_gbs'?)"),
    ("fp32_tflops = 66.9", "fp32_tflops = -66.9",
     "h100-sxm.toml: peak.fp32_tflops: must be > 0, found -66.9"),
    ("fp32_tflops = 66.9", 'fp32_tflops = "fast"',
     "h100-sxm.toml: peak.fp32_tflops: expected a number, found 'fast'"),
    ("tdp_w = 700.0\n", "",
     "h100-sxm.toml: tdp_w: missing (required key)"),
    ('compute_format = "fp32"', 'compute_format = "fp33"',
     "h100-sxm.toml: compute_format: expected one of"),
    ("master_weights = true", "master_weights = 1",
     "h100-sxm.toml: master_weights: expected true or false, found 1"),
    ("static_power_w = 70.0", "static_power_w = 900.0",
     "h100-sxm.toml: static_power_w: must be below tdp_w (700.0), found 900.0"),
])
def test_bad_values_name_file_key_value_and_expectation(pm, tmp_path, old, new, message):
    path = _h100_with(tmp_path, old, new)
    path = path.rename(tmp_path / "h100-sxm.toml")
    with pytest.raises(SpecError) as info:
        pm.load_spec(str(path))
    assert message in str(info.value)


def test_malformed_toml(pm, tmp_path):
    path = _write(tmp_path, "name = 'x'\nbackend = \n")
    with pytest.raises(SpecError, match=r"chip.toml: malformed TOML"):
        pm.load_spec(str(path))


def test_unknown_backend_and_unknown_spec(pm, tmp_path):
    path = _write(tmp_path, 'name = "x"\nbackend = "gpux"\n')
    with pytest.raises(SpecError, match=r"chip.toml: backend: unknown backend 'gpux'; did you mean 'gpu'"):
        pm.load_spec(str(path))
    with pytest.raises(UnknownNameError, match=r"unknown spec 'h100'; did you mean .*'h100-sxm'"):
        pm.load_spec("h100")


@pytest.mark.parametrize("override,message", [
    ("compute_format", "expected KEY=VALUE"),
    ("=3", "expected KEY=VALUE"),
    ("peak=3", "peak: expected a table of PeakRates keys, found 3"),
    ("peak.fp32_tflops.x=3", "'fp32_tflops' is a value, not a table"),
    ("memory.gemm_tile=2.5", "memory.gemm_tile: expected an integer, found 2.5"),
    ("nonsense_key=1", "nonsense_key: unknown key"),
])
def test_bad_set_overrides(pm, override, message):
    with pytest.raises(SpecError) as info:
        pm.load_spec("h100-sxm", [override])
    assert message in str(info.value)


def test_override_values_are_toml_literals():
    raw = apply_overrides({"a": {"b": 1}}, ["a.b=2.5", "c=true", "d=word", 'e="quoted"'])
    assert raw == {"a": {"b": 2.5}, "c": True, "d": "word", "e": "quoted"}


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.lists(st.sampled_from(["peak", "memory", "mac_energy", "fp32_tflops", "tdp_w",
                                      "compute_format", "gemm_tile", "x"]), min_size=1, max_size=3),
       value=_values)
def test_fuzzed_spec_never_raises_anything_but_spec_error(pm, tmp_path, path, value):
    raw = tomllib.loads(H100.read_text())
    node = raw
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value
    from xpusim.core.specs import spec_from_dict

    try:
        spec_from_dict(raw, pm.params_class, where="fuzz.toml")
    except SpecError as exc:
        assert str(exc).startswith("fuzz.toml: ")
