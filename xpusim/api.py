"""Python API mirroring the CLI: ``xpusim.run(...)`` and ``xpusim.price(...)``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from .core.errors import XpusimError
from .core.plugins import Plugins, get_plugin_manager
from .core.results import RunConfig, RunResult

OPTIMIZERS = ("adam", "sgd")
"""Optimizers tried, in order, when a run names none: the first the device accepts is used."""
SGD_LR = 0.05
"""Learning rate for plain SGD chosen that way (the methods' defaults are tuned for Adam)."""


def default_optimizer(accepted: frozenset[str] | None) -> tuple[str, float | None]:
    """The optimizer (and learning rate, None: the method's) for a run that names none.

    The first of ``OPTIMIZERS`` the device accepts (``scheduler.accepted_optimizers``: its
    spec's declared capabilities, else ``BackendInfo.optimizers``; None accepts every one);
    plain SGD comes with ``SGD_LR``.
    """
    for name in OPTIMIZERS:
        if accepted is None or name in accepted:
            return name, (SGD_LR if name == "sgd" else None)
    name = sorted(accepted)[0]
    return name, (SGD_LR if name == "sgd" else None)


@attrs.frozen
class Checked:
    """What ``check_run`` resolved: the spec's name, and the optimizer and lr the run uses."""

    spec: str
    optimizer: str
    lr: float | None


def check_run(pm: Plugins, hardware: str, method: str, model: str, dataset: str,
              set: Iterable[str] = (),  # noqa: A002 - mirrors --set
              options: Mapping[str, Any] | None = None, optimizer: str | None = None,
              lr: float | None = None, serve_on: str | None = None,
              serve_set: Iterable[str] = ()) -> Checked:
    """Check a run's names and pairings before any work (one clear error each)."""
    from .core.scheduler import (accepted_optimizers, check_compatible, check_optimizer,
                                 resolve_model)

    spec = pm.load_spec(hardware, _overrides(set))
    info = pm.method(method)
    backend = pm.backend(spec.backend)
    check_compatible(info, backend, spec.name)
    check_method_options(info, options or {})
    accepted = accepted_optimizers(pm, spec)
    if optimizer is None:
        optimizer, default_lr = default_optimizer(accepted)
        lr = default_lr if lr is None else lr
    check_optimizer(optimizer, accepted, backend.name, spec.name)
    if serve_on is not None:
        pm.load_spec(serve_on, _overrides(serve_set))
    resolve_model(pm, model, dataset, backend, spec.name, info)
    return Checked(spec.name, optimizer, lr)


def check_method_options(info: Any, options: Mapping[str, Any]) -> None:
    """Refuse options the method declares it does not take (methods that declare none
    check their own)."""
    known = getattr(info, "options", None)
    if known is None:
        return
    for name in options:
        if name not in known:
            import difflib

            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise XpusimError(f"method {info.name!r}: unknown option {name!r}{hint} "
                              f"(known: {', '.join(sorted(known)) or 'none'})")


def run(hardware: str = "h100-sxm", method: str = "backprop", model: str = "mlp:64-256-10",
        dataset: str = "digits", epochs: int = 20, batch_size: int = 32, seed: int = 0,
        lr: float | None = None, optimizer: str | None = None, momentum: float = 0.9,
        set: Iterable[str] | Mapping[str, Any] = (),  # noqa: A002 - mirrors --set
        options: Mapping[str, Any] | None = None, lifetime_inferences: float = 1e9,
        plugins: Iterable[str] = (), pm: Plugins | None = None,
        on_epoch: Callable[[int, float, float], None] | None = None,
        serve_on: str | None = None,
        serve_set: Iterable[str] | Mapping[str, Any] = ()) -> RunResult:
    """Train ``model`` with ``method`` on ``hardware`` over ``dataset`` and price it.

    ``set`` overrides spec keys like the CLI's ``--set`` (``["compute_format=bf16"]`` or
    ``{"compute_format": "bf16"}``). ``serve_on`` deploys the trained weights on another spec
    (with ``serve_set`` overrides) and measures accuracy and inference cost there.
    ``optimizer=None`` takes the first of ``OPTIMIZERS`` the device accepts (see
    ``default_optimizer``). Returns a ``RunResult`` (``.to_json()``, ``.to_row()``).
    """
    from .core.scheduler import accepted_optimizers
    from .core.scheduler import run as _run

    overrides, serve_overrides = _overrides(set), _overrides(serve_set)
    pm = pm or get_plugin_manager(tuple(plugins))
    check_method_options(pm.method(method), options or {})
    if optimizer is None:
        optimizer, default_lr = default_optimizer(
            accepted_optimizers(pm, pm.load_spec(hardware, overrides)))
        lr = default_lr if lr is None else lr
    config = RunConfig(hardware=hardware, method=method, model=model, dataset=dataset,
                       epochs=epochs, batch_size=batch_size, seed=seed, lr=lr,
                       optimizer=optimizer, momentum=momentum, overrides=tuple(overrides),
                       options=dict(options or {}), lifetime_inferences=lifetime_inferences,
                       plugins=tuple(plugins), serve_hardware=serve_on,
                       serve_overrides=tuple(serve_overrides))
    return _run(config, plugins=pm, on_epoch=on_epoch)


def _overrides(values: Iterable[str] | Mapping[str, Any]) -> list[str]:
    """``--set`` strings from a list of KEY=VALUE strings or a mapping."""
    if isinstance(values, Mapping):
        return [f"{k}={_literal(v)}" for k, v in values.items()]
    return list(values)


def price(hardware: str, primitive: str, shape: tuple[int, int, int], bits: int | None = None,
          fmt: str | None = None, set: Iterable[str] = (),  # noqa: A002
          count: int = 1, activity: float = 1.0, phase: str = "inference",
          plugins: Iterable[str] = ()) -> dict[str, Any]:
    """Price one primitive of shape (M, N, K) — an (M x K)·(K x N) product — on a spec."""
    from .core.scheduler import price_primitive

    pm = get_plugin_manager(tuple(plugins))
    spec, ledger = price_primitive(pm, hardware, primitive, tuple(shape), bits=bits, fmt=fmt,
                                   overrides=tuple(set), phase=phase, count=count,
                                   activity=activity)
    from .core.formats import format_name

    cost = pm.cost_model(spec)
    fmt_used = format_name(int(ledger.trace.column("fmt")[0]))
    out = {"spec": spec.name, "backend": spec.backend, "primitive": primitive,
           "shape_mnk": list(shape), "bits": int(ledger.trace.column("bits")[0]),
           "format": fmt_used,
           **{k: v for k, v in ledger.to_dict().items() if k not in ("by_layer", "by_phase")}}
    out["breakdown"] = out.pop("energy_by_component_j")
    totals = {**ledger.extra_totals(), "time_s": ledger.total_time_s,
              "energy_j": ledger.total_energy_j}
    derived = dict(cost.summarize(totals)) if cost.summarize is not None else {}
    peak = pm.capabilities(spec).peak(fmt_used)
    macs = float(ledger.trace.macs().sum())
    if peak and macs and ledger.total_time_s > 0:
        achieved = 2.0 * macs / ledger.total_time_s
        derived.update(achieved_ops_per_s=achieved, peak_ops_per_s=peak,
                       utilization_of_peak=achieved / peak)
    if derived:
        out["derived"] = derived
    return out


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)
