"""Checks on what goes into an LLM estimate and on what comes out of it.

Shared by the ``xpusim estimate`` command and the Python API (``estimate_training``,
``estimate_serving``, ``lifetime_cost``): a number out of range, NaN or infinite is refused with
one message naming the option and the value, and a result holding a negative money, energy or
CO2 figure, a NaN or an infinity is refused rather than returned (or printed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from xpusim.core.errors import XpusimError


class EstimateInputError(XpusimError):
    """An estimate's input outside its range: names the option, the value and the range."""


class EstimateOutputError(XpusimError):
    """An estimate that would report an impossible number (negative cost, NaN, infinity)."""

    exit_code = 1


def number(value: Any, option: str, *, at_least: float | None = None,
           above: float | None = None, integer: bool = False) -> Any:
    """``value`` if it is a finite number within range (``>= at_least``, ``> above``), else an
    ``EstimateInputError`` naming ``option``; ``integer`` also requires a whole number."""
    rule = ("a whole number" if integer else "a finite number") + (
        f" >= {at_least:g}" if at_least is not None else "") + (
        f" > {above:g}" if above is not None else "")
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        ok = math.isfinite(value) and (not integer or float(value).is_integer())
    if ok and at_least is not None:
        ok = value >= at_least
    if ok and above is not None:
        ok = value > above
    if not ok:
        raise EstimateInputError(f"{option} must be {rule}, found {value!r}")
    return int(value) if integer else value


def common(pue: Any, grid_kg_per_kwh: Any, usd_per_device_hour: Any) -> None:
    """PUE (>= 1 by definition), grid intensity (>= 0) and an optional price (>= 0)."""
    number(pue, "--pue", at_least=1.0)
    number(grid_kg_per_kwh, "--grid", at_least=0.0)
    if usd_per_device_hour is not None:
        number(usd_per_device_hour, "--usd-per-device-hour", at_least=0.0)


def training(devices: Any, tokens: Any, steps_multiplier: Any) -> None:
    """Devices (>= 1), training tokens (> 0, when given) and the steps multiplier (> 0)."""
    number(devices, "--devices", at_least=1, integer=True)
    if tokens is not None:
        number(tokens, "--tokens", above=0.0)
    number(steps_multiplier, "--steps-multiplier", above=0.0)


def serving(batch: Any, prompt_tokens: Any, output_tokens: Any, tp: Any, devices: Any,
            heads: int, model: str) -> None:
    """Batch and token counts (>= 1); ``tp`` (when given) >= 1 and dividing the heads;
    devices (when given) >= 1."""
    number(batch, "--batch", at_least=1, integer=True)
    number(prompt_tokens, "--prompt", at_least=1, integer=True)
    number(output_tokens, "--output", at_least=1, integer=True)
    if devices is not None:
        number(devices, "--devices", at_least=1, integer=True)
    if tp is not None:
        number(tp, "--tp", at_least=1, integer=True)
        if heads % int(tp):
            raise EstimateInputError(f"--tp {tp} must divide the {heads} attention heads of "
                                     f"{model} (e.g. {', '.join(_divisors(heads))})")


def served_tokens(tokens: Any) -> float:
    """A served-token volume for a lifetime cost: finite and >= 0."""
    return float(number(tokens, "--lifetime-tokens", at_least=0.0))


def _divisors(n: int) -> list[str]:
    return [str(d) for d in (1, 2, 4, 8, 16, 32, 64) if n % d == 0 and d <= n]


_NON_NEGATIVE = ("usd", "energy", "co2", "_j", "kwh", "cost", "hours", "time", "flops",
                 "tokens", "bytes", "mfu", "pue", "grid")


def result(data: Mapping[str, Any], what: str) -> Mapping[str, Any]:
    """``data`` if every number in it is finite and no money, energy, CO2, time or count in it
    is negative; else an ``EstimateOutputError`` naming the field (nothing is printed)."""
    for path, value in _numbers(data, ""):
        if not math.isfinite(value):
            raise EstimateOutputError(f"{what}: {path} came out as {value!r}; refusing to "
                                      f"report it (check the inputs and the spec)")
        leaf = path.rsplit(".", 1)[-1].lower()
        if value < 0 and any(word in leaf for word in _NON_NEGATIVE):
            raise EstimateOutputError(f"{what}: {path} came out negative ({value!r}); refusing "
                                      f"to report it (check the inputs and the spec)")
    return data


def _numbers(data: Any, path: str):
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from _numbers(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            yield from _numbers(value, f"{path}[{i}]")
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        yield path, float(data)
