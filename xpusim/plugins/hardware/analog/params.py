"""Analog in-memory-computing spec parameters: one frozen attrs class per physical stage
(tile, dac, adc, noise, pcm, pulsed device, costs), as aihwkit composes its RPU configs.
Units are in the names; ``_dtod`` / ``_std`` mark device-to-device / cycle-to-cycle spread.

Three tables hold overrides of other tables, validated when the spec loads: ``backward`` (the
periphery of ``mvm_t``), ``transfer.read``/``transfer.fast`` (Tiki-Taka's transfer reads and
fast array) and ``layers`` (``[layers.N]``: any per-layer key for the N-th weight matrix placed,
0, 1, 2, ...; fixed feedback matrices are 1000 + l). ``layer_params`` and ``periphery``
resolve them.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from xpusim.core.errors import SpecError
from xpusim.core.specs import (SpecValueError, check, option, quantity, structure_params,
                               unstructure_params)

from .params_hwa import Clip, InferenceNoise, InputRange, Mapping, Modifier
from .params_insitu import LrSchedule, Pulsed, Transfer, overrides

TrainingMode = Literal["hardware-aware", "in-situ", "hybrid"]
DriftCompensation = Literal["none", "global", "column"]
BoundManagement = Literal["none", "iterative"]

CHIP_WIDE = ("tile", "training_mode", "inference_time_s", "digital_op_energy_pj",
             "digital_ops_per_s", "sram_energy_pj_per_byte", "static_power_w",
             "price_usd_per_hour", "process_nm", "layers")
"""Keys a ``[layers.N]`` table cannot set: the chip's geometry, mode, time and costs."""
PERIPHERY_KEYS = ("perfect", "dac", "adc", "noise")


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
class Periphery:
    """The resolved periphery of one kind of read (forward, backward, transfer); not a table."""

    perfect: bool
    dac: Dac
    adc: Adc
    noise: Noise


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
    hwa_noise_scale: float = quantity(unit="1", doc="hardware-aware training: the programming "
                                      "noise of inference_noise.model injected per batch, times "
                                      "this (0 = none)", ge=0, default=1.0)
    digital_op_energy_pj: float = quantity(unit="pJ/op", doc="digital periphery op (add, scale, "
                                           "activation)", ge=0)
    digital_ops_per_s: float = quantity(unit="op/s", doc="digital periphery throughput", gt=0)
    sram_energy_pj_per_byte: float = quantity(unit="pJ/B", doc="on-chip SRAM access", ge=0)
    static_power_w: float = quantity(unit="W", doc="power drawn whatever runs", ge=0)
    price_usd_per_hour: float = quantity(unit="USD/h", doc="price per device-hour", ge=0)
    process_nm: float = quantity(unit="nm", doc="process node", gt=0)
    transfer: Transfer = attrs.field(factory=Transfer)
    lr_schedule: LrSchedule = attrs.field(factory=LrSchedule)
    modifier: Modifier = attrs.field(factory=Modifier)
    clip: Clip = attrs.field(factory=Clip)
    mapping: Mapping = attrs.field(factory=Mapping)
    input_range: InputRange = attrs.field(factory=InputRange)
    inference_noise: InferenceNoise = attrs.field(factory=InferenceNoise)
    backward: dict[str, Any] = overrides("periphery of the backward pass (mvm_t): perfect, "
                                         "dac.*, adc.*, noise.* over the forward tables")
    layers: dict[str, Any] = overrides("[layers.N]: keys that differ for the N-th weight "
                                       "matrix placed (0, 1, ...; feedback matrices 1000 + l)")

    def __attrs_post_init__(self) -> None:
        mode = self.training_mode
        check(self.tile.weight_slices == 1 or mode == "hardware-aware",
              "tile.weight_slices", f"bit-slicing ({self.tile.weight_slices} slices) applies to "
              f"programmed weights only: needs training_mode = hardware-aware, found {mode!r}")
        algo = self.transfer.algorithm
        check(algo == "none" or mode == "in-situ", "transfer.algorithm",
              f"{algo!r} trains in-situ: needs training_mode = in-situ, found {mode!r}")
        check(algo not in ("c-ttv2", "agad") or self.transfer.rule().n_reads_per_transfer == 1,
              f"transfer.{algo.replace('-', '_')}.n_reads_per_transfer",
              "chopped rules read one row per transfer")
        check(not self.pulsed.one_sided.enabled or (mode == "in-situ" and algo == "none"),
              "pulsed.one_sided.enabled", "a one-sided pair trains in-situ with plain SGD "
              "(training_mode = in-situ, transfer.algorithm = none)")
        check(self.lr_schedule.kind == "constant" or mode != "hardware-aware", "lr_schedule.kind",
              "schedules pulsed (in-situ, hybrid) updates; hardware-aware training uses the "
              "digital optimizer")
        for table, on in (("modifier.type", self.modifier.type != "none"),
                          ("clip.type", self.clip.type != "none"),
                          ("input_range.enabled", self.input_range.enabled)):
            check(not on or mode == "hardware-aware", table,
                  f"acts on the digital weights of hardware-aware training, found {mode!r}")
        if self.inference_noise.model == "reram-wan2022":
            check(self.inference_time_s in WAN2022_TIMES_S, "inference_time_s",
                  f"reram-wan2022 is fitted at {', '.join(f'{t:g}' for t in WAN2022_TIMES_S)} s "
                  f"only, found {self.inference_time_s:g}")
        for name, table in (("backward", self.backward), ("transfer.read", self.transfer.read)):
            _periphery_table(self, table, name)
        if self.transfer.fast:
            fast_pulsed(self)
        for key, table in self.layers.items():
            _layer_table(self, key, table)


