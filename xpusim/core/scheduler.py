"""Runs a training method on a simulated device over real data, then prices the trace.

Resolves everything once (spec, backend, method, kernels, cost model), checks that the device
offers every primitive the method needs, trains for the requested epochs, evaluates, records
one inference pass over the test set, and returns a ``RunResult``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import __version__
from .data import Dataset
from .errors import IncompatibleError, RunDiverged, XpusimError
from .graph import Graph
from .loss import correct
from .registry import DataShape
from .ledger import Ledger, price
from .optim import make_optimizer
from .plugins import Plugins, get_plugin_manager
from .results import RunConfig, RunResult
from .trace import Trace

EpochCallback = Callable[[int, float, float], None]

# Independent random streams of one run, derived from its seed (never np.random.seed).
STREAMS = ("init", "shuffle", "device")


def check_compatible(method: Any, backend: Any, spec_name: str) -> None:
    """Fail with both names when the method needs primitives the backend lacks."""
    missing = sorted(method.primitives - backend.primitives)
    if missing:
        raise IncompatibleError(
            f"method {method.name!r} needs primitive(s) {', '.join(missing)} which backend "
            f"{backend.name!r} (spec {spec_name!r}) does not provide "
            f"(it provides: {', '.join(sorted(backend.primitives))})")


def check_model_primitives(model: Graph, backend: Any, spec_name: str, model_name: str) -> None:
    """Fail naming the layer type when the model needs a primitive the backend lacks (the
    products of two activations of attention need ``matmul``)."""
    missing = sorted(model.primitives - backend.primitives)
    if missing:
        kinds = [k for k in model.kinds if k == "attention"] or list(model.kinds)
        raise IncompatibleError(
            f"model {model_name!r} ({', '.join(kinds)} layers) needs primitive(s) "
            f"{', '.join(missing)}, which backend {backend.name!r} (spec {spec_name!r}) does not "
            f"provide: its chip has no digital periphery for products of two activations")


def accepted_optimizers(pm: Plugins, spec: Any) -> frozenset[str] | None:
    """The run optimizers ``spec``'s device applies: what its capabilities declare when that
    depends on the spec, else its backend's ``optimizers`` (None: every digital optimizer)."""
    declared = pm.capabilities(spec).optimizers
    return declared if declared is not None else pm.backend(spec.backend).optimizers


def check_optimizer(optimizer: str, accepted: frozenset[str] | None, backend_name: str,
                    spec_name: str) -> None:
    """Fail with both names when the device cannot apply the run's optimizer."""
    if accepted is not None and optimizer not in accepted:
        raise IncompatibleError(
            f"backend {backend_name!r} (spec {spec_name!r}) cannot apply optimizer "
            f"{optimizer!r}: its device supports {', '.join(sorted(accepted))} "
            f"(use --optimizer {sorted(accepted)[0]})")


def accuracy(method: Any, x: np.ndarray, y: np.ndarray, batch: int = 512) -> float:
    """Share of correct predictions: per sample, or per scored token of a sequence task."""
    hits = scored = 0
    for i in range(0, len(x), batch):
        h, n = correct(method.predict(x[i:i + batch]), y[i:i + batch])
        hits, scored = hits + h, scored + n
    return hits / max(scored, 1)


def resolve_model(pm: Plugins, model_name: str, dataset_name: str, backend: Any,
                  spec_name: str, method_info: Any) -> tuple[Graph, Dataset]:
    """The model's graph for the data set and the data as it takes it; every mismatch (shapes,
    task, primitives the backend lacks, layer types the rule cannot train) a clear error."""
    data: Dataset = pm.dataset(dataset_name)
    model = pm.model(model_name, DataShape(data.sample_shape, data.n_classes, data.task))
    data = fit_data(model, data, model_name, dataset_name)
    check_model_primitives(model, backend, spec_name, model_name)
    check = getattr(method_info.factory, "check_model", None)
    if check is not None:
        check(model)
    return model, data


