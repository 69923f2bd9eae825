"""Serving: continuous batching with a paged KV cache, the prefill/decode split, fp8 caches,
grouped-query decode, the scheduler's limits, and J/token with and without PUE."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.core.trace import PRIMITIVE
from xpusim.llm import estimate_serving, load_model, resolve_hardware, traces
from xpusim.llm.estimate import MAX_TOKENS_PER_ITERATION, price_rows
from xpusim.llm.parallel import kv_bytes_per_token


def test_paged_continuous_batching_holds_more_sequences_than_static_batches():
    cont = estimate_serving("llama2-7b", "a100-sxm-80gb", batch=None, prompt_tokens=512,
                            output_tokens=512, tp=1)
    static = estimate_serving("llama2-7b", "a100-sxm-80gb", batch=None, prompt_tokens=512,
                              output_tokens=512, scheduling="static", tp=1)
    # the static cache is reserved for the full context, the paged one holds the current one
    assert cont["batch"] > static["batch"]
    assert cont["batch"] / static["batch"] == pytest.approx(1024 / (768 + 8), rel=0.02)
    for r in (cont, static):
        mem = r["memory_per_device_bytes"]
        assert mem["total_bytes"] <= 80e9 * 0.9


def test_kv_cache_bytes_follow_the_model():
    m = load_model("llama2-70b")  # 80 layers, 8 KV heads of 128
    assert kv_bytes_per_token(m, 1, 16) == 2 * 80 * 8 * 128 * 2
    assert kv_bytes_per_token(m, 8, 16) == 2 * 80 * 1 * 128 * 2
    assert kv_bytes_per_token(m, 16, 16) == 2 * 80 * 1 * 128 * 2   # replicated beyond 8


def test_prefill_share_and_first_token():
    long_prompt = estimate_serving("llama2-7b", "h100-sxm", batch=32, prompt_tokens=4000,
                                   output_tokens=64)
    long_output = estimate_serving("llama2-7b", "h100-sxm", batch=32, prompt_tokens=64,
                                   output_tokens=2000)
    assert 0 < long_output["prefill"]["share_of_time"] < long_prompt["prefill"]["share_of_time"]
    assert long_prompt["prefill"]["share_of_time"] < 1
    assert long_prompt["time_to_first_token_s"] > long_output["time_to_first_token_s"]
    assert long_prompt["time_to_first_token_s"] == pytest.approx(
        long_prompt["prefill"]["time_per_request_s"])


def test_the_scheduler_limits_bound_the_batch():
    r = estimate_serving("llama3-8b", "h100-sxm", batch=None, prompt_tokens=2048,
                         output_tokens=128, precision="fp8")
    assert r["batch"] <= MAX_TOKENS_PER_ITERATION / (1 + 2048 / 128)
    small = estimate_serving("llama3-8b", "h100-sxm", batch=None, prompt_tokens=128,
                             output_tokens=128, precision="fp8", max_batch=64)
    assert small["batch"] == 64


def test_energy_per_token_with_and_without_pue():
    r = estimate_serving("llama2-7b", "a100-sxm-80gb", batch=16, pue=1.3)
    assert r["j_per_token"] == pytest.approx(1.3 * r["j_per_token_device"])
    assert r["pue"] == 1.3 and r["j_per_token_includes_pue"] is True
    assert r["co2_kg_per_million_tokens"] == pytest.approx(
        r["j_per_token"] * 1e6 / 3.6e6 * 0.429)


def test_fp8_serving_reads_an_fp8_cache_and_stores_fp8_weights():
    bf16 = estimate_serving("llama2-7b", "h100-sxm", batch=48, prompt_tokens=128,
                            output_tokens=2048, scheduling="static", tp=1)
    fp8 = estimate_serving("llama2-7b", "h100-sxm", batch=48, prompt_tokens=128,
                           output_tokens=2048, scheduling="static", precision="fp8", tp=1)
    assert fp8["memory_per_device_bytes"]["weights_bytes"] == pytest.approx(
        bf16["memory_per_device_bytes"]["weights_bytes"] / 2)
    assert fp8["memory_per_device_bytes"]["kv_cache_bytes"] == pytest.approx(
        bf16["memory_per_device_bytes"]["kv_cache_bytes"] / 2)
    # decode is memory-bound: half the bytes, close to half the time per token
    assert 0.4 < fp8["time_per_output_token_s"] / bf16["time_per_output_token_s"] < 0.65


def test_grouped_query_decode_reads_each_kv_head_once():
    m = load_model("llama2-70b")
    hw = resolve_hardware("h100-sxm")
    grouped = traces.decode_rows(m, hw.fmt, [1], [32], [1024], flash=True)
    per_head = traces.decode_rows(m, hw.fmt, [1], [32], [1024], flash=True, grouped_kv=False)
    def att(rows):
        sel = (rows["primitive"][:, 0] == PRIMITIVE["matmul"]) & (rows["m"][:, 0] > 0)
        return rows["m"][sel, 0], rows["mult"][sel, 0]
    (mg, pg), (mh, ph) = att(grouped), att(per_head)
    assert (mg == 8).all() and (pg == 8 * 32).all()       # 8 query heads per KV head
    assert (mh == 1).all() and (ph == 64 * 32).all()
    tg, _ = price_rows(grouped, hw)
    th, _ = price_rows(per_head, hw)
    assert tg.sum() < th.sum()
    a = estimate_serving("llama2-70b", "h100-sxm", batch=64, tp=4)
    b = estimate_serving("llama2-70b", "h100-sxm", batch=64, tp=4, grouped_kv=False)
    assert a["tokens_per_s"] > b["tokens_per_s"]


def test_chunked_prefill_shares_the_weight_gemms():
    m = load_model("llama2-7b")
    hw = resolve_hardware("a100-sxm-80gb")
    it = traces.iteration_rows(m, hw.fmt, [1], [64], [600], 128.0, 512)
    qkv = (it["primitive"][:, 0] == PRIMITIVE["mvm"]) & (it["n"][:, 0] == m.qkv_width)
    assert it["m"][qkv, 0].tolist() == [64 + 128]
    t_mixed, _ = price_rows(it, hw)
    t_dec, _ = price_rows(traces.iteration_rows(m, hw.fmt, [1], [64], [600], 0.0, 512), hw)
    t_pre, _ = price_rows(traces.prefill_rows(m, hw.fmt, [1], [1], 128), hw)
    # one mixed iteration costs less than a decode step plus a separate prompt pass
    assert t_mixed.sum() < t_dec.sum() + t_pre.sum()
    assert np.isfinite(t_mixed).all()
