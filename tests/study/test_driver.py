"""The driver and the store: skip on restart, failures stored with reasons, DataFrame."""

from __future__ import annotations

import json
import sqlite3

import pytest

from xpusim.study import load, run_study
from xpusim.study.spec import expand


def diverging_study(pm):
    """Two good runs and one with a learning rate that blows up to NaN."""
    return expand({"name": "div", "fixed": {"model": "mlp:64-16-10", "epochs": 1,
                                            "optimizer": "sgd"},
                   "axes": {"lr": [0.01, 1e12, 0.05]}}, pm=pm)


def test_diverging_run_is_stored_as_failed_and_the_study_goes_on(pm, tmp_path):
    s = diverging_study(pm)
    db = tmp_path / "div.sqlite"
    out = run_study(s, db=db, executor="serial", progress=False)
    assert (out.total, out.ran, out.ok, out.failed) == (3, 3, 2, 1)
    df = load(db).set_index("config.lr")
    assert list(df["status"]) == ["ok", "diverged", "ok"]
    bad = df.loc[1e12]
    assert bad["failure"].startswith("training diverged at step ")
    assert "nan" in bad["failure"]
    assert bad["failed_step"] > 0
    assert df.loc[0.05, "final_test_accuracy"] > 0.1

    # Restart: nothing runs again, failed runs are kept (not retried) ...
    again = run_study(s, db=db, executor="serial", progress=False)
    assert (again.already_done, again.ran) == (3, 0)
    # ... unless asked; the retried run is still one row, with attempts = 2.
    retry = run_study(s, db=db, executor="serial", progress=False, retry_failed=True)
    assert (retry.ran, retry.failed) == (1, 1)
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT hash, attempts FROM runs").fetchall()
    assert len(rows) == 3 and sorted(a for _, a in rows) == [1, 1, 2]


def test_a_raising_run_is_stored_with_its_exception(pm, tmp_path):
    s = expand({"name": "boom", "fixed": {"model": "mlp:64-16-10", "epochs": 1},
                "axes": {"seed": [0, 1]}}, pm=pm)

    def runner(config):
        if config.seed == 1:
            raise ValueError("kernel exploded")
        from xpusim.study.executors import run_config

        return run_config(config)

    out = run_study(s, db=tmp_path / "b.sqlite", executor="serial", progress=False,
                    runner=runner)
    assert (out.ok, out.failed) == (1, 1)
    df = load(tmp_path / "b.sqlite").set_index("config.seed")
    assert df.loc[1, "status"] == "error"
    assert df.loc[1, "failure"] == "ValueError: kernel exploded"
    assert df.loc[1, "error_type"] == "ValueError"


def test_dataframe_has_one_row_per_run_with_breakdowns(pm, tmp_path):
    s = expand({"name": "df", "fixed": {"model": "mlp:64-16-10", "epochs": 1},
                "axes": {"method": ["backprop", "dfa"], "seed": [0, 1]}}, pm=pm)
    db = tmp_path / "df.sqlite"
    run_study(s, db=db, executor="serial", progress=False)
    df = load(db)
    assert len(df) == 4 and df["hash"].is_unique
    assert list(df["hash"]) == s.hashes
    for col in ("final_test_accuracy", "training.energy_j", "training.money_usd",
                "training.energy_by_component_j.compute", "inference_per_sample.energy_j",
                "lifetime.energy_j", "config.method", "config.seed", "axis.method"):
        assert col in df, col
    assert df["training.energy_j"].gt(0).all()
    parts = df.filter(like="training.energy_by_component_j.").sum(axis=1)
    assert parts.to_numpy() == pytest.approx(df["training.energy_j"].to_numpy(), rel=1e-9)
    assert json.loads(df["accuracy_per_epoch"].iloc[0])[-1] == df["final_test_accuracy"].iloc[0]


def test_two_studies_share_a_database(pm, tmp_path):
    db = tmp_path / "shared.sqlite"
    a = expand({"name": "a", "fixed": {"model": "mlp:64-16-10", "epochs": 1},
                "axes": {"seed": [0, 1]}}, pm=pm)
    b = expand({"name": "b", "fixed": {"model": "mlp:64-16-10", "epochs": 1},
                "axes": {"seed": [1, 2]}}, pm=pm)
    run_study(a, db=db, executor="serial", progress=False)
    out = run_study(b, db=db, executor="serial", progress=False)
    assert (out.already_done, out.ran) == (1, 1)  # seed 1 is the same run: not repeated
    assert len(load(db, "b")) == 2 and len(load(db)) == 3


def test_editing_the_study_file_drops_runs_from_the_study_not_from_the_store(pm, tmp_path):
    db = tmp_path / "edit.sqlite"
    raw = {"name": "e", "fixed": {"model": "mlp:64-16-10", "epochs": 1},
           "axes": {"seed": [0, 1, 2]}}
    run_study(expand(raw, pm=pm), db=db, executor="serial", progress=False)
    raw["axes"]["seed"] = [0, 1]
    out = run_study(expand(raw, pm=pm), db=db, executor="serial", progress=False)
    assert out.ran == 0
    assert sorted(load(db, "e")["config.seed"]) == [0, 1]
    assert len(load(db)) == 3


def test_a_second_driver_on_the_same_database_is_refused(pm, tmp_path):
    import fcntl

    from xpusim.core.errors import XpusimError

    db = tmp_path / "locked.sqlite"
    s = expand({"name": "l", "fixed": {"model": "mlp:64-16-10", "epochs": 1}}, pm=pm)
    with open(tmp_path / "locked.sqlite.lock", "w") as fh:
        fh.write("4242")
        fh.flush()
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(XpusimError, match="another study driver is writing to it "
                                              "\\(pid 4242\\)"):
            run_study(s, db=db, executor="serial", progress=False)
    assert run_study(s, db=db, executor="serial", progress=False).ok == 1


def test_serving_hardware_is_an_axis(pm, tmp_path):
    s = expand({"name": "serve", "fixed": {"model": "mlp:64-16-10", "epochs": 1},
                "axes": {"serve_hardware": ["h100-sxm", "pcm-hermes"]}}, pm=pm)
    db = tmp_path / "serve.sqlite"
    out = run_study(s, db=db, executor="serial", progress=False)
    assert (out.total, out.ok) == (2, 2)  # planned hashes match the runs' own
    df = load(db).set_index("config.serve_hardware")
    assert list(df["config.serve_spec_name"]) == ["h100-sxm", "pcm-hermes"]
    # same training, different serving chip: different inference energy per sample
    a, b = df["inference_per_sample.energy_j"]
    assert a != b
    assert df["training.energy_j"].iloc[0] == df["training.energy_j"].iloc[1]
