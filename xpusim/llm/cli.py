"""``xpusim estimate``: LLM-scale training and serving estimates (wired in by ``xpusim.cli``)."""

from __future__ import annotations

import click

from xpusim.cliutil import DEFAULT_HARDWARE, HARDWARE_HELP, check_out, emit, out_option
from xpusim.core.errors import XpusimError


def _num(text: str | None, what: str) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise XpusimError(f"{what} must be a number such as 2e12, found {text!r}") from None


def _fmt_si(x: float, unit: str) -> str:
    for scale, p in ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {p}{unit}"
    return f"{x:.3g} {unit}"


@click.command("estimate")
@click.option("--model", required=True, help="Built-in model name (gpt3-175b, llama2-70b, ...) "
                                              "or a model TOML path.")
@click.option("--hardware", default=DEFAULT_HARDWARE, show_default=True, help=HARDWARE_HELP)
@click.option("--devices", type=int, default=None, help="Devices (training: required).")
@click.option("--tokens", default=None, help="Training tokens (default: the model's published).")
@click.option("--parallel", default=None, metavar="dp=..,tp=..,pp=..[,mb=..,recompute=..,zero=..]",
              help="Parallel layout; omitted: search the fastest layout that fits.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Spec override, e.g. compute_format=fp8-e4m3; repeatable.")
@click.option("--pue", type=float, default=1.1, show_default=True,
              help="Power usage effectiveness.")
@click.option("--grid", type=float, default=0.429, show_default=True,
              help="Grid carbon intensity, kg CO2e per kWh.")
@click.option("--usd-per-device-hour", type=float, default=None,
              help="Price per device-hour (default: the spec's).")
@click.option("--local-learning", is_flag=True,
              help="What-if: a learning rule with no backward pass (local updates).")
@click.option("--steps-multiplier", type=float, default=1.0, show_default=True,
              help="What-if: steps needed relative to backprop (slower convergence).")
@click.option("--serve", is_flag=True, help="Estimate serving instead of training.")
@click.option("--batch", type=int, default=16, show_default=True, help="Serving batch.")
@click.option("--prompt", "prompt_tokens", type=int, default=512, show_default=True,
              help="Serving: prompt tokens per request.")
@click.option("--output", "output_tokens", type=int, default=256, show_default=True,
              help="Serving: generated tokens per request.")
@click.option("--tp", type=int, default=None, help="Serving: tensor-parallel degree "
                                                   "(default: smallest that fits).")
@click.option("--weights", type=click.Choice(["resident", "reprogrammed"]), default="resident",
              show_default=True, help="Serving what-if: weights stay on chip or are rewritten "
                                      "for every forward pass (analog).")
@click.option("--lifetime-tokens", default=None, metavar="N",
              help="Training: also serve N output tokens (at --batch) and report the lifetime "
                   "cost.")
