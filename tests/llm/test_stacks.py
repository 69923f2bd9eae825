"""Software stacks (xpusim/llm/stacks.py): measured attention kernels, the fp32 loss passes and
the calibrated GEMM efficiency, each checked against what it is said to do, by hand."""

from __future__ import annotations

import math

import attrs
import numpy as np
import pytest

from xpusim.cli import entry
from xpusim.core.trace import PHASES
from xpusim.llm import estimate_training, load_model, resolve_hardware
from xpusim.llm import traces
from xpusim.llm.estimate import evaluate_layouts, price_parts
from xpusim.llm.parallel import Layouts, parse_layout
from xpusim.llm.stacks import (FA_PRODUCTS, StackError, _raw, attention_flops, attention_speed,
                               get_stack, kernels, list_stacks)

A100 = "a100-sxm-80gb"


def test_attention_speed_reads_the_published_table():
    seq = _raw()["attention"]["seq"]
    table = _raw()["attention"]["kernels"]["flash2"]
    for i, s in enumerate(seq):
        assert attention_speed("flash2", A100, s, 128) == table[f"{A100}.d128"][i] * 1e12
        assert attention_speed("flash2", A100, s, 64) == table[f"{A100}.d64"][i] * 1e12
    # between the head sizes: linear; between lengths: linear in log2 of the length
    mid = 0.5 * (table[f"{A100}.d64"][2] + table[f"{A100}.d128"][2]) * 1e12
    assert attention_speed("flash2", A100, 2048, 96) == pytest.approx(mid)
    between = attention_speed("flash2", A100, 2048 * math.sqrt(2), 128)
    assert between == pytest.approx(0.5 * (table[f"{A100}.d128"][2]
                                           + table[f"{A100}.d128"][3]) * 1e12)
    # held at the ends
    assert attention_speed("flash2", A100, 100, 32) == table[f"{A100}.d64"][0] * 1e12
    assert attention_speed("flash2", A100, 1e6, 256) == table[f"{A100}.d128"][-1] * 1e12
    # the H200 takes the H100's speeds; nothing was published for a V100; rows are priced
    assert attention_speed("flash2", "h200", 4096, 128) == \
        attention_speed("flash2", "h100-sxm", 4096, 128)
    assert attention_speed("flash2", "v100-sxm2", 2048, 128) is None
    assert attention_speed("rows", A100, 2048, 128) is None


def test_stacks_file_is_complete_and_cites_its_numbers():
    raw = _raw()
    assert raw["attention"]["source"]
    n = len(raw["attention"]["seq"])
    for name in kernels():
        table = raw["attention"]["kernels"][name]
        assert table["description"], name
        speeds = [v for k, v in table.items() if k.endswith((".d64", ".d128"))]
        assert speeds, name
        for v in speeds:
            assert len(v) == n and all(0 < x < 1000 for x in v), name
    for name in list_stacks():
        stack = get_stack(name)
        assert stack.description
        if stack.gemm_efficiency != 1.0:
            assert stack.sources["gemm_efficiency"].startswith("derived:"), name
        for field in ("attention", "flash_attention"):
            if getattr(stack, field) != "rows":
                assert getattr(stack, field) in kernels()


def _layout_pair(model, layout, stack_a, stack_b, hw=A100):
    hwr = resolve_hardware(hw)
    ly = Layouts.of([parse_layout(layout)])
    return (evaluate_layouts(model, hwr, ly, stack=stack_a),
            evaluate_layouts(model, hwr, ly, stack=stack_b), hwr, ly)


def _rows_time(model, hwr, ly, part=None, primitives=None, loss="rows"):
    """Seconds of one micro-batch's rows of one block, as priced: those of ``part`` or of
    ``primitives``."""
    rows = traces.training_rows(model, hwr.fmt, ly.tp, ly.mb, recompute=ly.rc, sp=ly.sp,
                                flash=ly.flash, loss=loss)
    (t, _), = price_parts([rows], hwr)
    sel = rows["scope"][:, 0] == traces.LAYER
    if part is not None:
        sel &= rows["part"][:, 0] == part
    if primitives is not None:
        sel &= np.isin(rows["primitive"][:, 0], [traces.PRIMITIVE[p] for p in primitives])
    return float(t[sel, 0].sum())


def test_a_measured_attention_kernel_replaces_the_priced_attention_rows():
    m = load_model("gpt3-1.3b")
    layout = "dp=8,tp=1,pp=1,mb=4,recompute=full,zero=1,flash=true"
    ideal, fa2, hwr, ly = _layout_pair(m, layout, "ideal", get_stack("ideal",
                                                                     flash_attention="flash2"))
    rows = _rows_time(m, hwr, ly, part=traces.PART_ATTENTION)
    fwd = attention_flops(m.seq_len, m.d_head, m.heads, 4) / attention_speed(
        "flash2", A100, m.seq_len, m.d_head)
    # forward + backward, and the forward once more for full recomputation
    measured = (FA_PRODUCTS + 1.0) * fwd
    per_block = (fa2["compute_s"][0] - ideal["compute_s"][0]) / (
        fa2["micro_batches"][0] * m.layers)
    assert per_block == pytest.approx(measured - rows, rel=1e-9)
    # static power follows the time; the work's dynamic energy is the rows'
    de = fa2["energy_step_j"][0] - ideal["energy_step_j"][0]
    assert de == pytest.approx(hwr.cost.static_power_w * 8 * (fa2["step_s"][0]
                                                              - ideal["step_s"][0]), rel=1e-6)


