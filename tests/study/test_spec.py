"""Study files: expansion, stable hashes, and every error reported before any run."""

from __future__ import annotations

import pytest

from xpusim.core.plugins import get_plugin_manager
from xpusim.core.results import RunConfig
from xpusim.study.spec import StudyError, expand, load_study

from .conftest import write_study


def study(**parts):
    raw = {"name": "t", "fixed": {"model": "mlp:64-16-10", "epochs": 1}}
    raw.update(parts)
    return raw


def test_expansion_is_the_grid_in_file_order(pm):
    s = expand(study(axes={"hardware": ["h100-sxm", "a100-sxm-80gb"], "seed": [0, 1, 2],
                           "set": {"compute_format": ["fp32", "bf16"]}}), pm=pm)
    assert len(s.runs) == 12
    assert s.axes == ("hardware", "seed", "set.compute_format")
    first, last = dict(s.runs[0].point), dict(s.runs[-1].point)
    assert first == {"hardware": "h100-sxm", "seed": 0, "set.compute_format": "fp32"}
    assert last == {"hardware": "a100-sxm-80gb", "seed": 2, "set.compute_format": "bf16"}
    assert s.runs[1].config.overrides == ('compute_format="bf16"',)
    assert len(set(s.hashes)) == 12


def test_hashes_are_stable_and_match_the_scheduler(pm):
    raw = study(axes={"method": ["backprop", "dfa"], "seed": [3]})
    a, b = expand(raw, pm=pm), expand(raw, pm=pm)
    assert a.hashes == b.hashes
    spec = pm.load_spec("h100-sxm")
    cfg = RunConfig(method="dfa", model="mlp:64-16-10", epochs=1, seed=3)
    assert a.runs[1].hash == cfg.hash(spec.hash)
    # A changed spec value changes the hash; the plugin list does not.
    c = expand(study(axes={"method": ["backprop"], "seed": [3]},
                     options={"plugins": []}), pm=pm)
    assert c.runs[0].hash == a.runs[0].hash
    d = expand(study(axes={"method": ["backprop"], "seed": [3]},
                     fixed={"model": "mlp:64-16-10", "epochs": 1,
                            "set": {"static_power_w": 71.0}}), pm=pm)
    assert d.runs[0].hash != a.runs[0].hash


def test_many_problems_are_reported_together(pm):
    raw = {"name": "t", "fixd": {}, "axes": {"hardwre": ["h100-sxm"], "seed": [],
                                           "epochs": [1, "two"]},
           "options": {"skip_incompatibel": True}}
    with pytest.raises(StudyError) as info:
        expand(raw, pm=pm, where="bad.toml")
    msg = str(info.value)
    assert msg.startswith("bad.toml: 5 problems:")
    assert "fixd: unknown key (did you mean 'fixed'?)" in msg
    assert "axes.hardwre: unknown axis (did you mean 'hardware'?)" in msg
    assert "axes.seed: empty list" in msg
    assert "axes.epochs[1]: expected an integer, found 'two'" in msg
    assert "options.skip_incompatibel: unknown option (did you mean 'skip_incompatible'?)" in msg


def test_unknown_names_are_reported_with_close_matches(pm):
    raw = study(axes={"hardware": ["h100-sxn", "a100-sxm-80gb"], "method": ["backprp"],
                      "set": {"compute_fromat": ["fp32"]}})
    with pytest.raises(StudyError) as info:
        expand(raw, pm=pm)
    msg = str(info.value)
    assert "unknown spec 'h100-sxn'; did you mean 'h100-sxm'" in msg
    assert "unknown method 'backprp'; did you mean 'backprop'" in msg
    assert "axes.set.compute_fromat: no hardware in this study has this key " \
           "(did you mean 'compute_format'?)" in msg


def test_bad_override_value_is_reported_before_running(pm):
    with pytest.raises(StudyError, match="compute_format"):
        expand(study(axes={"set": {"compute_format": ["fp32", "fp99"]}}), pm=pm)


def test_model_and_dataset_mismatch(pm):
    with pytest.raises(StudyError, match="takes 32 inputs"):
        expand({"fixed": {"epochs": 1}, "axes": {"model": ["mlp:32-16-10"]}}, pm=pm)


def test_axis_also_fixed_is_an_error(pm):
    with pytest.raises(StudyError, match="axes.epochs: also set in \\[fixed\\]"):
        expand(study(axes={"epochs": [1, 2]}), pm=pm)


def test_incompatible_pairs_listed_unless_skipped(fake_plugin):
    pm = get_plugin_manager((fake_plugin,), autoload=False)
    raw = study(axes={"hardware": ["h100-sxm", "fake-nobwd"], "method": ["backprop", "dfa"]})
    with pytest.raises(StudyError) as info:
        expand(raw, pm=pm)
    msg = str(info.value)
    assert msg.splitlines()[0].startswith("study: incompatible: method 'backprop' needs "
                                          "primitive(s) mvm_t which backend 'nobwd' "
                                          "(spec 'fake-nobwd') does not provide")
    assert msg.splitlines()[1] == ("hint: 1 incompatible method x hardware x model "
                                   "combination(s); change the axes, or set skip_incompatible "
                                   "= true under [options] to skip them")
    raw["options"] = {"skip_incompatible": True}
    s = expand(raw, pm=pm)
    assert [(r.config.hardware, r.config.method) for r in s.runs] == [
        ("h100-sxm", "backprop"), ("h100-sxm", "dfa"), ("fake-nobwd", "dfa")]
    assert s.skipped == ("incompatible: backprop on fake-nobwd with mlp:64-16-10",)