def fit_data(model: Graph, data: Dataset, model_name: str, dataset_name: str) -> Dataset:
    """``data`` as ``model`` takes it (flattened for a model of flat inputs), or a clear error
    naming both when their shapes, classes or tasks disagree."""
    if model.tokens != (data.task == "sequence"):
        kind = "a sequence model (it takes token ids)" if model.tokens else \
            "a classifier (it takes values, not token ids)"
        raise XpusimError(f"data set {dataset_name!r} is a {data.task} task; model "
                          f"{model_name!r} is {kind}")
    if model.input_shape != data.sample_shape:
        if len(model.input_shape) == 1 and model.input_shape[0] == data.n_features \
                and not model.tokens and data.task == "classification":
            data = data.flat()  # an MLP takes each sample as one row of features
        elif len(model.input_shape) == 1 and not model.tokens:
            raise XpusimError(f"model {model_name!r} takes {model.input_shape[0]} inputs but data "
                              f"set {dataset_name!r} has {data.n_features} features (samples "
                              f"of shape {data.sample_shape})")
        else:
            raise XpusimError(f"model {model_name!r} takes samples of shape "
                              f"{model.input_shape}; data set {dataset_name!r} gives "
                              f"{data.sample_shape}")
    want = (data.n_classes,) if data.task == "classification" else \
        (data.sample_shape[0], data.n_classes)
    if model.output_shape != want:
        what = "classes" if data.task == "classification" else "tokens x vocabulary"
        raise XpusimError(f"model {model_name!r} outputs {model.output_shape}; data set "
                          f"{dataset_name!r} needs {want} ({what})")
    return data