@click.option("--versus", default=None, metavar="SPEC",
              help="Training: the break-even served-token volume against the same run on SPEC.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@out_option
def estimate(model, hardware, devices, tokens, parallel, overrides, pue, grid,
             usd_per_device_hour, local_learning, steps_multiplier, serve, batch, prompt_tokens,
             output_tokens, tp, weights, lifetime_tokens, versus, as_json, out):
    """Estimate training (time, device-hours, energy, money, CO2, MFU) or serving (tokens/s,
    J/token, USD per million tokens) of a large transformer, priced by the spec's cost kernels.

    \b
    xpusim estimate --model llama2-70b --hardware a100-sxm-80gb --devices 2048 --tokens 2e12
    xpusim estimate --serve --model llama2-70b --hardware h100-sxm --batch 32
    """
    from .estimate import break_even, estimate_serving, estimate_training, lifetime_cost

    check_out(out)
    if serve:
        result = estimate_serving(model, hardware, batch=batch, prompt_tokens=prompt_tokens,
                                  output_tokens=output_tokens, tp=tp, devices=devices,
                                  overrides=tuple(overrides), pue=pue, grid_kg_per_kwh=grid,
                                  usd_per_device_hour=usd_per_device_hour, weights=weights)
    else:
        if devices is None:
            raise XpusimError("--devices is required for a training estimate (or pass --serve)")
        result = estimate_training(model, hardware, devices, _num(tokens, "--tokens"),
                                   parallel=parallel, overrides=tuple(overrides), pue=pue,
                                   grid_kg_per_kwh=grid, usd_per_device_hour=usd_per_device_hour,
                                   local_learning=local_learning,
                                   steps_multiplier=steps_multiplier)
        if lifetime_tokens is not None or versus:
            common = dict(batch=batch, prompt_tokens=prompt_tokens, output_tokens=output_tokens,
                          pue=pue, grid_kg_per_kwh=grid, weights=weights)
            served = estimate_serving(model, hardware, overrides=tuple(overrides),
                                      usd_per_device_hour=usd_per_device_hour, **common)
            result["serving"] = served
            if lifetime_tokens is not None:
                result["lifetime"] = lifetime_cost(result, served,
                                                   _num(lifetime_tokens, "--lifetime-tokens"))
            if versus:
                other = estimate_training(model, versus, devices, _num(tokens, "--tokens"),
                                          pue=pue, grid_kg_per_kwh=grid,
                                          local_learning=local_learning,
                                          steps_multiplier=steps_multiplier)
                other_served = estimate_serving(model, versus, **common)
                result["versus"] = {"hardware": versus, "training": other,
                                    "serving": other_served,
                                    "break_even_usd": break_even((result, served),
                                                                 (other, other_served), "usd"),
                                    "break_even_energy": break_even((result, served),
                                                                    (other, other_served),
                                                                    "energy")}
    emit(result, as_json, out, lambda: click.echo(_human(result, serve, hardware, versus)))


def _human(result, serve, hardware, versus):
    """The estimate as lines of text."""
    if serve:
        lines = [
            f"{result['model']} served on {result['hardware']} (tp={result['tp']}, "
            f"batch {result['batch']}, {result['prompt_tokens']} in / "
            f"{result['output_tokens']} out, {result['format']})",
            f"  throughput      {result['tokens_per_s_per_replica']:.4g} tokens/s per replica "
            f"({result['tokens_per_s_per_device']:.4g} per device)",
            f"  per token       {result['time_per_output_token_s'] * 1e3:.3g} ms, "
            f"{result['j_per_token']:.3g} J",
            f"  first token     {result['time_to_first_token_s']:.3g} s",
            f"  money           {result['usd_per_million_tokens']:.3g} USD per million tokens",
        ]
    else:
        p = result["parallel"]
        lines = [
            f"{result['model']} ({result['params'] / 1e9:.1f}B) on {result['devices']} x "
            f"{result['hardware']}, {result['tokens']:.3g} tokens ({result['format']})",
            f"  layout          dp={p['dp']} tp={p['tp']} pp={p['pp']} micro-batch "
            f"{p['micro_batch']} x {p['micro_batches']}, recompute={p['recompute']}, "
            f"zero={p['zero']}{' (searched)' if p['searched'] else ''}",
            f"  training FLOPs  {result['training_flops']:.3g} (6ND: {result['flops_6nd']:.3g})",
            f"  time            {result['time_days']:.3g} days "
            f"({result['step_time_s']:.3g} s/step)",
            f"  device-hours    {result['device_hours']:.4g}",
            f"  MFU             {result['mfu'] * 100:.1f} %",
            f"  energy          {_fmt_si(result['energy_j'] / 3.6e3, 'Wh')} (PUE {result['pue']})",
            f"  CO2             {result['co2_kg'] / 1e3:.3g} t",
            f"  money           {result['cost_usd']:,.0f} USD",
        ]
    if "lifetime" in result:
        life = result["lifetime"]
        lines.append(f"  lifetime        {life['total_usd']:,.0f} USD for training + "
                     f"{life['tokens_served']:.3g} served tokens "
                     f"({result['serving']['usd_per_million_tokens']:.3g} USD per million)")
    if "versus" in result:
        lines += _versus_lines(result, hardware, versus)
    lines.append("  assumptions:")
    lines += [f"    - {a}" for a in result["assumptions"]]
    return "\n".join(lines)


def _versus_lines(result, hardware, versus):
    """Both configurations side by side, and where each becomes the cheaper (money, energy)."""
    names = {"a": f"{hardware} (this estimate)", "b": versus}
    sides = ((names["a"], result, result["serving"]),
             (names["b"], result["versus"]["training"], result["versus"]["serving"]))
    lines = [f"  versus {versus}:"]
    for name, train, served in sides:
        lines.append(f"    {name}: training {train['cost_usd']:,.0f} USD, "
                     f"{_fmt_si(train['energy_j'] / 3.6e3, 'Wh')}, {train['time_days']:.3g} days; "
                     f"serving {served['usd_per_million_tokens']:.3g} USD and "
                     f"{served['j_per_token']:.3g} J per token")
    for key, label, fixed, unit in (("break_even_usd", "money", "cost_usd", "usd"),
                                    ("break_even_energy", "energy", "energy_j", "energy")):
        be = result["versus"][key]
        if be["tokens"]:
            after = names[be["cheaper_after"]]
            before = names["b" if be["cheaper_after"] == "a" else "a"]
            lines.append(f"    {label} break-even at {be['tokens']:.3g} served tokens: "
                         f"{before} is cheaper below it, {after} beyond it")
        elif be.get("cheaper_after"):
            lines.append(f"    {label}: {names[be['cheaper_after']]} is cheaper at every "
                         f"volume (lower training {label} and lower {label} per token)")
        else:
            lines.append(f"    {label}: {be['note']}")
    return lines
