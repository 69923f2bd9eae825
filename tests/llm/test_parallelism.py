"""Parallelism as practised: ZeRO stages, sequence parallelism, selective and full
recomputation, interleaved pipelines, overlap, FlashAttention, free head size, GQA/MQA, fp8,
hierarchical and torus collectives; each checked against the formula or paper it follows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xpusim.core.errors import SpecError, XpusimError
from xpusim.core.plugins import get_plugin_manager
from xpusim.core.specs import Interconnect
from xpusim.core.trace import PHASE, PRIMITIVE
from xpusim.llm import LayoutError, estimate_training, load_model, parse_layout, resolve_hardware
from xpusim.llm import traces
from xpusim.llm.estimate import evaluate_layouts
from xpusim.llm.parallel import (Layouts, activation_bytes, collective, enumerate_layouts,
                                 parse_items, training_memory)

A100 = "a100-sxm-80gb"
MEGATRON_175B = str(Path(traces.__file__).parent / "validation" / "models" / "megatron-175b.toml")


def _ev(model, layouts, hw=A100):
    m = load_model(model)
    ly = Layouts.of([parse_layout(x) for x in layouts])
    return m, ly, evaluate_layouts(m, resolve_hardware(hw), ly)


def test_layout_keys_parse_and_bad_values_are_named():
    lay = parse_layout("dp=2,tp=4,pp=2,mb=2,recompute=selective,zero=3,sp=true,vp=2,"
                       "flash=true,overlap=true")
    assert (lay.recompute, lay.zero, lay.sp, lay.vp, lay.flash, lay.overlap) == \
        ("selective", 3, True, 2, True, True)
    assert parse_layout("dp=1,recompute=true,zero=false").recompute == "full"
    assert parse_layout("dp=4,fsdp=true").zero == 3
    assert parse_items("recompute=none|full,zero=0|1")["recompute"] == ("none", "full")
    with pytest.raises(LayoutError, match="recompute must be none, selective or full"):
        parse_layout("dp=1,recompute=some")
    with pytest.raises(LayoutError, match="zero must be a ZeRO stage 0-3"):
        parse_layout("dp=1,zero=4")
    with pytest.raises(LayoutError, match="lists alternatives"):
        parse_layout("dp=1,recompute=none|full")
    with pytest.raises(LayoutError, match="needs tp > 1"):
        estimate_training("gpt3-1.3b", A100, 8, 1e9, parallel="dp=8,sp=true")


def test_zero_stages_shard_what_the_zero_paper_says():
    m, ly, ev = _ev("gpt3-13b", [f"dp=64,tp=1,pp=1,zero={z},recompute=full" for z in range(4)])
    mem = ev["memory"]
    p = float(ev["params_per_device"][0])
    assert mem["optimizer_bytes"][0] == pytest.approx(12 * p)        # K = 12 (mixed precision)
    assert mem["optimizer_bytes"][1] == pytest.approx(12 * p / 64)
    assert mem["gradients_bytes"][1] == pytest.approx(2 * p)
    assert mem["gradients_bytes"][2] < mem["gradients_bytes"][1] / 10  # sharded (+ a bucket)
    assert mem["weights_bytes"][2] == pytest.approx(2 * p)
    assert mem["weights_bytes"][3] < mem["weights_bytes"][2] / 10      # sharded (+ 2 blocks)
    # without overlap, ZeRO-3 moves 1.5x the data of an all-reduce, every micro-batch
    raw = ev["dp_comm_s"]
    assert raw[3] > raw[1]


def test_overlap_hides_data_parallel_traffic_and_the_parts_still_add_up():
    m, ly, ev = _ev("gpt3-13b", ["dp=64,tp=1,pp=1,zero=3,overlap=false",
                                 "dp=64,tp=1,pp=1,zero=3,overlap=true"])
    assert ev["dp_comm_s"][1] < ev["dp_comm_s"][0]
    assert ev["hidden_comm_s"][1] > 0 and ev["hidden_comm_s"][0] == 0
    for i in range(2):
        parts = sum(float(ev[k][i]) for k in ("compute_s", "bubble_s", "tp_comm_s", "pp_comm_s",
                                              "dp_comm_s", "optimizer_s"))
        assert parts == pytest.approx(float(ev["step_s"][i]), rel=1e-12)


def test_activation_memory_follows_korthikanti_et_al():
    """34 s b h + 5 a s^2 b bytes per block at 16 bits (Korthikanti et al. 2022, eq. 1), tensor
    parallel s b h (10 + 24/t + 5 a s/(h t)), with sequence parallelism s b h (34/t + ...),
    selective recomputation drops the a s^2 term, full recomputation keeps 2 s b h."""
    m = load_model(MEGATRON_175B)  # dropout, GELU 4h, layer norm: the paper's block
    s, h, a = m.seq_len, m.d_model, m.heads
    ly = Layouts.of([parse_layout(x) for x in (
        "dp=1,tp=1,recompute=none", "dp=1,tp=8,recompute=none", "dp=1,tp=8,sp=true,recompute=none",
        "dp=1,tp=8,sp=true,recompute=selective", "dp=1,tp=8,recompute=full",
        "dp=1,tp=8,sp=true,flash=true,recompute=none")])
    kept, full = activation_bytes(m, ly, 16, s)
    sbh = s * h
    assert kept[0] == pytest.approx(sbh * 34 + 5 * a * s * s)
    assert kept[1] == pytest.approx(sbh * (10 + 24 / 8 + 5 * a * s / (h * 8)))
    assert kept[2] == pytest.approx(sbh * (34 / 8 + 5 * a * s / (h * 8)))
    assert kept[3] == pytest.approx(sbh * 34 / 8)
    assert kept[4] == pytest.approx(2 * sbh)
    # FlashAttention stores no s x s tensor, only fp32 softmax statistics per row and head
    assert kept[5] == pytest.approx(sbh * 34 / 8 + a / 8 * s * 4)


def test_selective_recomputation_recomputes_only_the_attention_core():
    m = load_model("gpt3-13b")
    hw = resolve_hardware(A100)
    none, sel, full = (traces.training_rows(m, hw.fmt, [8], [1], recompute=np.array([rc]))
                       for rc in (0, 1, 2))
    def recomputed(rows, prim):
        sel_ = (rows["kind"][:, 0] == traces.KIND_RECOMPUTE) & (rows["m"][:, 0] > 0) \
            & (rows["mult"][:, 0] > 0) & (rows["primitive"][:, 0] == PRIMITIVE[prim])
        return int(sel_.sum())
    assert recomputed(none, "matmul") == 0 and recomputed(none, "mvm") == 0
    assert recomputed(sel, "matmul") == 2 and recomputed(sel, "mvm") == 0
    assert recomputed(full, "matmul") == 2 and recomputed(full, "mvm") == 4
    r = {rc: estimate_training("gpt3-13b", A100, 64, 1e9, parallel=f"dp=8,tp=8,recompute={rc}")
         for rc in ("none", "selective", "full")}
    assert r["none"]["hfu"] == pytest.approx(r["none"]["mfu"])
    assert r["none"]["hardware_flops"] < r["selective"]["hardware_flops"] \
        < r["full"]["hardware_flops"]
    assert r["full"]["step_breakdown_s"]["tp_comm_s"] == pytest.approx(
        1.5 * r["none"]["step_breakdown_s"]["tp_comm_s"])   # 6 all-reduces per block, not 4


def test_interleaving_divides_the_bubble():
    m, ly, ev = _ev("gpt3-175b", ["dp=1,tp=8,pp=8,mb=1", "dp=1,tp=8,pp=8,mb=1,vp=4"])
    t_mb = (ev["step_s"] - ev["dp_comm_s"] - ev["optimizer_s"]) / (ev["micro_batches"] + (
        ly.pp - 1) / ly.vp)
    assert ev["bubble_s"][0] == pytest.approx(7 * t_mb[0])
    assert ev["bubble_s"][1] == pytest.approx(7 / 4 * t_mb[1])
    assert ev["pp_comm_s"][1] == pytest.approx(4 * ev["pp_comm_s"][0])  # a send per stage


def test_flash_attention_keeps_the_macs_of_what_it_computes_and_moves_no_scores():
    m = load_model("gpt3-1.3b")
    hw = resolve_hardware(A100)
    std = traces.training_rows(m, hw.fmt, [1], [4], flash=np.array([False]))
    fl = traces.training_rows(m, hw.fmt, [1], [4], flash=np.array([True]))
    def att(rows, kind=traces.KIND_NORMAL):
        sel = (rows["primitive"][:, 0] == PRIMITIVE["matmul"]) & (rows["kind"][:, 0] == kind)
        return float((rows["m"][sel, 0] * rows["n"][sel, 0] * rows["k"][sel, 0]
                      * rows["mult"][sel, 0]).sum())
    s = m.seq_len
    assert att(fl) / att(std) == pytest.approx((s + 128) / 2 / s)   # causal blocks skipped
    assert att(fl, traces.KIND_RECOMPUTE) > 0                        # Q.K^T again, backward
    scores = m.heads * 4 * s * (s + 128) // 2      # heads x sequences x s x keys attended
    ew = (fl["primitive"][:, 0] == PRIMITIVE["elementwise"]) & (fl["m"][:, 0] == scores)
    assert ew.sum() >= 3 and (fl["n"][ew, 0] == 0).all()          # softmax stays on chip
    ew_std = (std["primitive"][:, 0] == PRIMITIVE["elementwise"]) & (
        std["m"][:, 0] == m.heads * 4 * s * s)
    assert (std["n"][ew_std, 0] > 0).all()


def test_free_head_size_gqa_and_mqa():
    palm = load_model("palm-540b")
    assert palm.d_head == 256 and palm.attn_width == 12288 != palm.d_model
    assert palm.params == pytest.approx(540.35e9, rel=0.002)          # PaLM Table 1
    assert palm.qkv_width == (48 + 2) * 256                            # one shared K/V head
    r = estimate_training("palm-540b", "tpu-v4", 3072, 1e9,
                          parallel="dp=256,tp=12,zero=3,recompute=full")
    assert r["parallel"]["tp"] == 12 and 0 < r["mfu"] < 1


def test_d_head_is_needed_when_heads_do_not_divide_the_width(tmp_path):
    f = tmp_path / "odd.toml"
    f.write_text('layers = 2\nd_model = 100\nheads = 3\nvocab = 10\nseq_len = 8\n')
    with pytest.raises(SpecError, match="odd.toml: heads: .* or give d_head"):
        load_model(str(f))
    f.write_text('layers = 2\nd_model = 100\nheads = 3\nd_head = 32\nvocab = 10\nseq_len = 8\n')
    assert load_model(str(f)).attn_width == 96


def test_fp8_training_runs_the_weight_gemms_in_fp8_and_is_faster_on_h100():
    bf16 = estimate_training("gpt3-13b", "h100-sxm", 64, 1e9, parallel="dp=8,tp=8")
    fp8 = estimate_training("gpt3-13b", "h100-sxm", 64, 1e9, parallel="dp=8,tp=8",
                            precision="fp8")
    assert fp8["step_time_s"] < bf16["step_time_s"]
    assert fp8["format"] == "fp8-e4m3" and fp8["peak_flops_per_device"] == pytest.approx(
        2 * bf16["peak_flops_per_device"], rel=1e-3)
    hw = resolve_hardware("h100-sxm", (), "fp8")
    assert hw.fmt("mvm", "train-forward") == (8, "fp8-e4m3")
    assert hw.fmt("mvm_t", "train-backward") == (8, "fp8-e5m2")
    assert hw.fmt("matmul", "train-forward")[1] == "bf16"      # attention stays 16-bit
    assert hw.storage_bits == 16
    with pytest.raises(XpusimError, match="a100-sxm-80gb' declares no way to compute in fp8"):
        estimate_training("gpt3-13b", A100, 64, 1e9, precision="fp8")


def test_collectives_are_hierarchical():
    ic = get_plugin_manager().load_spec(A100).interconnect
    b = 1e9
    inside = collective(ic, b, 8, 1)
    across = collective(ic, b, 64, 8)      # one member per node
    mixed = collective(ic, b, 64, 2)       # four members per node, 16 nodes
    assert float(inside.inter_bytes) == 0 and float(across.intra_bytes) == 0
    bw_in = ic.intra_node_bandwidth_gbs * 1e9 * ic.intra_node_achievable_fraction
    bw_out = ic.inter_node_bandwidth_gbs * 1e9 * ic.inter_node_achievable_fraction
    lat = 2 * 7 * ic.intra_node_latency_us * 1e-6
    assert float(inside.time) == pytest.approx(2 * 7 / 8 * b / bw_in + lat)
    # four per node share the network: each sends a quarter of the bytes between nodes
    assert float(mixed.inter_bytes) == pytest.approx(2 * 15 / 16 * b / 4)
    assert float(mixed.time) < float(across.time)
    assert float(collective(ic, b, 8, 1, "all-gather").time) == pytest.approx(
        float(inside.time) / 2)


def test_a_torus_uses_the_links_of_the_dimensions_a_group_spans():
    ic = get_plugin_manager().load_spec("tpu-v4").interconnect
    assert ic.topology == "torus"
    b = 1e9
    link = ic.link_bandwidth_gbs * 1e9 * ic.intra_node_achievable_fraction
    one = collective(ic, b, 12, 1)         # PaLM's tp=12: one dimension, a bidirectional ring
    two = collective(ic, b, 256, 12)       # its dp=256 inside a pod: two dimensions
    pods = collective(ic, b, 512, 12)      # two pods: the data-centre network too
    assert float(one.time) == pytest.approx(2 * 11 / 12 * b / (2 * link) + 2 * 11 * 1e-6)
    assert float(two.intra_bytes) / float(two.time) > 1.9 * float(one.intra_bytes) / float(
        one.time)
    assert float(pods.inter_bytes) > 0 == float(two.inter_bytes)


def test_a_torus_needs_its_side_and_links():
    with pytest.raises(ValueError, match="must be >= 2 for a torus topology"):
        Interconnect(intra_node_bandwidth_gbs=1, inter_node_bandwidth_gbs=1, devices_per_node=8,
                     intra_node_latency_us=1, inter_node_latency_us=1,
                     intra_node_energy_pj_per_byte=1, inter_node_energy_pj_per_byte=1,
                     topology="torus", link_bandwidth_gbs=10)
    with pytest.raises(SpecError, match="interconnect.link_bandwidth_gbs"):
        get_plugin_manager().load_spec("tpu-v4", ["interconnect.link_bandwidth_gbs=0"])


def test_the_search_holds_the_keys_given_and_beats_or_matches_the_held_layout():
    free = estimate_training("gpt3-13b", A100, 128, 1e9)
    held = estimate_training("gpt3-13b", A100, 128, 1e9,
                             parallel="flash=false,overlap=false,recompute=full,zero=0|1")
    p = held["parallel"]
    assert p["searched"] and not p["flash"] and not p["overlap"] and p["recompute"] == "full"
    assert p["zero"] in (0, 1)
    assert free["step_time_s"] <= held["step_time_s"]
    tp8 = estimate_training("gpt3-13b", A100, 128, 1e9, parallel="tp=8,search=true")
    assert tp8["parallel"]["tp"] == 8 and tp8["parallel"]["searched"]
    ly = enumerate_layouts(load_model("gpt3-13b"), 128, fixed={"vp": (2,), "pp": (4,)})
    assert set(ly.vp) == {2} and set(ly.pp) == {4}


def test_memory_with_sequence_parallelism_is_smaller_and_checked():
    m = load_model("gpt3-175b")
    ly = Layouts.of([parse_layout("dp=1,tp=8,pp=8,recompute=none"),
                     parse_layout("dp=1,tp=8,pp=8,recompute=none,sp=true")])
    mem = training_memory(m, ly, 16, 16)
    assert mem["activations_bytes"][1] < mem["activations_bytes"][0]
    row = traces.training_rows(m, resolve_hardware(A100).fmt, [8, 8], [1, 1],
                               sp=np.array([False, True]))
    norm = (row["primitive"][:, 0] == PRIMITIVE["elementwise"]) & (
        row["phase"][:, 0] == PHASE["train-forward"]) & (row["scope"][:, 0] == traces.LAYER)
    assert row["m"][norm, 1].sum() < row["m"][norm, 0].sum()   # norms, adds split over tp
