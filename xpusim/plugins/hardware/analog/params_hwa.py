"""Spec tables of hardware-aware training and of programmed-weight (inference) noise.

The training toolbox follows IBM aihwkit's ``WeightModifierParameter``,
``WeightClipParameter``, ``WeightRemapParameter`` and ``InputRangeParameter``
(``aihwkit.simulator.parameters``); the inference noise models its
``aihwkit.inference.noise`` models, each citing the measurements it was fitted to.
"""

from __future__ import annotations

from typing import Literal

import attrs

from xpusim.core.specs import check, option, quantity

from .params_insitu import numbers

ModifierType = Literal["none", "add-normal", "mult-normal", "discretize",
                       "discretize-add-normal", "poly"]
ClipType = Literal["none", "fixed", "layer-gaussian", "average-channel-max"]
Scaling = Literal["column", "layer"]
NoiseModel = Literal["pcm", "hermes", "reram-wan2022", "state-independent"]


@attrs.frozen(kw_only=True)
class Modifier:
    """Weight noise injected into each training forward pass (aihwkit WeightModifierParameter),
    on top of ``hwa_noise_scale``'s programming noise. Amplitudes are relative to max |w| of the
    layer (``rel_to_actual_wmax``) or to ``assumed_wmax``."""

    type: ModifierType = option(doc="none | add-normal (w + s N) | mult-normal (w (1 + s N)) | "
                                "discretize (round to res) | discretize-add-normal | poly "
                                "(w + (c0 + c1|w| + ...) s N)", default="none")
    std_dev: float = quantity(unit="max |w|", doc="s: noise amplitude", ge=0, default=0.0)
    res: float = quantity(unit="max |w|", doc="discretization step (e.g. 1/127)", ge=0,
                          default=0.0)
    sto_round: bool = option(doc="round stochastically when discretizing", default=False)
    pdrop: float = quantity(unit="1", doc="drop-connect: probability that a weight reads 0",
                            ge=0, lt=1, default=0.0)
    rel_to_actual_wmax: bool = option(doc="amplitudes relative to the layer's max |w|",
                                      default=True)
    assumed_wmax: float = quantity(unit="weight", doc="max |w| assumed otherwise", gt=0,
                                   default=1.0)
    coeffs: tuple[float, ...] = numbers(unit="1", doc="poly: c0, c1, ... (of |w|/max|w|)",
                                        default=(0.0105392, 0.0768, -0.046925))
    enable_during_test: bool = option(doc="also modify inference reads", default=False)


@attrs.frozen(kw_only=True)
class Clip:
    """Clipping of the digital master weights after each optimizer step (aihwkit
    WeightClipParameter)."""

    type: ClipType = option(doc="none | fixed (|w| <= fixed_value) | layer-gaussian (sigma x "
                            "std of the layer) | average-channel-max (mean over outputs of max "
                            "|w|)", default="none")
    fixed_value: float = quantity(unit="weight", doc="bound (also caps the other types; <= 0: "
                                  "unused)", default=-1.0)
    sigma: float = quantity(unit="1", doc="layer-gaussian: bound in standard deviations", gt=0,
                            default=2.5)

    def __attrs_post_init__(self) -> None:
        check(self.type != "fixed" or self.fixed_value > 0, "fixed_value",
              f"clip type fixed needs fixed_value > 0, found {self.fixed_value}")


@attrs.frozen(kw_only=True)
class Mapping:
    """How weights map onto conductances (aihwkit MappingParameter / WeightRemapParameter)."""

    weight_scaling: Scaling = option(doc="column: each output column scaled to max |w| = g_max "
                                     "(aihwkit channel-wise remapping); layer: one scale for "
                                     "the whole layer", default="column")


@attrs.frozen(kw_only=True)
class InputRange:
    """A learned static input range instead of dynamic input scaling (aihwkit
    InputRangeParameter): inputs are clipped to +-r and divided by r before the DAC."""

    enabled: bool = option(doc="use a static input range r per layer", default=False)
    learn: bool = option(doc="learn r by gradient descent (else keep its initial value)",
                         default=True)
    init_value: float = quantity(unit="input", doc="initial r", gt=0, default=3.0)
    init_from_data: int = quantity(unit="batches", doc="set r to the running mean of "
                                   "init_std_alpha x std(x) over the first n batches (0 = off)",
                                   ge=0, default=100)
    init_std_alpha: float = quantity(unit="1", doc="see init_from_data", gt=0, default=3.0)
    decay: float = quantity(unit="1", doc="shrink r by decay x r per step while at least "
                            "input_min_percentage of the inputs are inside it", ge=0,
                            default=0.001)
    input_min_percentage: float = quantity(unit="1", doc="see decay", ge=0, le=1, default=0.95)
    gradient_scale: float = quantity(unit="1", doc="scale of r's gradient", ge=0, default=1.0)
    gradient_relative: bool = option(doc="make r's gradient relative to r", default=True)


@attrs.frozen(kw_only=True)
class InferenceNoise:
    """Which measured model programs the weights and ages them (programming noise, drift, 1/f
    read noise); ``[pcm]`` holds g_max, t0, t_read and the scales that every model uses."""

    model: NoiseModel = option(doc="pcm: aihwkit PCMLikeNoiseModel (REFERENCES E8-E10) | hermes: "
                               "IBM HERMES chip PCM (Le Gallo et al. 2023) | reram-wan2022 "
                               "(Wan et al. 2022; only at t = 1 s, 1 day, 2 days) | "
                               "state-independent", default="pcm")
    hermes_devices: int = quantity(unit="devices/weight", doc="hermes: 1 device per polarity, "
                                   "or 2 programmed as one (MSF)", ge=1, le=2, default=2)
    prog_coeffs: tuple[float, ...] = numbers(unit="uS", doc="state-independent: programming "
                                             "noise c0 + c1 g + c2 g^2 (g = G/g_max)",
                                             default=(0.2, 0.0, 0.0))
    drift_nu_mean: float = quantity(unit="1", doc="state-independent: mean drift exponent",
                                    ge=0, default=0.1)
    drift_nu_std: float = quantity(unit="1", doc="state-independent: its device spread", ge=0,
                                   default=0.05)
