"""The GPU GEMM model (efficiency.gemm_time) on cases small enough to time by hand."""

from __future__ import annotations

import math

import pytest

from xpusim.core.errors import SpecError
from xpusim.core.scheduler import price_primitive
from xpusim.plugins.hardware.gpu.efficiency import gemm_time, storage_bytes

INF = 1e30          # a bandwidth that never binds
P = 4e12            # peak FLOP/s of a toy 4-SM chip: 1 TFLOP/s per SM at sustained 1
S = 4
ONLY_64 = 64 * 64   # cta_tile_max admitting 64 x 64 tiles only


def toy(m, n, k, *, l2=INF, hbm=INF, launch=0.0, stream_k=0, tile_max=ONLY_64, a=2.0, c=2.0):
    return gemm_time(m, n, k, a, c, P, 1.0, S, l2, hbm, tile_max, launch, stream_k)


def tile_time(k, tm=64, tn=64):
    return 2.0 * tm * tn * k / (P / S)


def test_one_wave_of_tiles_takes_one_tile_time():
    assert toy(128, 128, 1024) == pytest.approx(tile_time(1024), rel=1e-12)  # 4 tiles, 4 SMs


def test_wave_quantization_a_fifth_tile_doubles_the_time():
    """5 tiles on 4 SMs: a second wave with one busy SM (split-K would need 10 > 2 x 4 CTAs)."""
    assert toy(5 * 64, 64, 1024) == pytest.approx(2 * tile_time(1024), rel=1e-12)


def test_stream_k_spreads_the_fifth_tile_over_the_sms():
    fixup = 64 * 64 * 4 * 2 / (1e12 / S)  # one fp32 partial tile per SM, in and out of L2
    t = toy(5 * 64, 64, 1024, l2=1e12, stream_k=1)
    assert t == pytest.approx(5 / 4 * tile_time(1024) + fixup, rel=1e-12)
    assert t < 2 * tile_time(1024)


def test_tile_quantization_one_extra_row_costs_a_row_of_tiles():
    """65 rows need two 64-row tiles: 8 tiles, two waves, for 1.6 % more work."""
    assert toy(64, 4 * 64, 1024) == pytest.approx(tile_time(1024), rel=1e-12)
    assert toy(65, 4 * 64, 1024) == pytest.approx(2 * tile_time(1024), rel=1e-12)


def test_split_k_fills_idle_sms_and_pays_a_fixup():
    """One tile on 4 SMs: split K in 4 (4 CTAs, one wave), the last CTA sums 4 fp32 tiles."""
    l2 = 8e12
    split4 = tile_time(1024 // 4) + 4 * 64 * 64 * 4 / (l2 / S)
    split8 = 2 * tile_time(1024 // 8) + 8 * 64 * 64 * 4 / (l2 / S)  # 8 CTAs: two waves
    assert toy(64, 64, 1024, l2=l2) == pytest.approx(min(tile_time(1024), split4, split8),
                                                      rel=1e-12)
    assert split4 < tile_time(1024)


def test_a_tile_starved_of_operands_runs_at_the_l2_rate():
    """64 x 64 bf16 tiles need (64 + 64) x 2 B per 2 x 64 x 64 FLOP: 32 FLOP/B."""
    l2 = 16e12                                     # 4 TB/s per SM x 32 = 128 TFLOP/s > 1
    assert toy(128, 128, 1024, l2=l2) == pytest.approx(tile_time(1024), rel=1e-12)
    l2 = 62.5e9                                    # 15.6 GB/s per SM x 32 = 0.5 TFLOP/s < 1
    feed = (64 + 64) * 1024 * 2 / (l2 / S)
    assert toy(128, 128, 1024, l2=l2) == pytest.approx(feed, rel=1e-12)
    assert feed == pytest.approx(2 * tile_time(1024))


def test_k_rounds_up_to_128_byte_slabs():
    """bf16: 64-element slabs, so K = 65 costs as much as K = 128 (and fp32: 32 elements)."""
    assert toy(128, 128, 65) == pytest.approx(toy(128, 128, 128), rel=1e-12)
    assert toy(128, 128, 33, a=4.0) == pytest.approx(toy(128, 128, 64, a=4.0), rel=1e-12)


def test_launch_output_and_input_roofline():
    """Output written after the main loop adds; inputs stream under it unless they bind."""
    hbm = 1e9
    t = toy(128, 128, 1024, hbm=hbm, launch=5e-6)
    t_in = (128 * 1024 + 1024 * 128) * 2 / hbm
    assert t_in > tile_time(1024)
    assert t == pytest.approx(5e-6 + 128 * 128 * 2 / hbm + t_in, rel=1e-12)


def test_storage_bytes_rounds_bits_up_to_a_power_of_two():
    assert [storage_bytes(b) for b in (4, 8, 16, 19, 32)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def _gemm_s(pm, spec, m, n, k, fmt="bf16"):
    return price_primitive(pm, spec, "mvm", (m, n, k),
                           overrides=(f"compute_format={fmt}",))[1].total_time_s


def test_a_single_row_gemm_is_bound_by_reading_the_weights(pm):
    """m = 1: tile quantization wastes 63 of 64 rows, yet HBM binds: launch + weights / BW."""
    spec = pm.load_spec("h100-sxm")
    mem = spec.params.memory
    bw = mem.hbm_bandwidth_gbs * 1e9 * mem.achievable_bandwidth_fraction
    launch = spec.params.launch_overhead_us * 1e-6
    t = _gemm_s(pm, "h100-sxm", 1, 8192, 8192)
    assert t == pytest.approx(launch + (8192 + 8192 * 8192 + 8192) * 2 / bw, rel=1e-12)


def test_small_k_is_bound_by_writing_the_output(pm):
    """8192 x 8192 x 64: the 128 MB output takes longer than all the arithmetic."""
    spec = pm.load_spec("h100-sxm")
    mem = spec.params.memory
    out = 8192 * 8192 * 2 / (mem.hbm_bandwidth_gbs * 1e9 * mem.achievable_bandwidth_fraction)
    t = _gemm_s(pm, "h100-sxm", 8192, 8192, 64)
    ideal = 2 * 8192 * 8192 * 64 / (spec.params.peak.bf16_tflops * 1e12)
    assert t > spec.params.launch_overhead_us * 1e-6 + out > 5 * ideal


def test_gemm_rate_never_exceeds_the_sustained_peak(pm):
    for spec_name in ("a100-sxm-80gb", "h100-sxm", "h200", "b200", "mi300x", "v100-sxm2"):
        spec = pm.load_spec(spec_name)
        fmt = "bf16" if spec.params.peak.bf16_tflops else "fp16"
        peak = getattr(spec.params.peak, f"{fmt}_tflops") * 1e12
        sus = getattr(spec.params.gemm.sustained, fmt)
        for shape in ((16384, 16384, 16384), (4096, 4096, 4096), (1024, 8192, 512)):
            flop = 2 * math.prod(shape)
            assert flop / _gemm_s(pm, spec_name, *shape, fmt) <= peak * sus * (1 + 1e-12)


def test_a_format_with_a_peak_needs_a_sustained_fraction(pm):
    with pytest.raises(SpecError, match=r"gemm\.sustained\.fp8: must be > 0 where peak is not 0"):
        pm.load_spec("h100-sxm", ["gemm.sustained.fp8=0"])