def test_fp32_loss_adds_its_passes_over_the_logits():
    m = load_model("gpt3-125m")
    layout = "dp=8,tp=1,pp=1,mb=8,recompute=none,zero=1,flash=true"
    rows_loss = get_stack("ideal")
    fp32_loss = attrs.evolve(rows_loss, loss="fp32")
    a, b, hwr, ly = _layout_pair(m, layout, rows_loss, fp32_loss)
    spec = hwr.spec.params
    bw = spec.memory.hbm_bandwidth_gbs * 1e9 * spec.memory.achievable_bandwidth_fraction
    launch = spec.launch_overhead_us * 1e-6
    elements = 8 * m.seq_len * m.vocab
    # by hand: the fused pass reads the logits and the targets and writes the error in bf16;
    # the fp32 passes each read and write as traces.FP32_LOSS lists (bytes of each width)
    fused = elements * 3 * 2 / bw + launch
    passes = sum(elements * arrays * (4 if wide else 2) / bw + launch
                 for _, arrays, _, wide in traces.FP32_LOSS)
    per_micro_batch = (b["compute_s"][0] - a["compute_s"][0]) / b["micro_batches"][0]
    assert per_micro_batch == pytest.approx(passes - fused, rel=1e-6)


def test_gemm_efficiency_divides_the_time_of_the_products():
    m = load_model("gpt3-1.3b")
    layout = "dp=8,tp=1,pp=1,mb=4,recompute=none,zero=1,flash=false"
    slow = get_stack("ideal", gemm_efficiency=0.8)
    a, b, hwr, ly = _layout_pair(m, layout, "ideal", slow)
    products = _rows_time(m, hwr, ly, primitives=("mvm", "mvm_t", "update", "matmul"))
    rows = traces.training_rows(m, hwr.fmt, ly.tp, ly.mb, recompute=ly.rc, sp=ly.sp,
                                flash=ly.flash)
    (t, _), = price_parts([rows], hwr)
    head = (rows["scope"][:, 0] == traces.HEAD) & np.isin(
        rows["primitive"][:, 0], [traces.PRIMITIVE[p] for p in ("mvm", "mvm_t", "update")])
    per_mb = m.layers * products + float(t[head, 0].sum())
    expected = a["micro_batches"][0] * per_mb * (1 / 0.8 - 1)
    assert b["compute_s"][0] - a["compute_s"][0] == pytest.approx(expected, rel=1e-9)
    assert (b["step_s"] > a["step_s"]).all()


def test_the_default_stack_is_the_ideal_one():
    kw = dict(parallel="dp=8,tp=1,pp=1,mb=4,recompute=none,flash=true")
    a = estimate_training("gpt3-350m", A100, 8, 1e9, **kw)
    b = estimate_training("gpt3-350m", A100, 8, 1e9, stack="ideal", **kw)
    assert a["stack"] == b["stack"] == "ideal" and a["step_time_s"] == b["step_time_s"]


@pytest.mark.parametrize("stack", ["megatron", "llm-foundry", "flash-attn", "pytorch"])
def test_every_stack_prices_a_run_within_the_spec(stack):
    for hw in (A100, "h100-sxm", "v100-sxm2"):
        r = estimate_training("gpt3-1.3b", hw, 16, 1e9, stack=stack)
        assert 0 < r["mfu"] <= r["hfu"] <= 1.0
        assert r["energy_j"] > 0 and math.isfinite(r["energy_j"])
        assert sum(r["step_breakdown_s"].values()) == pytest.approx(r["step_time_s"])
        assert any(a.startswith(f"software stack {stack!r}") for a in r["assumptions"])


TRAIN = ["estimate", "--model", "gpt3-125m", "--hardware", A100, "--devices", "8",
         "--tokens", "1e9"]


def test_unknown_stack_or_kernel_is_one_clear_error(capsys):
    with pytest.raises(StackError, match="unknown stack 'megatronx'.*megatron"):
        get_stack("megatronx")
    with pytest.raises(StackError, match="--attention.*flash2.*'flash9'"):
        get_stack("megatron", flash_attention="flash9")
    for args, needle in ((["--stack", "nope"], "--stack: unknown stack 'nope'"),
                         (["--attention", "flash9"], "--attention: the attention kernel")):
        assert entry(TRAIN + args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err


def test_the_cli_names_the_stack(capsys):
    assert entry(TRAIN + ["--stack", "llm-foundry", "--attention", "flash1", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"stack": "llm-foundry"' in out and "flash1's published" in out


def test_phases_of_the_attention_rows_are_forward_and_backward():
    """The measured kernel's split: the forward rows are the forward phase's, everything else
    (recomputation, the backward kernel) the backward phase's."""
    m = load_model("gpt3-125m")
    rows = traces.training_rows(m, lambda p, ph: (16, "bf16"), [1], [2], recompute=2,
                                flash=True)
    att = rows["part"][:, 0] == traces.PART_ATTENTION
    phases = {PHASES[int(p)] for p in rows["phase"][att, 0]}
    assert phases == {"train-forward", "train-backward"}