WAN2022_TIMES_S = (1.0, 86400.0, 172800.0)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over``'s keys set, tables merged key by key."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _structured(raw: dict[str, Any], cls: type, path: str) -> Any:
    """Structure ``raw`` as ``cls``, reporting a problem under ``path``."""
    try:
        return structure_params(raw, cls, "\x00")
    except SpecError as exc:
        line = str(exc).splitlines()[0].removeprefix("\x00: ")
        key, _, message = line.partition(": ")
        field = path if key in ("(top level)", "") else f"{path}.{key}"
        raise SpecValueError(field, message) from None


def _periphery_table(params: AnalogParams, table: dict[str, Any], path: str) -> Periphery:
    for key in table:
        check(key in PERIPHERY_KEYS, f"{path}.{key}",
              f"unknown key (expected one of {', '.join(PERIPHERY_KEYS)})")
    noise = table.get("noise", {})
    check(not isinstance(noise, dict) or "stuck_fraction" not in noise,
          f"{path}.noise.stuck_fraction", "a device property, not a periphery setting")
    base = {"perfect": False, "dac": unstructure_params(params.dac),
            "adc": unstructure_params(params.adc), "noise": unstructure_params(params.noise)}
    return _structured(_merge(base, table), Periphery, path)


def _layer_table(params: AnalogParams, key: str, table: Any) -> AnalogParams:
    check(key.isdigit(), f"layers.{key}", "expected a layer id (0, 1, ...; feedback 1000 + l)")
    check(isinstance(table, dict), f"layers.{key}", f"expected a table, found {table!r}")
    for sub in table:
        check(sub not in CHIP_WIDE, f"layers.{key}.{sub}",
              "chip-wide: cannot differ per layer")
    base = unstructure_params(params)
    base.pop("layers")
    return _structured(_merge(base, table), AnalogParams, f"layers.{key}")


def layer_params(params: AnalogParams, layer: int) -> AnalogParams:
    """The parameters of weight matrix ``layer``: ``params`` with its ``[layers.N]`` applied."""
    table = params.layers.get(str(layer))
    if not table:
        return params
    return _layer_table(params, str(layer), table)


def fast_pulsed(params: AnalogParams) -> Pulsed:
    """The device of Tiki-Taka's fast array: ``[pulsed]`` with ``transfer.fast`` applied."""
    if not params.transfer.fast:
        return params.pulsed
    return _structured(_merge(unstructure_params(params.pulsed), params.transfer.fast), Pulsed,
                       "transfer.fast")


def periphery(params: AnalogParams, which: str = "forward") -> Periphery:
    """The periphery of ``forward``, ``backward`` or ``transfer`` reads."""
    if which == "forward":
        return Periphery(perfect=False, dac=params.dac, adc=params.adc, noise=params.noise)
    table = params.backward if which == "backward" else params.transfer.read
    return _periphery_table(params, table, "backward" if which == "backward" else
                            "transfer.read")
