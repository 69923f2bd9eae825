"""Executors: local processes, Dask and serial give the same hashes and identical numbers;
a study killed with SIGKILL and restarted stores every run exactly once, with the same numbers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from xpusim.study import load, run_study
from xpusim.study.spec import expand

from .conftest import write_study


def results(db):
    """hash -> the stored RunResult JSON minus what legitimately differs (wall time)."""
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT hash, status, result FROM runs ORDER BY hash").fetchall()
    out = {}
    for h, status, text in rows:
        data = __import__("json").loads(text)
        data.pop("meta", None)
        out[h] = (status, data)
    return out


def small_study(pm, seeds=(0, 1)):
    return expand({"name": "exe", "fixed": {"model": "mlp:64-16-10", "epochs": 1},
                   "axes": {"method": ["backprop", "dfa"], "seed": list(seeds),
                            "set": {"compute_format": ["fp32", "bf16"]}}}, pm=pm)


@pytest.mark.slow  # worker processes: 15-35 s on the shared 2-core machine
def test_local_and_dask_give_identical_results(pm, tmp_path):
    pytest.importorskip("distributed")
    s = small_study(pm)
    serial = run_study(s, db=tmp_path / "serial.sqlite", executor="serial", progress=False)
    local = run_study(s, db=tmp_path / "local.sqlite", executor="local", workers=2,
                      progress=False)
    dask = run_study(s, db=tmp_path / "dask.sqlite", executor="dask", workers=2,
                     progress=False)
    assert serial.ok == local.ok == dask.ok == len(s.runs) == 8
    a, b, c = (results(tmp_path / f"{n}.sqlite") for n in ("serial", "local", "dask"))
    assert sorted(a) == sorted(b) == sorted(c) == sorted(s.hashes)
    assert a == b == c  # bit-identical: floats compared exactly after a JSON round trip
    workers = set(load(tmp_path / "local.sqlite")["worker"])
    assert len(workers) >= 1 and all(w.split(":")[1] != str(os.getpid()) for w in workers)


STUDY = """
name = "killme"
[fixed]
model = "mlp:64-32-10"
epochs = 3
[axes]
method = ["backprop", "dfa"]
seed = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
"""


def stored(db) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # table not created yet
        return 0


@pytest.mark.slow  # worker processes: 15-35 s on the shared 2-core machine
def test_sigkill_halfway_then_restart_stores_every_run_once(tmp_path):
    path = write_study(tmp_path, STUDY)
    db = tmp_path / "killme.sqlite"
    cmd = [sys.executable, "-m", "xpusim.study", "run", str(path), "--db", str(db),
           "--workers", "2", "--quiet"]
    env = {**os.environ, "XPUSIM_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while stored(db) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)  # the driver, mid-study, with no chance to clean up
        proc.wait(timeout=30)
    finally:
        try:  # its worker processes (same session) go too
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    n_killed = stored(db)
    assert 3 <= n_killed < 24, f"kill did not land mid-study ({n_killed} runs stored)"

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    with sqlite3.connect(db) as con:
        hashes = [h for (h,) in con.execute("SELECT hash FROM runs")]
        attempts = {a for (a,) in con.execute("SELECT attempts FROM runs")}
    assert len(hashes) == len(set(hashes)) == 24
    assert attempts == {1}  # nothing stored before the kill ran again

    # Same numbers as an uninterrupted study of the same file.
    from xpusim.study.spec import load_study

    clean = tmp_path / "clean.sqlite"
    run_study(load_study(path), db=clean, executor="serial", progress=False)
    assert results(db) == results(clean)


def test_dask_existing_scheduler(pm, tmp_path):
    distributed = pytest.importorskip("distributed")
    s = small_study(pm, seeds=(5,))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        out = run_study(s, db=tmp_path / "remote.sqlite", scheduler=cluster.scheduler_address,
                        progress=False)
    assert out.ok == len(s.runs) == 4
    serial = run_study(s, db=tmp_path / "serial.sqlite", executor="serial", progress=False)
    assert serial.ok == 4
    assert results(tmp_path / "remote.sqlite") == results(tmp_path / "serial.sqlite")


@pytest.mark.slow  # worker processes: 15-35 s on the shared 2-core machine
def test_ctrl_c_stops_with_one_line_and_keeps_what_is_stored(tmp_path):
    path = write_study(tmp_path, STUDY)
    db = tmp_path / "ctrlc.sqlite"
    cmd = [sys.executable, "-m", "xpusim.study", "run", str(path), "--db", str(db),
           "--workers", "2", "--quiet"]
    env = {**os.environ, "XPUSIM_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while stored(db) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the study finished before Ctrl-C arrived")
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    line = [x for x in err.splitlines() if x.startswith("error: ")]
    assert len(line) == 1 and line[0].startswith("error: interrupted: ")
    n = int(line[0].split("interrupted: ")[1].split(" ")[0])
    assert n == stored(db) >= 2
