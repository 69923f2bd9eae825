"""Analog in-memory-computing spec parameters: one frozen attrs class per physical stage
(tile, dac, adc, noise, pcm, pulsed device, costs), as aihwkit composes its RPU configs.
Units are in the names; ``_dtod`` / ``_std`` mark device-to-device / cycle-to-cycle spread."""

from __future__ import annotations

from typing import Literal

import attrs

from xpusim.core.specs import check, option, quantity

TrainingMode = Literal["hardware-aware", "in-situ", "hybrid"]
DriftCompensation = Literal["none", "global", "column"]
DeviceModel = Literal["constant-step", "soft-bounds"]
BoundManagement = Literal["none", "iterative"]


@attrs.frozen(kw_only=True)
class Tile:
    """Crossbar tiles: size, how many the chip holds, read timing and energy."""

    rows: int = quantity(unit="cells", doc="crossbar rows (inputs) per tile", gt=0)
    cols: int = quantity(unit="cells", doc="crossbar columns (outputs) per tile", gt=0)
    tiles_on_chip: int = quantity(unit="tiles", doc="crossbar tiles on the chip", gt=0)
    max_tile_cells: int = quantity(unit="cells", doc="largest crossbar the chip's process allows "
                                   "(rows x cols must fit)", gt=0, default=1 << 20)
    read_time_ns: float = quantity(unit="ns", doc="integration (read) time of one MVM on a tile",
                                   gt=0)
    cell_read_energy_fj: float = quantity(unit="fJ/cell", doc="array read energy per cell per MVM",
                                          ge=0)
    ir_drop: float = quantity(unit="1", doc="first-order IR-drop attenuation at the far end of a "
                              "row (0 = off)", ge=0, le=1, default=0.0)
    weight_slices: int = quantity(unit="device pairs/weight", doc="bit-slicing: conductance pairs "
                                  "per weight, each on its own column and ADC (1 = off)", gt=0,
                                  default=1)
    slice_significance: float = quantity(unit="1", doc="significance ratio between consecutive "
                                         "slices (slice s weighs slice_significance^-s)", gt=1,
                                         default=8.0)

    def __attrs_post_init__(self) -> None:
        check(self.rows * self.cols <= self.max_tile_cells, "rows",
              f"tile {self.rows}x{self.cols} is larger than the chip's largest crossbar "
              f"({self.max_tile_cells} cells)")


@attrs.frozen(kw_only=True)
class Dac:
    """Input DACs (one per row): resolution, input range, dynamic input scaling."""

    enabled: bool = option(doc="quantize and clip inputs (false = ideal inputs)", default=True)
    bits: int = quantity(unit="bit", doc="DAC resolution (sign included); converters reach at "
                         "most 32 bits", gt=0, le=32)
    input_bound: float = quantity(unit="1", doc="clip inputs to +-bound after scaling", gt=0,
                                  default=1.0)
    dynamic_scaling: bool = option(doc="scale each input vector by its max |x| before the DAC",
                                   default=True)
    energy_pj: float = quantity(unit="pJ/conversion", doc="energy per DAC conversion (row drive)",
                                ge=0)


@attrs.frozen(kw_only=True)
class Adc:
    """Output ADCs: resolution, saturation bound, sharing and Walden figure of merit."""

    enabled: bool = option(doc="quantize and saturate outputs (false = ideal outputs)",
                           default=True)
    bits: int = quantity(unit="bit", doc="ADC resolution; converters reach at most 32 bits "
                         "(energy grows as 2^bits)", gt=0, le=32)
    output_bound: float = quantity(unit="1", doc="saturation bound of the ADC in units of one "
                                   "fully-on row (g_max x input bound)", gt=0)
    columns_per_adc: int = quantity(unit="columns", doc="columns multiplexed onto one ADC", gt=0)
    conversion_time_ns: float = quantity(unit="ns", doc="time of one conversion", gt=0)
    walden_fom_fj: float = quantity(unit="fJ/conversion-step",
                                    doc="Walden FoM: energy per conversion = FoM x 2^bits", gt=0)
    bound_management: BoundManagement = option(
        doc="none: saturated outputs stay clipped; iterative: an input vector whose outputs "
        "saturate is read again with the DAC range halved, up to 10 times (aihwkit's default "
        "BoundManagementType.ITERATIVE); the extra reads are priced", default="none")


@attrs.frozen(kw_only=True)
class Noise:
    """Read non-idealities (each 0 = off)."""

    out_noise_std: float = quantity(unit="1", doc="additive output noise per read, in units of "
                                    "one fully-on row", ge=0, default=0.0)
    w_noise_std: float = quantity(unit="1", doc="per-read conductance noise, relative to g_max",
                                  ge=0, default=0.0)
    stuck_fraction: float = quantity(unit="1", doc="fraction of devices stuck (half at 0, half "
                                     "at g_max)", ge=0, le=1, default=0.0)