def run(config: RunConfig, plugins: Plugins | None = None,
        on_epoch: EpochCallback | None = None) -> RunResult:
    """Train, evaluate and price one configuration."""
    t_start = time.perf_counter()
    pm = plugins or get_plugin_manager(config.plugins)
    if config.epochs < 0 or config.batch_size <= 0:
        raise XpusimError(f"epochs must be >= 0 and batch size > 0 "
                          f"(got epochs={config.epochs}, batch_size={config.batch_size})")
    spec = pm.load_spec(config.hardware, config.overrides)
    backend = pm.backend(spec.backend)
    method_info = pm.method(config.method)
    check_compatible(method_info, backend, spec.name)
    check_optimizer(config.optimizer, accepted_optimizers(pm, spec), backend.name,
                    spec.name)
    kernels = pm.compute_kernels(spec)
    cost = pm.cost_model(spec)
    model, data = resolve_model(pm, config.model, config.dataset, backend, spec.name,
                                method_info)

    seeds = np.random.SeedSequence(config.seed).spawn(len(STREAMS))
    rng = {name: np.random.Generator(np.random.PCG64(s)) for name, s in zip(STREAMS, seeds)}
    trace = Trace()
    optimizer = make_optimizer(config.optimizer, config.momentum)
    device = backend.device(spec, kernels, rng["device"], trace, optimizer,
                            primitives=backend.primitives)
    hyper = {"lr": config.lr, "optimizer": config.optimizer, **dict(config.options)}
    method = method_info.factory(model, device, rng["init"], hyper)
    method.initialize()

    acc_curve: list[float] = []
    loss_curve: list[float] = []
    status, failure, failed_step, step = "ok", None, None, 0
    n = len(data.x_train)
    try:
        for epoch in range(config.epochs):
            order = rng["shuffle"].permutation(n)
            losses = []
            for i in range(0, n, config.batch_size):
                idx = order[i:i + config.batch_size]
                loss = method.train_batch(data.x_train[idx], data.y_train[idx])
                step += 1
                if not np.isfinite(loss):
                    raise RunDiverged(step, f"loss is {loss}")
                losses.append(loss)
            trace.enabled = False
            device.prepare_inference()
            acc_curve.append(accuracy(method, data.x_test, data.y_test))
            trace.enabled = True
            loss_curve.append(float(np.mean(losses)) if losses else float("nan"))
            if on_epoch:
                on_epoch(epoch, acc_curve[-1], loss_curve[-1])
    except RunDiverged as exc:
        status, failure, failed_step = "diverged", str(exc), exc.step
    except FloatingPointError as exc:
        status, failure, failed_step = "diverged", f"training diverged at step {step}: {exc}", step

    train_ledger = price(trace, cost, spec.name)
    deploy_trace = Trace()
    device.trace = deploy_trace
    serve_spec, serve_cost = spec, cost
    if config.serve_hardware is None:
        device.finalize_training()
    else:  # the writes onto the serving device are its deployment (no second programming)
        serve_spec, device, serve_cost = _deploy_elsewhere(pm, config, device, deploy_trace)
        method.device = method.net.device = device
    deploy_ledger = price(deploy_trace, serve_cost, serve_spec.name)

    # One recorded inference pass over the test set: the serving cost per sample.
    infer_trace = Trace()
    device.trace = infer_trace
    device.prepare_inference()
    final_acc = float("nan")
    if status == "ok":
        try:
            final_acc = accuracy(method, data.x_test, data.y_test)
        except FloatingPointError as exc:  # e.g. non-finite outputs of the serving device
            status, failure, failed_step = "diverged", f"inference diverged: {exc}", step
    infer_ledger = price(infer_trace, serve_cost, serve_spec.name)
    per_sample = 1.0 / max(len(data.x_test), 1)

    cfg = config.to_dict()
    spec_hash = RunConfig.spec_hash_of(spec.hash,
                                       None if serve_spec is spec else serve_spec.hash)
    if serve_spec is not spec:
        cfg.update(serve_spec_name=serve_spec.name, serve_backend=serve_spec.backend,
                   serve_spec_hash=serve_spec.hash)
    cfg.update(spec_name=spec.name, backend=spec.backend, spec_hash=spec.hash,
               config_hash=config.hash(spec_hash), version=__version__,
               model_params=model.n_params, train_samples=n, test_samples=len(data.x_test),
               compute_kernels=kernels.provider, cost_kernels=cost.provider)
    if model.trained is not None:  # an imported model: which file, and which version of it
        cfg.update(model_source=model.trained.source, model_sha256=model.trained.digest)
    return RunResult(
        config=cfg, status=status, final_test_accuracy=final_acc,
        accuracy_per_epoch=acc_curve, loss_per_epoch=loss_curve,
        training=train_ledger.to_dict(),
        inference_per_sample={**infer_ledger.scaled(per_sample),
                              "counters": {k: v * per_sample
                                           for k, v in infer_ledger.extra_totals().items()}},
        deploy=deploy_ledger.to_dict(),
        peak_activation_bytes=int(method.peak_activation_bytes),
        trace_summary=trace.summary(), failure=failure, failed_step=failed_step,
        meta={"wall_time_s": time.perf_counter() - t_start})


def _deploy_elsewhere(pm: Plugins, config: RunConfig, trained: Any,
                      deploy_trace: Trace) -> tuple[Any, Any, Any]:
    """Copy the trained weights (all device layers, fixed feedback included) onto a fresh
    device of the serving spec, recording the writes as ``deploy`` rows there."""
    spec = pm.load_spec(config.serve_hardware, config.serve_overrides)
    backend = pm.backend(spec.backend)
    if "mvm" not in backend.primitives:
        raise IncompatibleError(f"serving spec {spec.name!r} (backend {backend.name!r}) has "
                                "no 'mvm' primitive: it cannot run inference")
    rng = np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(config.seed, spawn_key=(len(STREAMS),))))
    device = backend.device(spec, pm.compute_kernels(spec), rng, deploy_trace,
                            primitives=backend.primitives)
    for layer in sorted(trained.shapes):
        device.place(layer, trained.weights(layer), trained.bias.get(layer), phase="deploy")
    device.periphery = {key: value.copy() for key, value in trained.periphery.items()}
    return spec, device, pm.cost_model(spec)


