"""Spec tables of in-situ training: the pulsed device zoo, the Tiki-Taka family, LR schedules.

Names and defaults follow IBM aihwkit's device configs (``aihwkit.simulator.configs``:
``PulsedDevice`` and its step models, ``TransferCompound`` and its buffered/chopped/dynamic
variants, REFERENCES E12, E13), with ``_dtod`` (device-to-device) and ``_std``
(cycle-to-cycle) spreads in units relative to their parameter.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from xpusim.core.specs import check, option, quantity

DeviceModel = Literal["constant-step", "linear-step", "soft-bounds", "exp-step", "pow-step",
                      "piecewise-step"]
Algorithm = Literal["none", "tiki-taka", "ttv2", "c-ttv2", "agad"]
ScheduleKind = Literal["constant", "step", "exponential", "cosine", "linear"]


def overrides(doc: str) -> Any:
    """A table of spec keys that override other tables (validated when the spec loads)."""
    return attrs.field(factory=dict, hash=False, metadata={"unit": "", "doc": doc})


def numbers(*, unit: str, doc: str, default: tuple[float, ...]) -> Any:
    """A list of numbers (a TOML array)."""
    return attrs.field(factory=lambda: list(default), converter=tuple,
                       metadata={"unit": unit, "doc": doc})


@attrs.frozen(kw_only=True)
class LinearStep:
    """linear-step response: the step shrinks linearly toward the bounds (aihwkit LinearStep)."""

    gamma_up: float = quantity(unit="1", doc="relative decrease of the up step at the upper "
                               "bound (1 = soft bounds)", default=0.0)
    gamma_down: float = quantity(unit="1", doc="relative decrease of the down step at the lower "
                                 "bound", default=0.0)
    gamma_up_dtod: float = quantity(unit="1", doc="device-to-device spread of gamma_up",
                                    ge=0, default=0.05)
    gamma_down_dtod: float = quantity(unit="1", doc="device-to-device spread of gamma_down",
                                      ge=0, default=0.05)
    allow_increasing: bool = option(doc="allow steps that grow toward the bound (negative gamma)",
                                    default=False)
    mean_bound_reference: bool = option(doc="slopes relative to the mean bounds w_max/w_min "
                                        "(else each device's own bounds)", default=True)


@attrs.frozen(kw_only=True)
class ExpStep:
    """exp-step response (aihwkit ExpStepDevice): step x max(1 - A e^(±g z), 0),
    z = 2 a w / (b_max - b_min) + b."""

    slope_a: float = quantity(unit="1", doc="a: slope of z in the weight", default=0.244)
    offset_b: float = quantity(unit="1", doc="b: offset of z", default=0.2425)
    amplitude_up: float = quantity(unit="1", doc="A of up steps", default=0.00081)
    amplitude_down: float = quantity(unit="1", doc="A of down steps", default=0.36833)
    exponent_up: float = quantity(unit="1", doc="g of up steps", default=12.44625)
    exponent_down: float = quantity(unit="1", doc="g of down steps", default=12.78785)
    dw_min_std_add: float = quantity(unit="weight", doc="cycle-to-cycle noise: additive part "
                                     "(with dw_min_std_slope, replaces the multiplicative noise)",
                                     ge=0, default=0.0)
    dw_min_std_slope: float = quantity(unit="1", doc="cycle-to-cycle noise: part proportional "
                                       "to |w|", ge=0, default=0.0)


@attrs.frozen(kw_only=True)
class PowStep:
    """pow-step response (aihwkit PowStepDevice, after Fusi & Abbott 2007): up steps x
    ((b_max - w)/range)^gamma, down steps x ((w - b_min)/range)^gamma."""

    gamma: float = quantity(unit="1", doc="exponent", gt=0, default=1.0)
    gamma_dtod: float = quantity(unit="1", doc="device-to-device spread of the exponent", ge=0,
                                 default=0.1)
    up_down: float = quantity(unit="1", doc="up/down bias of the exponent", ge=-1, le=1,
                              default=0.0)
    up_down_dtod: float = quantity(unit="1", doc="device-to-device spread of that bias", ge=0,
                                   default=0.0)


@attrs.frozen(kw_only=True)
class PiecewiseStep:
    """piecewise-step response (aihwkit PiecewiseStepDevice): the step times a factor linearly
    interpolated from a table over [b_min, b_max]."""

    up: tuple[float, ...] = numbers(unit="1", doc="step factors of up pulses, evenly spaced "
                                    "from the lower to the upper bound", default=(1.0,))
    down: tuple[float, ...] = numbers(unit="1", doc="step factors of down pulses (same length)",
                                      default=(1.0,))

    def __attrs_post_init__(self) -> None:
        check(len(self.up) >= 1 and len(self.up) == len(self.down), "down",
              f"needs as many factors as up ({len(self.up)}), found {len(self.down)}")
        check(all(v >= 0 for v in (*self.up, *self.down)), "up", "factors must be >= 0")


@attrs.frozen(kw_only=True)
class OneSided:
    """Unidirectional devices (e.g. PCM) as a pair w = G+ - G-, each only ever potentiated,
    with periodic refresh (aihwkit OneSidedUnitCell)."""

    enabled: bool = option(doc="use a G+/G- pair of unidirectional devices", default=False)
    refresh_every: int = quantity(unit="batches", doc="check for refresh every n batches "
                                  "(0 = never)", ge=0, default=1)
    upper_thres: float = quantity(unit="1", doc="refresh when one device passes this fraction "
                                  "of its range", gt=0, le=1, default=0.75)
    lower_thres: float = quantity(unit="1", doc="... and the other passes this one", gt=0, le=1,
                                  default=0.25)


@attrs.frozen(kw_only=True)
class Pulsed:
    """In-situ update device (aihwkit PulsedDevice, REFERENCES E13), weights in [w_min, w_max]."""

    model: DeviceModel = option(doc="device response to a pulse (tables below)",
                                default="constant-step")
    dw_min: float = quantity(unit="weight", doc="mean weight change of one pulse at w = 0", gt=0)
    w_max: float = quantity(unit="weight", doc="mean upper weight bound", gt=0)
    w_min: float = quantity(unit="weight", doc="mean lower weight bound", le=0)
    dw_min_dtod: float = quantity(unit="1", doc="device-to-device spread of dw_min (relative)",
                                  ge=0, default=0.0)
    dw_min_dtod_log_normal: bool = option(doc="draw that spread log-normal instead of normal",
                                          default=False)
    dw_min_std: float = quantity(unit="1", doc="cycle-to-cycle spread of each pulse (relative)",
                                 ge=0, default=0.0)
    up_down: float = quantity(unit="1", doc="up/down asymmetry a, as aihwkit's C++ applies it: "
                              "a > 0 shrinks down steps to (1-a), a < 0 up steps to (1+a)",
                              ge=-1, le=1, default=0.0)
    up_down_dtod: float = quantity(unit="1", doc="device-to-device spread of the asymmetry",
                                   ge=0, default=0.0)
    w_max_dtod: float = quantity(unit="1", doc="device-to-device spread of w_max (relative)",
                                 ge=0, default=0.0)
    w_min_dtod: float = quantity(unit="1", doc="device-to-device spread of w_min (relative)",
                                 ge=0, default=0.0)
    mult_noise: bool = option(doc="linear-step and soft-bounds: cycle-to-cycle noise scales the "
                              "whole step (else only its constant part)", default=True)
    write_noise_std: float = quantity(unit="dw_min", doc="write noise: the weight read is the "
                                      "device state plus this x dw_min x N(0,1), redrawn at "
                                      "each touch", ge=0, default=0.0)
    subtract_symmetry_point: bool = option(doc="linear-step/soft-bounds: read each device "
                                           "against a reference at its symmetry point (aihwkit "
                                           "SoftBoundsReferenceDevice)", default=False)
    reference_std: float = quantity(unit="weight", doc="device-to-device error of that "
                                    "reference", ge=0, default=0.0)
    lifetime: float = quantity(unit="batches", doc="leakage toward the reset value: "
                               "w -= (w - reset)/lifetime per batch (0 = none)", ge=0,
                               default=0.0)
    lifetime_dtod: float = quantity(unit="1", doc="device-to-device spread of lifetime", ge=0,
                                    default=0.0)
    reset: float = quantity(unit="weight", doc="reset value (leakage target, one-sided refresh)",
                            default=0.0)
    reset_dtod: float = quantity(unit="weight", doc="device-to-device spread of reset", ge=0,
                                 default=0.0)
    reset_std: float = quantity(unit="weight", doc="cycle-to-cycle spread of a reset", ge=0,
                                default=0.01)
    pulse_train_length: int = quantity(unit="pulses", doc="BL: most stochastic pulse slots per "
                                       "update (at most 64)", gt=0, le=64, default=31)
    update_management: bool = option(doc="balance the x and d pulse probabilities by max|x| and "
                                     "max|d| (aihwkit update_management)", default=True)
    update_bl_management: bool = option(doc="shorten the train to ceil(lr max|x| max|d| / dw_min) "
                                        "slots per sample (aihwkit update_bl_management)",
                                        default=True)
    pulse_energy_pj: float = quantity(unit="pJ/pulse", doc="energy of one coincident update pulse "
                                      "at a cell", ge=0)
    pulse_time_ns: float = quantity(unit="ns", doc="one pulse slot (whole array in parallel)",
                                    gt=0)
    linear_step: LinearStep = attrs.field(factory=LinearStep)
    exp_step: ExpStep = attrs.field(factory=ExpStep)
    pow_step: PowStep = attrs.field(factory=PowStep)
    piecewise_step: PiecewiseStep = attrs.field(factory=PiecewiseStep)
    one_sided: OneSided = attrs.field(factory=OneSided)

    def __attrs_post_init__(self) -> None:
        check(self.dw_min < self.w_max, "dw_min",
              f"must be below w_max ({self.w_max}), found {self.dw_min}")


def _tt(unit: str, doc: str, default: Any, **kw: Any) -> Any:
    return quantity(unit=unit, doc=doc, default=default, **kw)


@attrs.frozen(kw_only=True)
class TikiTaka:
    """Tiki-Taka (aihwkit TransferCompound, Gokmen & Haensch 2020): A -> C by pulsed writes."""

    transfer_every: float = _tt("update cycles", "transfer every n update cycles (x batch size "
                                "when units_in_mbatch; 0 = never)", 1.0, ge=0)
    units_in_mbatch: bool = option(doc="count transfer_every in batches", default=True)
    n_reads_per_transfer: int = _tt("rows", "rows of A read and moved per transfer", 1, gt=0)
    gamma: float = _tt("1", "weight read in the forward pass: gamma A + C", 0.0, ge=0)
    fast_lr: float = _tt("1", "learning rate of the pulses onto A (0 = the SGD rate)", 1.0, ge=0)
    scale_fast_lr: bool = option(doc="multiply fast_lr by the SGD rate", default=True)
    transfer_lr: float = _tt("1", "learning rate of a transfer", 1.0, ge=0)
    scale_transfer_lr: bool = option(doc="multiply transfer_lr by the SGD rate", default=True)
    transfer_bl: int = _tt("pulses", "pulse train length of a transfer write (most steps per "
                           "transfer for the buffered rules)", 31, gt=0, le=64)
    transfer_update_management: bool = option(doc="update (BL) management for transfer writes",
                                              default=True)


@attrs.frozen(kw_only=True)
class TTv2(TikiTaka):
    """TTv2 (aihwkit BufferedTransferCompound, Gokmen 2021): a digital buffer between A and C."""

    transfer_bl: int = _tt("pulses", "most pulses a buffer entry sends per transfer", 1, gt=0,
                           le=64)
    transfer_update_management: bool = option(doc="update (BL) management for transfer writes",
                                              default=False)
    thres_scale: float = _tt("dw_min(C)", "buffer threshold in units of C's dw_min", 1.0, gt=0)
    step: float = _tt("dw_min(C)", "size of a transfer write step in units of C's dw_min", 1.0,
                      gt=0)
    momentum: float = _tt("1", "fraction of the buffer kept after a transfer", 0.1, ge=0, le=1)
    forget_buffer: bool = option(doc="after a transfer keep momentum x buffer (else subtract "
                                 "the steps taken)", default=True)


@attrs.frozen(kw_only=True)
class ChoppedTTv2(TTv2):
    """Chopped TTv2 (aihwkit ChoppedTransferCompound, Rasch et al. 2024): random sign choppers."""

    units_in_mbatch: bool = option(doc="count transfer_every in batches", default=False)
    scale_fast_lr: bool = option(doc="multiply fast_lr by the SGD rate", default=False)
    momentum: float = _tt("1", "fraction of the buffer kept after a transfer", 0.0, ge=0, le=1)
    in_chop_prob: float = _tt("1", "probability that a row's chopper flips after its read", 0.1,
                              ge=0, le=1)
    in_chop_random: bool = option(doc="flip at random (else every 1/in_chop_prob reads)",
                                  default=True)
    out_chop_prob: float = _tt("1", "probability that an output chopper flips after a sweep",
                               0.0, ge=0, le=1)
    buffer_granularity: float = _tt("dw_min(A)", "buffer granularity in units of A's dw_min",
                                    1.0, gt=0)
    auto_granularity: float = _tt("1", "if > 0: granularity x auto_granularity / (rows x "
                                  "transfer_every)", 0.0, ge=0)
    no_buffer: bool = option(doc="no digital buffer (Tiki-Taka with choppers)", default=False)
    auto_scale: bool = option(doc="pulse-count rate fast_lr BL dw_min / (m_x m_d), running "
                              "maxima of |x| and |d|", default=False)
    auto_momentum: float = _tt("1", "momentum of those running maxima", 0.99, ge=0, lt=1)
    correct_gradient_magnitudes: bool = option(doc="divide the transfer rate by the pulse-count "
                                               "rate (and scale by dw_min(C)/dw_min(A))",
                                               default=False)


@attrs.frozen(kw_only=True)
class Agad(ChoppedTTv2):
    """AGAD (aihwkit DynamicTransferCompound, Rasch et al. 2024): reads against the mean of the
    previous chopper period."""

    in_chop_random: bool = option(doc="also flip at random (periods are regular)", default=False)
    tail_weightening: float = _tt("1", "weight of the running mean: tail_weightening / period",
                                  5.0, gt=0)
    buffer_cap: float = _tt("transfer_bl", "cap of the buffer (without forget_buffer; 0 = none)",
                            0.0, ge=0)


@attrs.frozen(kw_only=True)
class Transfer:
    """In-situ learning rule: plain stochastic SGD, or a Tiki-Taka-family rule (two arrays)."""

    algorithm: Algorithm = option(doc="none (SGD onto one array) | tiki-taka | ttv2 | c-ttv2 | "
                                  "agad", default="none")
    fast: dict[str, Any] = overrides("[pulsed] keys that differ for the fast array A (the "
                                     "slow array C uses [pulsed])")
    read: dict[str, Any] = overrides("periphery of the transfer reads: perfect, dac.*, adc.*, "
                                     "noise.* over the forward tables (no noise or bound "
                                     "management)")
    tiki_taka: TikiTaka = attrs.field(factory=TikiTaka)
    ttv2: TTv2 = attrs.field(factory=TTv2)
    c_ttv2: ChoppedTTv2 = attrs.field(factory=ChoppedTTv2)
    agad: Agad = attrs.field(factory=Agad)

    def rule(self) -> TikiTaka:
        """The parameters of the selected algorithm."""
        return getattr(self, self.algorithm.replace("-", "_"))


@attrs.frozen(kw_only=True)
class LrSchedule:
    """Learning-rate schedule of pulsed (in-situ, hybrid) updates, per layer update count t."""

    kind: ScheduleKind = option(doc="constant | step (x factor every n batches) | exponential "
                                "(x factor^(t/n)) | cosine | linear (to min_factor at "
                                "total_batches)", default="constant")
    every_batches: int = quantity(unit="batches", doc="n: period of step/exponential decay",
                                  gt=0, default=1)
    factor: float = quantity(unit="1", doc="decay per period", gt=0, le=1, default=0.5)
    total_batches: int = quantity(unit="batches", doc="horizon of cosine/linear decay", gt=0,
                                  default=1000)
    min_factor: float = quantity(unit="1", doc="floor of the schedule", ge=0, le=1, default=0.0)

    def factor_at(self, t: int) -> float:
        """The multiplier of the learning rate at update t (t = 0, 1, ...)."""
        import math
        if self.kind == "constant":
            return 1.0
        if self.kind == "step":
            f = self.factor ** (t // self.every_batches)
        elif self.kind == "exponential":
            f = self.factor ** (t / self.every_batches)
        else:
            frac = min(t / self.total_batches, 1.0)
            f = (0.5 * (1.0 + math.cos(math.pi * frac)) if self.kind == "cosine"
                 else 1.0 - frac)
            f = self.min_factor + (1.0 - self.min_factor) * f
        return max(f, self.min_factor)