@attrs.frozen(kw_only=True)
class Pcm:
    """Programmed-conductance physics after the PCM model of REFERENCES E8-E10."""

    g_max_us: float = quantity(unit="uS", doc="largest programmable conductance", gt=0)
    prog_noise_scale: float = quantity(unit="1", doc="multiplier on E8's programming-noise "
                                       "polynomial (0 = off)", ge=0, default=1.0)
    drift_scale: float = quantity(unit="1", doc="multiplier on E9's drift exponent nu (0 = off)",
                                  ge=0, default=1.0)
    read_noise_scale: float = quantity(unit="1", doc="multiplier on E10's 1/f read noise "
                                       "(0 = off)", ge=0, default=1.0)
    t0_s: float = quantity(unit="s", doc="drift reference time after programming", gt=0,
                           default=20.0)
    t_read_s: float = quantity(unit="s", doc="read duration for the 1/f noise integral", gt=0,
                               default=2.5e-7)
    program_verify_iterations: float = quantity(unit="pulses/cell",
                                                doc="program-and-verify iterations per cell", gt=0)
    program_pulse_energy_pj: float = quantity(unit="pJ/pulse",
                                              doc="energy of one programming pulse + verify read",
                                              ge=0)
    program_pulse_time_ns: float = quantity(unit="ns", doc="one program + verify step (a row of "
                                            "a tile in parallel)", gt=0)


@attrs.frozen(kw_only=True)
class Pulsed:
    """In-situ update device (aihwkit PulsedDevice, REFERENCES E13), weights in [w_min, w_max]."""

    model: DeviceModel = option(doc="constant-step or soft-bounds response", default="constant-step")
    dw_min: float = quantity(unit="weight", doc="mean weight change of one pulse", gt=0)
    w_max: float = quantity(unit="weight", doc="upper weight bound (w_min = -w_max)", gt=0)
    dw_min_dtod: float = quantity(unit="1", doc="device-to-device spread of dw_min (relative)",
                                  ge=0, default=0.0)
    dw_min_std: float = quantity(unit="1", doc="cycle-to-cycle spread of each pulse (relative)",
                                 ge=0, default=0.0)
    up_down: float = quantity(unit="1", doc="up/down asymmetry a, as aihwkit's C++ applies it: "
                              "a > 0 shrinks down steps to (1-a), a < 0 up steps to (1+a)",
                              ge=-1, le=1, default=0.0)
    up_down_dtod: float = quantity(unit="1", doc="device-to-device spread of the asymmetry",
                                   ge=0, default=0.0)
    w_bounds_dtod: float = quantity(unit="1", doc="device-to-device spread of the bounds "
                                    "(relative)", ge=0, default=0.0)
    pulse_train_length: int = quantity(unit="pulses", doc="BL: stochastic pulse slots per update "
                                       "(at most 64)", gt=0, le=64, default=31)
    pulse_energy_pj: float = quantity(unit="pJ/pulse", doc="energy of one coincident update pulse "
                                      "at a cell", ge=0)
    pulse_time_ns: float = quantity(unit="ns", doc="one pulse slot (whole array in parallel)",
                                    gt=0)

    def __attrs_post_init__(self) -> None:
        check(self.dw_min < self.w_max, "dw_min",
              f"must be below w_max ({self.w_max}), found {self.dw_min}")


@attrs.frozen(kw_only=True)
class AnalogParams:
    """An analog in-memory-computing chip: tiles, periphery, devices, costs, modes."""

    tile: Tile
    dac: Dac
    adc: Adc
    noise: Noise
    pcm: Pcm
    pulsed: Pulsed
    training_mode: TrainingMode = option(doc="hardware-aware | in-situ | hybrid",
                                         default="hardware-aware")
    inference_time_s: float = quantity(unit="s", doc="time after programming when inference runs",
                                       gt=0, default=1.0)
    drift_compensation: DriftCompensation = option(doc="none | global | column", default="global")
    hwa_noise_scale: float = quantity(unit="1", doc="hardware-aware training: programming noise "
                                      "injected per batch, x E8 (0 = none)", ge=0, default=1.0)
    digital_op_energy_pj: float = quantity(unit="pJ/op", doc="digital periphery op (add, scale, "
                                           "activation)", ge=0)
    digital_ops_per_s: float = quantity(unit="op/s", doc="digital periphery throughput", gt=0)
    sram_energy_pj_per_byte: float = quantity(unit="pJ/B", doc="on-chip SRAM access", ge=0)
    static_power_w: float = quantity(unit="W", doc="power drawn whatever runs", ge=0)
    price_usd_per_hour: float = quantity(unit="USD/h", doc="price per device-hour", ge=0)
    process_nm: float = quantity(unit="nm", doc="process node", gt=0)

    def __attrs_post_init__(self) -> None:
        check(self.tile.weight_slices == 1 or self.training_mode == "hardware-aware",
              "tile.weight_slices", f"bit-slicing ({self.tile.weight_slices} slices) applies to "
              f"programmed weights only: needs training_mode = hardware-aware, found "
              f"{self.training_mode!r}")
