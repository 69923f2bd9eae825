"""GPU prices of hand-computable cases, written out from the H100 spec's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.core.errors import CostError
from xpusim.core.ledger import price
from xpusim.core.scheduler import price_primitive
from xpusim.core.trace import Trace

# h100-sxm.toml
PEAK_BF16 = 989.4e12
PEAK_FP32 = 66.9e12
FRACTION = 0.7
BW = 3350e9 * 0.9
LAUNCH = 4e-6
STATIC_W = 70.0
E_MAC_BF16 = 1.274e-12
E_HBM = 31.2e-12
E_SRAM = 0.5e-12
E_VEC = 9.42e-12


def test_large_bf16_gemm_is_compute_bound(pm):
    m = n = k = 8192
    spec, ledger = price_primitive(pm, "h100-sxm", "mvm", (m, n, k),
                                   overrides=("compute_format=bf16",))
    macs = m * n * k
    t = 2 * macs / (PEAK_BF16 * FRACTION) + LAUNCH  # hbm: 3*8192^2*2 B / 3 TB/s = 0.13 ms < 1.6 ms
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