def test_set_axis_applies_only_to_hardware_that_has_the_key(fake_plugin):
    pm = get_plugin_manager((fake_plugin,), autoload=False)
    s = expand(study(axes={"hardware": ["h100-sxm", "fake-nobwd"], "method": ["dfa"],
                           "set": {"adc_bits": [4, 8]}}), pm=pm)
    # h100 has no adc_bits: it runs once, without the override, not twice.
    assert [(r.config.hardware, r.config.overrides) for r in s.runs] == [
        ("h100-sxm", ()), ("fake-nobwd", ("adc_bits=4",)), ("fake-nobwd", ("adc_bits=8",))]
    assert any("adc_bits: does not apply to h100-sxm" in n for n in s.notes)
    with pytest.raises(StudyError, match="adc_bits.*must be <= 16"):
        expand(study(axes={"hardware": ["fake-nobwd"], "method": ["dfa"],
                           "set": {"adc_bits": [4, 99]}}), pm=pm)


def test_exclude_and_empty_grid(pm):
    raw = study(axes={"method": ["backprop", "dfa"], "seed": [0, 1]},
                options={"exclude": [{"method": "dfa", "seed": 1}]})
    s = expand(raw, pm=pm)
    assert [(r.config.method, r.config.seed) for r in s.runs] == [
        ("backprop", 0), ("backprop", 1), ("dfa", 0)]
    raw["options"] = {"exclude": [{"method": "backprop"}, {"method": "dfa"}]}
    with pytest.raises(StudyError, match="empty grid"):
        expand(raw, pm=pm)
    raw["options"] = {"exclude": [{"methd": "dfa"}]}
    with pytest.raises(StudyError, match="not an axis of this study"):
        expand(raw, pm=pm)


def test_load_study_file_errors(tmp_path):
    with pytest.raises(StudyError, match="no such study file"):
        load_study(tmp_path / "missing.toml")
    bad = write_study(tmp_path, "name = 'x'\n[axes\n")
    with pytest.raises(StudyError, match="malformed TOML"):
        load_study(bad)
    ok = write_study(tmp_path, """
        [fixed]
        model = "mlp:64-16-10"
        method = "dfa"
        [axes]
        seed = [0, 1]
        [axes.option]
        feedback_scale = [0.1]
        """, name="my-sweep.toml")
    s = load_study(ok)
    assert s.name == "my-sweep" and len(s.runs) == 2
    assert s.runs[0].config.options == (("feedback_scale", 0.1),)


def test_dotted_set_keys_and_nested_tables_are_the_same(pm):
    a = expand(study(axes={"set": {"memory.hbm_bandwidth_gbs": [1000.0, 2000.0]}}), pm=pm)
    b = expand(study(axes={"set": {"memory": {"hbm_bandwidth_gbs": [1000.0, 2000.0]}}}), pm=pm)
    assert a.hashes == b.hashes
    assert a.runs[0].config.overrides == ("memory.hbm_bandwidth_gbs=1000.0",)
    assert len(set(a.hashes)) == 2


def test_docs_describe_every_key():
    import re
    from pathlib import Path

    from xpusim.study.spec import FIELDS, OPTIONS, TOP_KEYS

    text = (Path(__file__).resolve().parents[2] / "docs" / "studies.md").read_text()
    for key in [*TOP_KEYS, *FIELDS, *OPTIONS, "[fixed.set]", "[axes.set]", "[fixed.option]",
                "[axes.option]", "--retry-failed", "--scheduler", "--executor", "--parquet"]:
        assert re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", text), key


def test_integer_and_float_values_of_float_fields_are_one_run(pm):
    a = expand(study(axes={"lr": [1, 0.5]}), pm=pm)
    b = expand(study(axes={"lr": [1.0, 0.5]}), pm=pm)
    assert a.hashes == b.hashes and a.runs[0].config.lr == 1.0


def test_the_documented_study_file_is_valid(pm):
    """The example in docs/studies.md expands as it stands (every name and key exists)."""
    import tomllib
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "studies.md").read_text()
    block = text.split("```toml", 1)[1].split("```", 1)[0]
    s = expand(tomllib.loads(block), pm=pm)
    assert len(s.runs) > 0
    assert any("set adc.bits: does not apply to h100-sxm" in n for n in s.notes)
    assert any("option feedback_scale: not taken by backprop" in n for n in s.notes)


def test_shipped_example_studies_are_valid_and_documented(pm):
    """examples/studies/*.toml expand without a problem, and the README and docs run them."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = sorted((root / "examples" / "studies").glob("*.toml"))
    assert len(files) >= 2
    docs = (root / "README.md").read_text() + (root / "docs" / "studies.md").read_text()
    for path in files:
        s = load_study(path, pm=pm)
        assert len(s.runs) <= 100, path  # examples stay small enough to run on a laptop
        assert f"examples/studies/{path.name}" in docs or path.name in docs, path.name
    assert "study run examples/studies/" in (root / "README.md").read_text()
