"""Photonic accelerator parameters (frozen attrs, one class per physical stage). Units in names."""

from __future__ import annotations

import attrs

from xpusim.core import ParamVector
from xpusim.core.specs import check, quantity


@attrs.frozen(kw_only=True)
class Mesh:
    """MZI mesh tiles: each tile holds a rows x cols weight block as phase settings."""

    rows: int = quantity(unit="inputs", doc="tile inputs (the k dimension one pass covers)", gt=0)
    cols: int = quantity(unit="outputs", doc="tile outputs (the n dimension one pass covers)",
                         gt=0)
    tiles: int = quantity(unit="tiles", doc="tiles working in parallel", gt=0)
    symbol_rate_ghz: float = quantity(unit="GHz", doc="input vectors per second per tile", gt=0)
    weight_bits: int = quantity(unit="bit", doc="precision of a programmed weight (phase)",
                                ge=2, le=16)
    program_time_us: float = quantity(unit="us", doc="time to (re)program one tile's phases "
                                                     "(thermal settling)", ge=0)
    program_energy_nj: float = quantity(unit="nJ/weight", doc="energy to program one weight",
                                        ge=0)
    hold_power_mw: float = quantity(unit="mW/weight", doc="power to hold one weight's phase",
                                    ge=0)


@attrs.frozen(kw_only=True)
class Converter:
    """A DAC (inputs onto light) or ADC (photocurrent to digital)."""

    bits: int = quantity(unit="bit", doc="resolution", ge=2, le=16)
    energy_pj: float = quantity(unit="pJ/conversion", doc="energy per conversion", ge=0)


@attrs.frozen(kw_only=True)
class Noise:
    """Analog read noise of the optical product (shot, thermal and laser intensity noise)."""

    output_std: float = quantity(unit="1", doc="std of the output noise relative to the "
                                               "output full scale", ge=0, le=1)


@attrs.frozen(kw_only=True)
class Digital:
    """Electronic periphery: gradients, activations, optimizer, partial-sum accumulation."""

    mac_energy_pj: float = quantity(unit="pJ/MAC", doc="digital multiply-accumulate", ge=0)
    op_energy_pj: float = quantity(unit="pJ/op", doc="digital elementwise operation", ge=0)
    gops: float = quantity(unit="Gop/s", doc="digital throughput (MAC or op per second)", gt=0)
    sram_energy_pj_per_byte: float = quantity(unit="pJ/B", doc="on-chip buffer access", ge=0)
    sram_bandwidth_gbs: float = quantity(unit="GB/s", doc="on-chip buffer bandwidth", gt=0)


@attrs.frozen(kw_only=True)
class PhotonicParams:
    """A photonic MVM accelerator: MZI mesh tiles, DAC/ADC, lasers, digital periphery."""

    mesh: Mesh
    dac: Converter
    adc: Converter
    noise: Noise
    digital: Digital
    laser_power_w: float = quantity(unit="W", doc="wall-plug laser power while on", ge=0)
    price_usd_per_hour: float = quantity(unit="USD/h", doc="price per device-hour", ge=0)

    def __attrs_post_init__(self) -> None:
        check(self.adc.bits >= self.dac.bits, "adc",
              f"adc.bits ({self.adc.bits}) must be >= dac.bits ({self.dac.bits})")

    @property
    def static_power_w(self) -> float:
        """Lasers plus the power that holds every programmed phase."""
        m = self.mesh
        return self.laser_power_w + m.rows * m.cols * m.tiles * m.hold_power_mw * 1e-3


COST_PARAMS = ParamVector(
    rows="mesh.rows", cols="mesh.cols", tiles="mesh.tiles", rate="mesh.symbol_rate_ghz",
    t_prog="mesh.program_time_us", e_prog="mesh.program_energy_nj", e_dac="dac.energy_pj",
    e_adc="adc.energy_pj", e_mac="digital.mac_energy_pj", e_op="digital.op_energy_pj",
    gops="digital.gops", e_sram="digital.sram_energy_pj_per_byte",
    sram_bw="digital.sram_bandwidth_gbs")
"""What the cost kernel reads, in this order, in SI units (each key converted by its unit)."""
