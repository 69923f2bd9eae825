"""Studies that can't be tricked: locks through links, writes through links, plugin code in a
study file, huge grids, NaN values, foreign databases, options no method takes."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from xpusim.core.errors import XpusimError
from xpusim.study.cli import study
from xpusim.study.driver import writer_lock
from xpusim.study.spec import StudyError, expand, load_study
from xpusim.study.store import Store

from .conftest import write_study

TINY = "[fixed]\nmodel = 'mlp:64-8-10'\nepochs = 0\n"


def invoke(args):
    return CliRunner().invoke(study, args, standalone_mode=False, catch_exceptions=True)


def test_two_names_of_one_database_share_one_lock(tmp_path):
    db = tmp_path / "real.sqlite"
    link = tmp_path / "alias.sqlite"
    link.symlink_to(db)
    with writer_lock(db):
        with pytest.raises(XpusimError, match="another study driver is writing to it"):
            with writer_lock(link):
                pass


def test_the_lock_file_is_never_opened_through_a_link(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    db = tmp_path / "s.sqlite"
    (tmp_path / "s.sqlite.lock").symlink_to(target)
    with pytest.raises(XpusimError, match="cannot open the study lock file"):
        with writer_lock(db):
            pass
    assert target.read_text() == "keep me"


def test_no_database_is_created_through_a_link(tmp_path):
    link = tmp_path / "s.sqlite"
    link.symlink_to(tmp_path / "elsewhere.sqlite")
    with pytest.raises(XpusimError, match="link to no existing database"):
        Store(link)
    assert not (tmp_path / "elsewhere.sqlite").exists()


def test_a_foreign_sqlite_file_is_refused_and_left_alone(tmp_path):
    other = tmp_path / "app.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE users (id INTEGER)")
    con.commit()
    con.close()
    before = other.read_bytes()
    path = write_study(tmp_path, TINY)
    res = invoke(["run", str(path), "--db", str(other), "--executor", "serial", "-q"])
    assert isinstance(res.exception, XpusimError)
    assert "not an xpusim study database (it holds tables users)" in str(res.exception)
    assert other.read_bytes() == before


@pytest.fixture(scope="module")
def small_db(tmp_path_factory, pm):
    db = tmp_path_factory.mktemp("hostile") / "s.sqlite"
    from xpusim.study import run_study

    s = expand({"name": "s", "fixed": {"model": "mlp:64-8-10", "epochs": 1},
                "axes": {"method": ["fa", "dfa"], "seed": [0, 1]}}, pm=pm)
    run_study(s, db=db, executor="serial", progress=False)
    return db


@pytest.mark.parametrize("name", ["report.md", "summary.csv"])
def test_report_never_writes_through_a_link(small_db, tmp_path, name):
    out = tmp_path / "rep"
    out.mkdir()
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    (out / name).symlink_to(target)
    res = invoke(["report", str(small_db), "--out", str(out)])
    assert isinstance(res.exception, XpusimError) and "symbolic link" in str(res.exception)
    assert target.read_text() == "keep me"


def test_report_folder_that_is_a_link_is_refused(small_db, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "rep").symlink_to(tmp_path / "real")
    res = invoke(["report", str(small_db), "--out", str(tmp_path / "rep")])
    assert isinstance(res.exception, XpusimError) and "symbolic link" in str(res.exception)
    assert not list((tmp_path / "real").iterdir())


def test_export_never_writes_through_a_link(small_db, tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    (tmp_path / "x.csv").symlink_to(target)
    res = invoke(["export", str(small_db), "--csv", str(tmp_path / "x.csv")])
    assert isinstance(res.exception, XpusimError) and "symbolic link" in str(res.exception)
    assert target.read_text() == "keep me"


def test_report_plots_every_swept_axis_and_names_identical_rules(small_db, tmp_path):
    from xpusim.study.report import write_report

    md = write_report(small_db, tmp_path / "rep").read_text()
    assert (tmp_path / "rep" / "vs_method.png").stat().st_size > 10_000
    assert "![against method](vs_method.png)" in md
    assert not (tmp_path / "rep" / "vs_seed.png").exists()  # seeds are the error bars
    assert ("**dfa** and **fa** gave the same accuracy after every epoch and the same costs "
            "on all 2 runs") in md
    assert "dynamic training energy" in md


def test_thirty_configurations_get_thirty_different_line_styles():
    from xpusim.study.report import styles

    st = styles(30)
    assert len(set(st)) == 30
    assert len({c for c, _, _ in st[:10]}) == 10  # the first ten differ by colour alone


def _plugin_study(tmp_path, plugin_name="evil.py", extra=""):
    marker = tmp_path / "executed"
    sub = tmp_path / "studies"
    sub.mkdir(exist_ok=True)
    (sub / plugin_name).write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    path = write_study(sub, TINY + extra + f"[options]\nplugins = [{plugin_name!r}]\n")
    return path, marker


def test_study_plugins_need_the_opt_in_flag(tmp_path):
    path, marker = _plugin_study(tmp_path)
    res = invoke(["run", str(path), "--executor", "serial", "-q"])
    assert isinstance(res.exception, StudyError)
    assert "load only with --allow-plugins" in str(res.exception)
    assert not marker.exists()


def test_study_plugins_never_load_on_a_dry_run(tmp_path):
    path, marker = _plugin_study(tmp_path)
    res = invoke(["run", str(path), "--dry-run", "--allow-plugins"])
    assert res.exception is None, res.output
    assert not marker.exists()


def test_study_plugins_never_load_when_the_file_is_invalid(tmp_path):
    path, marker = _plugin_study(tmp_path, extra="[axes]\nseed = []\n")
    res = invoke(["run", str(path), "--allow-plugins"])
    assert isinstance(res.exception, StudyError) and "empty list" in str(res.exception)
    assert not marker.exists()


def test_study_plugin_paths_are_relative_to_the_study_file(tmp_path, monkeypatch):
    path, marker = _plugin_study(tmp_path)
    monkeypatch.chdir(tmp_path)  # not the study file's folder
    load_study(path, allow_plugins=True)
    assert marker.exists()


def test_a_study_plugin_never_shadows_a_standard_module(tmp_path):
    path, marker = _plugin_study(tmp_path, plugin_name="json.py")
    with pytest.raises(XpusimError, match="a module named 'json' is already installed"):
        load_study(path, allow_plugins=True)
    assert not marker.exists()


def test_large_grids_need_yes(tmp_path):
    path = write_study(tmp_path, TINY.replace("epochs = 0\n", "") +
                       "[axes]\nseed = [0, 1, 2, 3]\nepochs = [0, 1, 2, 3]\n"
                       "batch_size = [1, 2, 4, 8, 16, 32, 64, 128]\n"
                       "lr = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]\n")
    res = invoke(["run", str(path), "--dry-run"])
    assert isinstance(res.exception, StudyError)
    assert "the grid has 1,024 points, more than 1,000" in str(res.exception)
    assert "pass --yes" in str(res.exception)
    with pytest.raises(StudyError, match="the grid has 1,024 points"):
        load_study(path, max_runs=1000)


@pytest.mark.parametrize("snippet,label", [
    ("[fixed]\nlr = nan\n", "fixed.lr"),
    ("[fixed]\nmomentum = nan\n", "fixed.momentum"),
    ("[fixed]\nlifetime_inferences = nan\n", "fixed.lifetime_inferences"),
    ("[fixed]\nlifetime_inferences = inf\n", "fixed.lifetime_inferences"),
    ("[axes]\nlr = [0.1, -inf]\n", "axes.lr[1]"),
    ("[fixed.set]\ntdp_w = nan\n", "fixed.set.tdp_w"),
    ("[axes.set]\ntdp_w = [100.0, nan]\n", "axes.set.tdp_w[1]"),
    ("[fixed.option]\nfeedback_scale = nan\n", "fixed.option.feedback_scale"),
])
def test_nan_and_inf_are_refused_everywhere(pm, snippet, label):
    import tomllib

    with pytest.raises(StudyError) as err:
        expand(tomllib.loads(snippet), pm=pm)
    assert f"{label}: expected a finite number" in str(err.value)


def test_seed_and_momentum_ranges(pm):
    with pytest.raises(StudyError, match=r"axes.seed\[1\]: must be >= 0"):
        expand({"axes": {"seed": [0, -1]}}, pm=pm)
    with pytest.raises(StudyError, match=r"fixed.momentum: must be in \[0, 1\)"):
        expand({"fixed": {"momentum": 1.5}}, pm=pm)


def test_an_option_no_method_takes_is_an_error_before_any_run(pm):
    with pytest.raises(StudyError) as err:
        expand({"axes": {"method": ["backprop", "dfa"], "option": {"hidden_epochs": [1, 5]}}},
               pm=pm)
    assert ("axes.option.hidden_epochs: no method of this study takes this option "
            "(backprop: none; dfa: feedback_scale)") in str(err.value)


def test_an_option_applies_only_to_the_methods_that_take_it(pm):
    s = expand({"fixed": {"model": "mlp:64-8-10"},
                "axes": {"method": ["backprop", "dfa"], "option": {"feedback_scale": [0.1, 0.2]},
                         "seed": [0, 1]}}, pm=pm)
    by_method: dict[str, list] = {}
    for r in s.runs:
        by_method.setdefault(r.config.method, []).append(dict(r.config.options))
    assert by_method["backprop"] == [{}, {}]  # once per seed, not once per value
    assert sorted(o["feedback_scale"] for o in by_method["dfa"]) == [0.1, 0.1, 0.2, 0.2]
    assert "option feedback_scale: not taken by backprop (those run without it)" in s.notes