def price_primitive(pm: Plugins, spec_ref: str, primitive: str, shape: tuple[int, int, int],
                    bits: int | None = None, fmt: str | None = None,
                    overrides: tuple[str, ...] = (), phase: str = "inference",
                    count: int = 1, activity: float = 1.0) -> tuple[Any, Ledger]:
    """Price one primitive of shape (M, N, K) on a spec: what ``xpusim price`` shows.

    ``bits`` and ``fmt`` resolve to one consistent pair (``resolve_format``)."""
    from .errors import UnknownNameError
    from .trace import PRIMITIVE

    spec = pm.load_spec(spec_ref, overrides)
    if primitive not in PRIMITIVE:
        raise UnknownNameError("primitive", primitive, PRIMITIVE)
    backend = pm.backend(spec.backend)
    if primitive not in backend.primitives | {"elementwise", "reduce", "write"}:
        raise IncompatibleError(f"spec {spec.name!r} (backend {backend.name!r}) does not "
                                f"support primitive {primitive!r}")
    bits, fmt = resolve_format(pm, spec, primitive, phase, bits, fmt)
    m, n, k = shape
    trace = Trace()
    trace.add(phase, 0, primitive, m, n, k, bits, fmt, count=count, activity=activity)
    return spec, price(trace, pm.cost_model(spec), spec.name)


def resolve_format(pm: Plugins, spec: Any, primitive: str, phase: str, bits: int | None,
                   fmt: str | None) -> tuple[int, str]:
    """One consistent (bits, format) for a priced row: a format implies its storage width;
    ``bits`` alone picks the spec's compute format of that width; neither gives what the
    device records for this primitive and phase. Anything else is an ``XpusimError``."""
    from .formats import FORMATS

    default_bits, default_fmt = default_format(pm, spec, primitive, phase)
    caps = pm.capabilities(spec)
    product = primitive in ("mvm", "mvm_t", "update", "matmul")
    if fmt is not None:
        width = FORMATS.get(fmt).bits  # UnknownNameError lists the registered formats
        if product and caps.formats and fmt not in caps.formats:
            raise XpusimError(f"spec {spec.name!r} does not compute in {fmt!r}; it computes in "
                              f"{_listing(caps.formats)}")
        if width is None:  # a device format whose width the device sets (e.g. DAC bits)
            width = default_bits if fmt == default_fmt else bits
            if width is None:
                raise XpusimError(f"format {fmt!r} has no fixed width on spec {spec.name!r}: "
                                  f"give --bits")
        if bits is not None and bits != width:
            raise XpusimError(f"--bits {bits} contradicts --format {fmt} ({width} bits); give "
                              "one of them")
        return width, fmt
    if bits is None:
        return default_bits, default_fmt
    if bits == default_bits:
        return default_bits, default_fmt
    candidates = caps.formats if product else FORMATS.names()
    for name in candidates:
        if FORMATS.get(name).bits == bits:
            return bits, name
    raise XpusimError(f"spec {spec.name!r} has no {bits}-bit format for {primitive!r}; it "
                      f"computes in {_listing(caps.formats or (default_fmt,))}")


def _listing(names: Any) -> str:
    from .formats import FORMATS

    return ", ".join(f"{n} ({FORMATS.get(n).bits or 'device-set'} bits)" for n in names)


def default_format(pm: Plugins, spec: Any, primitive: str, phase: str) -> tuple[int, str]:
    """The (bits, format) the backend's device records for this primitive and phase."""
    backend = pm.backend(spec.backend)
    device = backend.device(spec, pm.compute_kernels(spec), np.random.default_rng(0),
                            primitives=backend.primitives)
    return device.operand_format(primitive, phase)
