"""Every xpusim hook: the contract between the core and its plugins (built-in or third-party).

Register hooks return lists of plain records; the core flattens them and rejects duplicate
names. Kernel hooks are ``firstresult``: a backend returns ``None`` for a spec that is not its
own, built-ins implement them with ``trylast=True``, overrides with ``tryfirst=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .kernels import CostModel, KernelSet
    from .layers import Layer
    from .registry import BackendInfo, DatasetInfo, MethodInfo, ModelInfo
    from .specs import Spec

hookspec = pluggy.HookspecMarker("xpusim")


@hookspec
def xpusim_register_backends() -> list[BackendInfo]:
    """Declare hardware backends.

    Called once when the plugin manager is first asked for backends.

    Returns:
        list[BackendInfo]: name, parameter class, device class and native primitives.
    """


@hookspec
def xpusim_register_methods() -> list[MethodInfo]:
    """Declare training methods (learning rules).

    Called once when the plugin manager is first asked for methods.

    Returns:
        list[MethodInfo]: name, factory and the primitives each method needs.
    """


@hookspec
def xpusim_spec_dirs() -> list[Path]:
    """Add folders holding hardware spec TOML files (searched after the built-in folder).

    Called when a spec is looked up by name and by ``xpusim specs list``.

    Returns:
        list[pathlib.Path]: folders whose ``*.toml`` files are spec files.
    """


@hookspec
def xpusim_register_datasets() -> list[DatasetInfo]:
    """Declare data sets (``name`` or ``name:ARG`` on the command line).

    Called once when the plugin manager is first asked for data sets.

    Returns:
        list[DatasetInfo]: name and loader of each data set family.
    """


@hookspec
def xpusim_register_models() -> list[ModelInfo]:
    """Declare model families (``prefix:ARGS`` on the command line, e.g. ``mlp:64-256-10``).

    Called once when the plugin manager is first asked for models.

    Returns:
        list[ModelInfo]: prefix and parser of each model family.
    """


@hookspec
def xpusim_register_layers() -> list[type[Layer]]:
    """Declare layer types (subclasses of ``xpusim.core.layers.Layer``) by their ``kind``.

    Called once when the plugin manager is first asked for layer types (``xpusim methods``
    shows which rule trains which kind).

    Returns:
        list[type[Layer]]: layer classes; each ``kind`` must be unique.
    """


@hookspec(firstresult=True)
def xpusim_compute_kernels(spec: Spec) -> KernelSet | None:
    """Supply the compute kernels (numerics) that simulate ``spec``'s hardware.

    Called once per run, before training starts. Stops at the first non-None result.

    Args:
        spec (Spec): the resolved hardware spec; check ``spec.backend``.

    Returns:
        KernelSet | None: the kernels, or None when ``spec`` is not this plugin's.
    """


@hookspec(firstresult=True)
def xpusim_cost_kernels(spec: Spec) -> CostModel | None:
    """Supply the cost model (numba cost kernel + packed spec numbers) that prices a trace.

    Called once per run and per ``xpusim price``. Stops at the first non-None result.

    Args:
        spec (Spec): the resolved hardware spec; check ``spec.backend``.

    Returns:
        CostModel | None: the cost model (time in s, energy in J per component), or None
        when ``spec`` is not this plugin's.
    """
