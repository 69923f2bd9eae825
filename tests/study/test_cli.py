"""The click commands: run (with --dry-run), report, export, show, compare; clear errors."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from xpusim.core.errors import XpusimError
from xpusim.study.cli import compare, study

from .conftest import write_study

TOML = """
name = "cli"
[fixed]
model = "mlp:64-16-10"
epochs = 1
[axes]
method = ["backprop", "dfa"]
seed = [0, 1]
"""


def invoke(cmd, args):
    return CliRunner().invoke(cmd, args, standalone_mode=False, catch_exceptions=True)


def test_run_report_export_show(tmp_path):
    path = write_study(tmp_path, TOML)
    dry = invoke(study, ["run", str(path), "--dry-run"])
    assert dry.exception is None, dry.output
    assert "study cli: 4 runs" in dry.output and "method=dfa  seed=1" in dry.output
    assert not (tmp_path / "study.sqlite").exists()

    res = invoke(study, ["run", str(path), "--executor", "serial"])
    assert res.exception is None, res.output
    db = tmp_path / "study.sqlite"  # default: the study file with .sqlite
    assert db.exists()
    again = invoke(study, ["run", str(path), "--executor", "serial"])
    assert "resuming: 4 runs already stored" in again.output

    out = tmp_path / "rep"
    rep = invoke(study, ["report", str(db), "--out", str(out)])
    assert rep.exception is None and (out / "report.md").exists()

    csv, pq = tmp_path / "x.csv", tmp_path / "x.parquet"
    exp = invoke(study, ["export", str(db), "--csv", str(csv), "--parquet", str(pq)])
    assert exp.exception is None, exp.output
    a, b = pd.read_csv(csv), pd.read_parquet(pq)
    assert len(a) == len(b) == 4
    assert "training.energy_by_component_j.compute" in a.columns
    assert (a["final_test_accuracy"].to_numpy() == b["final_test_accuracy"].to_numpy()).all()

    show = invoke(study, ["show", str(db)])
    assert show.exception is None and "backprop" in show.output


def test_errors_are_xpusim_errors(tmp_path):
    bad = write_study(tmp_path, "[axes]\nmethod = ['backprp']\n")
    res = invoke(study, ["run", str(bad)])
    assert isinstance(res.exception, XpusimError)
    assert "did you mean 'backprop'" in str(res.exception)
    res = invoke(study, ["export", str(tmp_path / "none.sqlite"), "--csv", "x.csv"])
    assert isinstance(res.exception, XpusimError)
    res = invoke(study, ["export", str(tmp_path / "none.sqlite")])
    assert isinstance(res.exception, XpusimError) and "--csv" in str(res.exception)


def test_module_entry_prints_one_line_and_exits_2(tmp_path):
    import subprocess
    import sys

    bad = write_study(tmp_path, "[axes]\nhardware = ['h100']\nseed = []\n")
    p = subprocess.run([sys.executable, "-m", "xpusim.study", "run", str(bad)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert p.stderr.startswith("error: study.toml: axes.seed: empty list")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_compare_tiny(tmp_path):
    out = tmp_path / "cmp"
    res = invoke(compare, ["--out", str(out), "--seeds", "1", "--epochs", "1",
                           "--model", "mlp:64-16-10", "--executor", "serial",
                           "--hardware", "h100-sxm", "--method", "backprop",
                           "--method", "dfa"])
    assert res.exception is None, res.output
    assert (out / "compare.sqlite").exists() and (out / "report.md").exists()
    assert (out / "accuracy_vs_energy.png").stat().st_size > 0
    from xpusim.study import load

    df = load(out / "compare.sqlite")
    assert sorted(df["config.method"]) == ["backprop", "dfa"]


def test_default_study_adapts_to_registered_backends(fake_plugin):
    from xpusim.core.plugins import get_plugin_manager
    from xpusim.study.default import default_study, representative_specs

    pm = get_plugin_manager((fake_plugin,), autoload=False)
    specs = representative_specs(pm)
    assert specs["gpu"] == "h100-sxm" and specs["nobwd"] == "fake-nobwd"
    s = default_study(pm, plugins=(fake_plugin,), seeds=2, epochs=1)
    pairs = {(r.config.hardware, r.config.method) for r in s.runs}
    assert ("fake-nobwd", "backprop") not in pairs  # needs mvm_t: skipped, not an error
    assert {m for hw, m in pairs if hw == "h100-sxm"} == set(pm.methods)
    assert ("fake-nobwd", "dfa") in pairs
    # an MLP and a CNN; forward-forward trains dense chains only, so not the CNN
    triples = {(r.config.hardware, r.config.method, r.config.model) for r in s.runs}
    assert ("h100-sxm", "forward-forward", "cnn:c8k3-m2-d32") not in triples
    assert ("h100-sxm", "dfa", "cnn:c8k3-m2-d32") in triples
    assert len(s.runs) == 2 * len(triples)
    assert all(r.config.plugins == (fake_plugin,) for r in s.runs)


def test_default_study_gives_each_hardware_an_optimizer_its_device_accepts(pm, monkeypatch):
    import xpusim.core.scheduler as scheduler
    from xpusim.core.errors import IncompatibleError
    from xpusim.study.default import SGD_LR, default_study

    real_run = scheduler.run

    def run(config, plugins=None, on_epoch=None):  # v100 plays a chip without optimizer state
        if config.hardware == "v100-sxm2" and config.optimizer != "sgd":
            raise IncompatibleError("use --optimizer sgd")
        return real_run(config, plugins=plugins, on_epoch=on_epoch)

    monkeypatch.setattr(scheduler, "run", run)
    s = default_study(pm, hardware=["h100-sxm", "v100-sxm2"], methods=["dfa"], seeds=2,
                      epochs=1, models=["mlp:64-16-10"])
    got = {(r.config.hardware, r.config.optimizer, r.config.lr) for r in s.runs}
    assert got == {("h100-sxm", "adam", None), ("v100-sxm2", "sgd", SGD_LR)}
    assert len(s.runs) == 4 and s.name == "compare"
