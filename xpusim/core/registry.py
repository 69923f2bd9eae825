"""What register hooks return: plain records describing backends, methods, data and models."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from .capabilities import Capabilities
    from .formats import Format
    from .specs import Spec


@attrs.frozen
class BackendInfo:
    """A hardware backend.

    Attributes:
        name: the ``backend = "..."`` value spec files use.
        params: the backend's frozen attrs parameter class (structured from the spec's TOML).
        device: the ``Device`` subclass that holds weights and runs primitives.
        primitives: the primitives it supports natively (``mvm``, ``mvm_t``, ``update``, ...).
        doc: one line for ``xpusim plugins`` and the docs.
        optimizers: the run optimizers its device can apply (None: every digital optimizer);
            hardware without optimizer state (on-chip learning engines) declares ``{"sgd"}``.
        formats: the number formats its devices record (``xpusim.core.formats.Format``);
            registered by the plugin manager (a format defined twice must agree).
        capabilities: ``f(spec) -> Capabilities``: memory, peak rate per format, on-chip
            weight capacity of one device of that spec (what estimates may rely on).
    """

    name: str
    params: type
    device: type
    primitives: frozenset[str] = attrs.field(converter=frozenset)
    doc: str = ""
    optimizers: frozenset[str] | None = attrs.field(
        default=None, converter=lambda o: None if o is None else frozenset(o))
    formats: tuple[Format, ...] = attrs.field(default=(), converter=tuple)
    capabilities: Callable[[Spec], Capabilities] | None = None


@attrs.frozen
class MethodInfo:
    """A training method (learning rule).

    Attributes:
        name: as the field writes it (``backprop``, ``fa``, ``dfa``, ``oja``, ...).
        factory: ``factory(model, device, rng, hyper) -> TrainingMethod``.
        primitives: the device primitives it needs.
        doc: one line, with the published reference.
        options: the method options (``--option KEY=VALUE``) it takes; None: not declared
            (the method checks its own). Studies and the CLI refuse undeclared options
            before any run.
    """

    name: str
    factory: Callable[..., Any]
    primitives: frozenset[str] = attrs.field(converter=frozenset)
    doc: str = ""
    options: frozenset[str] | None = attrs.field(
        default=None, converter=lambda o: None if o is None else frozenset(o))


@attrs.frozen
class DatasetInfo:
    """A data set family: ``name`` or ``name:ARG`` (e.g. ``idx:/data/mnist``).

    ``load(arg)`` returns a ``xpusim.core.data.Dataset``; ``arg`` is the text after the colon
    (``None`` when absent).
    """

    name: str
    load: Callable[[str | None], Any]
    doc: str = ""


@attrs.frozen
class DataShape:
    """What a model family needs to know of the data: one sample's shape ((C, H, W) images,
    (F,) features, (T,) tokens), the classes (or vocabulary) and the task."""

    sample_shape: tuple[int, ...]
    classes: int
    task: str = "classification"


@attrs.frozen
class ModelInfo:
    """A model family: ``prefix:ARGS`` (``mlp:64-256-10``, ``cnn:c16k3-m2-d10``) or a name
    (``lenet5``); ``parse(args, data)`` -> ``xpusim.core.graph.Graph`` adapted to ``data``
    (a ``DataShape``)."""

    prefix: str
    parse: Callable[[str, DataShape], Any]
    doc: str = ""
