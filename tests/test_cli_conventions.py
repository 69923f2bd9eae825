"""One convention on every command: --json prints JSON, --out FILE writes it (checked before
any work, never through a link); help on every option; one --hardware default; hostile input
gets one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from xpusim.cli import entry, main
from xpusim.cliutil import DEFAULT_HARDWARE


def _run(capsys, *argv):
    code = entry(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in sorted(group.commands.items()):
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


def test_every_option_of_every_command_has_help_text():
    missing = [f"{' '.join(path)} {opt.opts[0]}" for path, cmd in _commands(main)
               for opt in cmd.params
               if isinstance(opt, click.Option) and not (opt.help or "").strip()]
    assert not missing, missing


@pytest.mark.parametrize("path", [("run",), ("price",), ("estimate",), ("methods",),
                                  ("plugins",), ("specs", "list"), ("specs", "show"),
                                  ("specs", "validate"), ("compare",), ("study", "run"),
                                  ("study", "show")])
def test_every_result_and_listing_has_a_json_form(path):
    cmd = main
    for name in path:
        cmd = cmd.commands[name]
    opts = {o.name: o for o in cmd.params if isinstance(o, click.Option)}
    flag = next(o for o in opts.values() if "--json" in o.opts)
    assert flag.is_flag or flag.flag_value == "-", path  # bare --json prints to stdout


def test_one_hardware_default_on_run_price_and_estimate():
    from xpusim.core.results import RunConfig

    defaults = {name: next(o.default for o in main.commands[name].params
                           if o.name == "hardware") for name in ("run", "price", "estimate")}
    assert defaults == dict.fromkeys(defaults, DEFAULT_HARDWARE)
    assert RunConfig().hardware == DEFAULT_HARDWARE


@pytest.mark.parametrize("argv", [["methods"], ["plugins"], ["specs", "list"],
                                  ["specs", "show", "h100-sxm"],
                                  ["price", "--shape", "8,16,16"]])
def test_json_flag_prints_only_json_and_out_writes_the_same(capsys, tmp_path, argv):
    code, out, _ = _run(capsys, *argv, "--json")
    assert code == 0
    data = json.loads(out)
    target = tmp_path / "o.json"
    code, _, err = _run(capsys, *argv, "--out", str(target))
    assert code == 0 and f"written to {target}" in err
    assert json.loads(target.read_text()) == data


def test_listings_carry_what_a_script_needs(capsys):
    _, out, _ = _run(capsys, "specs", "list", "--json")
    specs = {r["name"]: r for r in json.loads(out)}
    h100 = specs["h100-sxm"]
    assert h100["backend"] == "gpu" and h100["origin"] == "built-in"
    assert h100["static_power_w"] > 0 and h100["price_usd_per_hour"] > 0
    assert h100["peak_ops_per_s"] > 1e15 and h100["memory_bytes"] > 1e10
    assert Path(h100["file"]).name == "h100-sxm.toml"
    _, out, _ = _run(capsys, "methods", "--json")
    rows = {m["method"]: m for m in json.loads(out)["methods"]}
    assert rows["backprop"]["backends"]["gpu"]["runs"] is True
    assert rows["backprop"]["backends"]["neuromorphic"]["missing"] == ["mvm_t"]
    assert rows["dfa"]["options"] == ["feedback_scale"]
    _, out, _ = _run(capsys, "specs", "list")
    assert "built-in" in out and "neuromorphic" in out


def test_out_path_is_checked_before_any_training(capsys, monkeypatch):
    import xpusim.api

    def no_training(**_):
        raise AssertionError("trained before checking the output path")

    monkeypatch.setattr(xpusim.api, "run", no_training)
    code, out, err = _run(capsys, "run", "--out", "/nonexistent/dir/r.json")
    assert code == 2
    assert err.strip() == ("error: /nonexistent/dir/r.json: cannot write --out: folder "
                           "'/nonexistent/dir' does not exist")
    code, _, err = _run(capsys, "run", "--json", "/nonexistent/dir/r.json")
    assert code == 2 and "folder '/nonexistent/dir' does not exist" in err


def test_out_never_writes_through_a_link(capsys, tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "out.json"
    link.symlink_to(target)
    code, _, err = _run(capsys, "price", "--shape", "1,2,3", "--out", str(link))
    assert code == 2 and "is a symbolic link" in err
    assert target.read_text() == "keep me"


def test_run_json_file_still_works_with_a_deprecation_note(capsys, tmp_path):
    path = tmp_path / "r.json"
    code, out, err = _run(capsys, "run", "--epochs", "0", "--model", "mlp:64-8-10",
                          "--json", str(path))
    assert code == 0
    assert "--json FILE is deprecated; use --out" in err
    assert json.loads(path.read_text())["config"]["epochs"] == 0
    code, out, err = _run(capsys, "run", "--epochs", "0", "--model", "mlp:64-8-10", "--json")
    assert code == 0 and json.loads(out)["status"] == "ok"


def test_run_takes_the_first_optimizer_the_device_accepts_and_says_so(capsys):
    code, out, err = _run(capsys, "run", "--hardware", "loihi", "--method", "dfa",
                          "--epochs", "0", "--model", "mlp:64-8-10")
    assert code == 0, err
    assert "optimizer: sgd at lr 0.05 (the first of adam, sgd that loihi's device accepts" in err
    assert "sgd, lr 0.05" in out
    code, out, _ = _run(capsys, "run", "--epochs", "0", "--model", "mlp:64-8-10", "--json")
    config = json.loads(out)["config"]
    assert (config["optimizer"], config["lr"]) == ("adam", None)


def test_an_analog_chip_training_by_pulses_takes_plain_sgd(capsys):
    """In-situ training moves weights by pulse trains: no optimizer state exists, so Adam is
    refused by name and a run that names none trains with plain SGD (hardware-aware and
    hybrid modes keep a digital optimizer and take Adam)."""
    code, out, err = _run(capsys, "run", "--hardware", "reram-generic", "--epochs", "0",
                          "--model", "mlp:64-8-10")
    assert code == 0, err
    assert "optimizer: sgd at lr 0.05" in err and "reram-generic" in err
    code, _, err = _run(capsys, "run", "--hardware", "reram-generic", "--epochs", "0",
                        "--model", "mlp:64-8-10", "--optimizer", "adam")
    assert code != 0
    assert "cannot apply optimizer 'adam'" in err and "(use --optimizer sgd)" in err
    for mode in ("hybrid", "hardware-aware"):
        code, out, err = _run(capsys, "run", "--hardware", "reram-generic", "--epochs", "0",
                              "--model", "mlp:64-8-10", "--set", f"training_mode={mode}",
                              "--json")
        assert code == 0, err
        assert json.loads(out)["config"]["optimizer"] == "adam"


@pytest.mark.parametrize("argv,needle", [
    (["run", "--seed", "-1"], "Invalid value for '--seed': -1 is not in the range x>=0"),
    (["run", "--hardware", ""], "empty spec name"),
    (["price", "--hardware", "", "--shape", "1,2,3"], "empty spec name"),
    (["specs", "show", ""], "empty spec name"),
    (["run", "--option", "hidden_epochs=3"],
     "method 'backprop': unknown option 'hidden_epochs' (known: none)"),
    (["run", "--method", "dfa", "--option", "feedback_scal=1"], "did you mean 'feedback_scale'"),
    (["run", "--json", "a.json", "--out", "b.json"], "give the output file once"),
])
def test_hostile_run_options_are_one_clear_line(capsys, argv, needle):
    code, out, err = _run(capsys, *argv)
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle in lines[0] and "Traceback" not in out + err


def test_a_file_named_like_a_builtin_spec_does_not_replace_it(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "h100-sxm").write_text('name = "fake"\nbackend = "gpu"\n')
    (tmp_path / "tpu-v4").mkdir()
    code, out, err = _run(capsys, "specs", "show", "h100-sxm", "--json")
    assert code == 0 and json.loads(out)["name"] == "h100-sxm", err
    code, out, err = _run(capsys, "specs", "show", "tpu-v4", "--json")
    assert code == 0 and json.loads(out)["backend"] == "systolic", err
    code, _, err = _run(capsys, "specs", "show", "./h100-sxm")  # a path, as written
    assert code != 0 and "h100-sxm" in err


def test_a_plugin_file_never_shadows_an_installed_module(capsys, tmp_path):
    marker = tmp_path / "ran"
    evil = tmp_path / "json.py"
    evil.write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    code, _, err = _run(capsys, "--plugin", str(evil), "methods")
    assert code != 0
    assert "a module named 'json' is already installed or in the standard library" in err
    assert not marker.exists()


def test_estimate_versus_names_both_sides_and_both_break_evens(capsys):
    code, out, err = _run(capsys, "estimate", "--model", "gpt3-1.3b", "--devices", "64",
                          "--hardware", "a100-sxm-80gb", "--versus", "h100-sxm")
    assert code == 0, err
    block = out[out.index("versus h100-sxm:"):]
    assert "a100-sxm-80gb (this estimate): training" in block
    assert "\n    h100-sxm: training" in block
    assert "money" in block and "energy" in block
    assert " a is " not in block and " b is " not in block
