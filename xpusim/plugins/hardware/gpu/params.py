"""GPU spec parameters (frozen attrs, one class per physical stage). Units are in the names."""

from __future__ import annotations

from typing import Literal

import attrs

from xpusim.core.specs import check, option, quantity

ComputeFormat = Literal["fp32", "tf32", "bf16", "fp16", "fp8-e4m3", "fp8-e5m2"]


@attrs.frozen(kw_only=True)
class PeakRates:
    """Dense peak throughput per number format (0 = not supported by the chip)."""

    fp32_tflops: float = quantity(unit="TFLOP/s", doc="FP32 on CUDA cores (no tensor cores)", gt=0)
    tf32_tflops: float = quantity(unit="TFLOP/s", doc="TF32 tensor cores, dense", default=0.0, ge=0)
    bf16_tflops: float = quantity(unit="TFLOP/s", doc="BF16 tensor cores, dense", default=0.0, ge=0)
    fp16_tflops: float = quantity(unit="TFLOP/s", doc="FP16 tensor cores, dense", default=0.0, ge=0)
    fp8_tflops: float = quantity(unit="TFLOP/s", doc="FP8 tensor cores, dense", default=0.0, ge=0)
    int8_tops: float = quantity(unit="TOP/s", doc="INT8 tensor cores, dense", default=0.0, ge=0)


@attrs.frozen(kw_only=True)
class MacEnergy:
    """Energy per multiply-accumulate by format, operand delivery from registers included."""

    fp32_pj: float = quantity(unit="pJ/MAC", doc="FP32 FMA on CUDA cores", gt=0)
    tf32_pj: float = quantity(unit="pJ/MAC", doc="TF32 tensor-core MAC", default=0.0, ge=0)
    bf16_pj: float = quantity(unit="pJ/MAC", doc="BF16 tensor-core MAC", default=0.0, ge=0)
    fp16_pj: float = quantity(unit="pJ/MAC", doc="FP16 tensor-core MAC", default=0.0, ge=0)
    fp8_pj: float = quantity(unit="pJ/MAC", doc="FP8 tensor-core MAC", default=0.0, ge=0)
    int8_pj: float = quantity(unit="pJ/MAC", doc="INT8 tensor-core MAC", default=0.0, ge=0)


@attrs.frozen(kw_only=True)
class Memory:
    """Off-chip HBM and on-chip SRAM (L2/shared memory)."""

    hbm_capacity_gb: float = quantity(unit="GB", doc="HBM capacity", gt=0)
    hbm_bandwidth_gbs: float = quantity(unit="GB/s", doc="HBM peak bandwidth", gt=0)
    achievable_bandwidth_fraction: float = quantity(
        unit="1", doc="fraction of peak HBM bandwidth streaming kernels reach", gt=0, le=1)
    hbm_energy_pj_per_byte: float = quantity(unit="pJ/B", doc="HBM access energy", ge=0)
    onchip_energy_pj_per_byte: float = quantity(unit="pJ/B", doc="L2/shared-memory access energy",
                                                ge=0)
    gemm_tile: int = quantity(unit="elements", doc="GEMM tile edge: on-chip operand reuse factor",
                              gt=0)


@attrs.frozen(kw_only=True)
class Sustained:
    """Fraction of a format's dense peak a GEMM main loop keeps up on an SM (power-limited
    clock, issue efficiency); 0 where the chip lacks the format."""

    fp32: float = quantity(unit="1", doc="FP32 GEMM on CUDA cores", ge=0, le=1)
    tf32: float = quantity(unit="1", doc="TF32 tensor-core GEMM", default=0.0, ge=0, le=1)
    bf16: float = quantity(unit="1", doc="BF16 tensor-core GEMM", default=0.0, ge=0, le=1)
    fp16: float = quantity(unit="1", doc="FP16 tensor-core GEMM", default=0.0, ge=0, le=1)
    fp8: float = quantity(unit="1", doc="FP8 tensor-core GEMM", default=0.0, ge=0, le=1)
    int8: float = quantity(unit="1", doc="INT8 tensor-core GEMM", default=0.0, ge=0, le=1)


@attrs.frozen(kw_only=True)
class Gemm:
    """What sets a GEMM's speed besides peak: SMs, CTA tiles, operand bandwidth into the SMs."""

    sm_count: int = quantity(unit="SMs", doc="streaming multiprocessors (compute units) the "
                                             "GEMM's tiles run on", gt=0)
    l2_bandwidth_gbs: float = quantity(unit="GB/s", doc="L2 to SM operand bandwidth, all SMs "
                                                        "together", gt=0)
    cta_tile_max: int = quantity(unit="elements", ge=4096,
                                 doc="largest CTA output tile (tm x tn) GEMM kernels use; "
                                     "edges 64, 128, 192, 256")
    stream_k: bool = option(doc="GEMM libraries may spread the K loops of all tiles evenly over "
                                "the SMs (stream-K) instead of running whole tiles in waves",
                            default=False)
    sustained: Sustained


@attrs.frozen(kw_only=True)
class GpuParams:
    """A GPU: tensor-core formats, roofline rates, memory system and power."""

    peak: PeakRates
    mac_energy: MacEnergy
    memory: Memory
    gemm: Gemm
    compute_format: ComputeFormat = option(
        doc="format of GEMM operands (activations, weights, errors); accumulation is fp32",
        default="fp32")
    master_weights: bool = option(doc="keep an fp32 master copy of weights (mixed precision)",
                                  default=True)
    loss_scale: float = quantity(unit="1", doc="initial loss scale (fp16 training)", default=1.0,
                                 gt=0)
    dynamic_loss_scaling: bool = option(
        doc="halve the loss scale on overflow, double it after 2000 clean steps", default=False)
    achievable_compute_fraction: float = quantity(
        unit="1", doc="fraction of peak FP32 FLOP/s elementwise and reduce kernels reach "
                      "(GEMMs: [gemm])", gt=0, le=1, default=0.7)
    vector_op_energy_pj: float = quantity(unit="pJ/op", doc="elementwise fp32 op on CUDA cores",
                                          ge=0, default=1.0)
    launch_overhead_us: float = quantity(unit="us", doc="fixed time per kernel launch", ge=0,
                                         default=4.0)
    static_power_w: float = quantity(unit="W", doc="power drawn whatever runs", ge=0)
    tdp_w: float = quantity(unit="W", doc="thermal design power (board)", gt=0)
    price_usd_per_hour: float = quantity(unit="USD/h", doc="price per device-hour", ge=0)
    process_nm: float = quantity(unit="nm", doc="process node", gt=0, default=7.0)

    def __attrs_post_init__(self) -> None:
        check(self.static_power_w < self.tdp_w, "static_power_w",
              f"must be below tdp_w ({self.tdp_w}), found {self.static_power_w}")
        for fmt, peak in (("fp32", self.peak.fp32_tflops), ("tf32", self.peak.tf32_tflops),
                          ("bf16", self.peak.bf16_tflops), ("fp16", self.peak.fp16_tflops),
                          ("fp8", self.peak.fp8_tflops), ("int8", self.peak.int8_tops)):
            check(peak == 0 or getattr(self.gemm.sustained, fmt) > 0, f"gemm.sustained.{fmt}",
                  f"must be > 0 where peak is not 0 (peak {peak}), found "
                  f"{getattr(self.gemm.sustained, fmt)}")
