"""GPU prices of hand-computable cases, written out from the H100 spec's numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xpusim.core.errors import CostError
from xpusim.core.ledger import price
from xpusim.core.scheduler import price_primitive
from xpusim.core.trace import Trace

# h100-sxm.toml
PEAK_BF16 = 989.4e12
PEAK_FP32 = 66.9e12
FRACTION = 0.7             # achievable_compute_fraction (elementwise and reduce kernels)
BW = 3350e9 * 0.9
LAUNCH = 4e-6
STATIC_W = 70.0
E_MAC_BF16 = 1.274e-12
E_HBM = 31.2e-12
E_SRAM = 0.5e-12
E_VEC = 9.42e-12
SMS = 132                  # [gemm]
L2 = 11450e9
SUSTAINED_BF16 = 0.87


def test_large_bf16_gemm_runs_in_stream_k_waves_of_128x256_tiles(pm):
    m = n = k = 8192
    spec, ledger = price_primitive(pm, "h100-sxm", "mvm", (m, n, k),
                                   overrides=("compute_format=bf16",))
    macs = m * n * k
    # one SM sustains 0.87 of its share of peak; a 128 x 256 tile needs 85 FLOP per operand
    # byte, its SM gets 11.45 TB/s / 132 = 86.7 GB/s -> 7.4 TFLOP/s > 6.5: compute-bound
    rate = PEAK_BF16 * SUSTAINED_BF16 / SMS
    assert (2 * 128 * 256) / ((128 + 256) * 2) * (L2 / SMS) > rate
    t_tile = 2 * 128 * 256 * k / rate
    tiles = (m // 128) * (n // 256)                      # 2048 tiles = 15.5 waves of 132
    stream_k = tiles / SMS * t_tile + 128 * 256 * 4 * 2 / (L2 / SMS)
    tiles_192 = (m // 128) * math.ceil(n / 192)          # the next best tile: 2752 = 21 waves
    waves_128x192 = math.ceil(tiles_192 / SMS) * (2 * 128 * 192 * k / rate)
    assert stream_k < waves_128x192 < 16 * t_tile        # stream-K beats whole waves
    out = m * n * 2 / BW                                 # written after each tile's main loop
    assert (m * k + k * n) * 2 / BW < stream_k           # inputs stream under the compute
    t = LAUNCH + out + stream_k                          # 1.329 ms: published ~1.38 ms
    assert ledger.total_time_s == pytest.approx(t, rel=1e-12)
    hbm = 3 * 8192 * 8192 * 2
    onchip = 2 * macs * 2 / 128
    e = ledger.by_component()
    assert e["compute"] == pytest.approx(macs * E_MAC_BF16, rel=1e-12)
    assert e["offchip_memory"] == pytest.approx(hbm * E_HBM, rel=1e-12)
    assert e["onchip_memory"] == pytest.approx(onchip * E_SRAM, rel=1e-12)
    assert e["static"] == pytest.approx(t * STATIC_W, rel=1e-12)
    assert ledger.extra_totals()["flops"] == 2 * macs


def test_elementwise_is_memory_bound(pm):
    elements, arrays, ops = 10**8, 3, 2  # e.g. c = relu(a) * b in fp32
    trace = Trace()
    trace.add("inference", 0, "elementwise", elements, arrays, ops, 32, "fp32")
    spec = pm.load_spec("h100-sxm")
    ledger = price(trace, pm.cost_model(spec), spec.name)
    nbytes = elements * arrays * 4
    t = max(elements * ops / (PEAK_FP32 * FRACTION), nbytes / BW) + LAUNCH
    assert nbytes / BW > elements * ops / (PEAK_FP32 * FRACTION)  # memory-bound indeed
    assert ledger.total_time_s == pytest.approx(t, rel=1e-12)
    e = ledger.by_component()
    assert e["offchip_memory"] == pytest.approx(nbytes * E_HBM, rel=1e-12)
    assert e["compute"] == pytest.approx(elements * ops * E_VEC, rel=1e-12)


def test_count_scales_linearly_and_empty_trace_is_free(pm):
    spec = pm.load_spec("h100-sxm")
    cost = pm.cost_model(spec)
    one, ten = Trace(), Trace()
    one.add("inference", 0, "mvm", 32, 256, 64, 32, "fp32")
    ten.add("inference", 0, "mvm", 32, 256, 64, 32, "fp32", count=10)
    a, b = price(one, cost), price(ten, cost)
    assert b.total_time_s == pytest.approx(10 * a.total_time_s)
    assert b.total_energy_j == pytest.approx(10 * a.total_energy_j)
    empty = price(Trace(), cost)
    assert empty.total_time_s == 0 and empty.total_energy_j == 0


def test_a_trace_priced_whole_equals_the_sum_of_its_parts(pm):
    rng = np.random.default_rng(0)
    spec = pm.load_spec("a100-sxm-80gb")
    cost = pm.cost_model(spec)
    trace = Trace()
    for _ in range(50):
        prim = ["mvm", "mvm_t", "update", "elementwise"][int(rng.integers(4))]
        trace.add("train-forward", 0, prim, *map(int, rng.integers(1, 2000, 3)), 16, "bf16")
    whole = price(trace, cost)
    halves = [price(trace.select(mask), cost) for mask in
              (np.arange(50) < 20, np.arange(50) >= 20)]
    assert whole.total_energy_j == pytest.approx(sum(h.total_energy_j for h in halves), rel=1e-12)
    assert whole.total_time_s == pytest.approx(sum(h.total_time_s for h in halves), rel=1e-12)


def test_a_format_the_chip_lacks_is_an_error_not_a_zero(pm):
    with pytest.raises(CostError, match=r"spec 'v100-sxm2' .*cannot price it: primitive 'mvm'.*16 bits"):
        price_primitive(pm, "v100-sxm2", "mvm", (64, 64, 64), overrides=("compute_format=bf16",))


def test_peak_energy_is_bounded_by_tdp(pm):
    """At a format's peak, dynamic compute power + static is the TDP (how MAC energy was derived)."""
    spec = pm.load_spec("h100-sxm")
    p = spec.params
    watts = p.peak.bf16_tflops * 1e12 / 2 * p.mac_energy.bf16_pj * 1e-12 + p.static_power_w
    assert watts == pytest.approx(p.tdp_w, rel=0.01)
