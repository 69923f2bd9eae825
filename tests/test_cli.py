"""The CLI: tables and JSON on success; one clear line and a non-zero exit on bad input."""

from __future__ import annotations

import json

import pytest

from xpusim.cli import entry


def _run(capsys, *argv):
    code = entry(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_writes_json_with_accuracy_at_top_level(capsys, tmp_path):
    path = tmp_path / "r.json"
    code, out, err = _run(capsys, "run", "--epochs", "1", "--json", str(path))
    assert code == 0
    d = json.loads(path.read_text())
    assert 0 < d["final_test_accuracy"] <= 1 and "training" in d
    assert "final test accuracy" in out


def test_price_json_has_time_energy_breakdown(capsys):
    code, out, _ = _run(capsys, "price", "--hardware", "h100-sxm", "--shape", "128,4096,4096",
                        "--set", "compute_format=bf16", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["time_s"] > 0 and d["energy_j"] > 0
    assert d["energy_j"] == pytest.approx(sum(d["breakdown"].values()))
    assert d["format"] == "bf16" and d["counters"]["macs"] == 128 * 4096 * 4096


@pytest.mark.parametrize("argv,needle", [
    (["run", "--hardware", "h10-sxm"], "unknown spec 'h10-sxm'; did you mean 'h100-sxm'"),
    (["run", "--method", "backprop2"], "unknown method 'backprop2'; did you mean 'backprop'"),
    (["run", "--model", "mlq:64-10"], "unknown model family 'mlq'; did you mean 'mlp'"),
    (["run", "--model", "mlp:64-x-10"], "expected widths like mlp:64-256-10"),
    (["run", "--dataset", "digitz"], "unknown data set 'digitz'; did you mean 'digits'"),
    (["run", "--set", "tdp_w=-5"], "h100-sxm.toml: tdp_w: must be > 0, found -5"),
    (["run", "--set", "tdp_w"], "expected KEY=VALUE"),
    (["run", "--set", "memroy.hbm_bandwidth_gbs=1"], "memroy: unknown key (did you mean 'memory'?)"),
    (["run", "--epochs", "-1"], "Invalid value for '--epochs'"),
    (["run", "--bogus"], "--bogus"),
    (["price", "--hardware", "h100-sxm", "--shape", "1,2"], "expected M,N,K"),
    (["price", "--hardware", "h100-sxm", "--shape", "1,2,3", "--primitive", "conv"],
     "unknown primitive 'conv'"),
    (["price", "--hardware", "tpu-v1", "--shape", "1000000000000,1000000000000,1000000000000"],
     "M x N x K = 1e+36 operations; expected fewer than 2**62"),
    (["price", "--hardware", "tpu-v1", "--shape", "1,1,1", "--set",
      "array_rows=9223372036854775807"], "tpu-v1.toml: array_rows: must be at most 2**53"),
    (["price", "--hardware", "pcm-hermes", "--shape", "1,1,1", "--set", "adc.bits=1000"],
     "pcm-hermes.toml: adc.bits: must be <= 32, found 1000"),
    (["run", "--hardware", "pcm-hermes", "--set", "noise.out_noise_std=inf"],
     "pcm-hermes.toml: noise.out_noise_std: must be a finite number, found inf"),
    (["price", "--hardware", "h100-sxm", "--shape", "1,1,1", "--set",
      "memory.hbm_bandwidth_gbs=5e-324"], "memory.hbm_bandwidth_gbs: must be 0 or at least"),
    (["specs", "show", "nope"], "unknown spec 'nope'"),
    (["--plugin", "/nonexistent/plug.py", "methods"], "plugin '/nonexistent/plug.py': no such file"),
])
def test_bad_input_is_one_line_and_nonzero(capsys, argv, needle):
    code, out, err = _run(capsys, *argv)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle in lines[0]
    assert "Traceback" not in err + out


def test_specs_list_show_validate(capsys, tmp_path):
    code, out, _ = _run(capsys, "specs", "list")
    assert code == 0 and "h100-sxm" in out
    code, out, _ = _run(capsys, "specs", "show", "a100-sxm-80gb", "--json")
    assert code == 0 and json.loads(out)["peak"]["bf16_tflops"] == 312.0
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nbackend = "gpu"\n')
    code, out, err = _run(capsys, "specs", "validate", "h100-sxm", str(bad))
    assert code == 2 and "ok: h100-sxm" in out and "bad.toml: peak: missing" in err


def test_methods_and_plugins_list_builtins(capsys):
    code, out, _ = _run(capsys, "methods")
    assert code == 0 and "backprop" in out and "gpu" in out
    code, out, _ = _run(capsys, "plugins")
    assert code == 0 and "xpusim.plugins.hardware.gpu" in out


def test_price_counts_beyond_int64_stay_positive(capsys):
    """10^18 MACs x 10^8 repetitions: counts and ratios as floats, never wrapped negative."""
    code, out, _ = _run(capsys, "price", "--hardware", "h100-sxm", "--shape",
                        "1000000,1000000,1000000", "--count", "100000000", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["counters"]["macs"] == 1e26
    assert 0 < d["derived"]["utilization_of_peak"] <= 1
