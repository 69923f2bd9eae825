"""One test per hook (``test_hook_<hook name>``): a plugin implementing it changes what the
manager returns. ``tests/meta/test_hooks_tested.py`` checks that every hookspec has its test."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

from xpusim import hookimpl
from xpusim.core import CostModel, KernelSet
from xpusim.core.plugins import get_plugin_manager
from xpusim.core.registry import BackendInfo, DatasetInfo, DataShape, MethodInfo, ModelInfo

SPECS = Path(__file__).resolve().parent.parent / "xpusim" / "hardware_specs"


def _plugin(name: str, **hooks) -> types.ModuleType:
    """A plugin module named ``name`` holding the given hook implementations."""
    module = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        fn.__name__ = hook_name
        setattr(module, hook_name, fn)
    return module


def test_hook_xpusim_register_backends(tmp_path):
    from xpusim.plugins.hardware.gpu.device import GpuDevice
    from xpusim.plugins.hardware.gpu.params import GpuParams

    info = BackendInfo("gpu-twin", params=GpuParams, device=GpuDevice, primitives={"mvm"})
    pm = get_plugin_manager([_plugin("xpusim_hook_backends",
                                     xpusim_register_backends=hookimpl(lambda: [info]))],
                            autoload=False)
    assert pm.backend("gpu-twin") is info and "gpu" in pm.backends
    path = tmp_path / "twin.toml"
    path.write_text((SPECS / "h100-sxm.toml").read_text().replace('backend = "gpu"',
                                                                   'backend = "gpu-twin"'))
    assert isinstance(pm.load_spec(path).params, GpuParams)


def test_hook_xpusim_register_methods():
    from xpusim.plugins.methods.backprop import Backprop

    info = MethodInfo("backprop-again", Backprop, Backprop.needs, "backprop under a new name")
    pm = get_plugin_manager([_plugin("xpusim_hook_methods",
                                     xpusim_register_methods=hookimpl(lambda: [info]))],
                            autoload=False)
    assert pm.method("backprop-again") is info and "backprop" in pm.methods


def test_hook_xpusim_spec_dirs(tmp_path):
    (tmp_path / "h100-sxm.toml").write_text("this file is shadowed by the built-in one")
    (tmp_path / "my-gpu.toml").write_text(
        (SPECS / "h100-sxm.toml").read_text().replace('name = "h100-sxm"', 'name = "my-gpu"'))
    pm = get_plugin_manager([_plugin("xpusim_hook_dirs",
                                     xpusim_spec_dirs=hookimpl(lambda: [tmp_path]))],
                            autoload=False)
    assert pm.spec_dirs[-1] == tmp_path
    files = pm.spec_files()
    assert files["my-gpu"] == tmp_path / "my-gpu.toml"
    assert files["h100-sxm"] == SPECS / "h100-sxm.toml"  # the built-in folder comes first
    assert pm.load_spec("my-gpu").backend == "gpu"


def test_hook_xpusim_register_datasets():
    seen = []

    def load(arg):
        seen.append(arg)
        return "a data set"

    info = DatasetInfo("noise", load, "random numbers")
    pm = get_plugin_manager([_plugin("xpusim_hook_data",
                                     xpusim_register_datasets=hookimpl(lambda: [info]))],
                            autoload=False)
    assert pm.dataset("noise:7") == "a data set" and pm.dataset("noise") == "a data set"
    assert seen == ["7", None] and "digits" in pm.datasets


def test_hook_xpusim_register_models():
    info = ModelInfo("square", lambda args, data: ("square", int(args), data.classes),
                     "a square MLP")
    pm = get_plugin_manager([_plugin("xpusim_hook_models",
                                     xpusim_register_models=hookimpl(lambda: [info]))],
                            autoload=False)
    assert pm.model("square:32", DataShape((32,), 10)) == ("square", 32, 10)
    assert "mlp" in pm.models


def test_hook_xpusim_register_layers():
    """A plugin's layer type is known by its kind and a model of it runs on a device."""
    import attrs

    from xpusim.core.graph import GraphBuilder
    from xpusim.core.layers import Dense, Layer

    @attrs.frozen
    class Double(Layer):
        kind = "double"

        def out_shape(self, shapes):
            return shapes[0]

        def forward(self, ops, xs):
            ops.record(xs[0].size, 2, 1)
            return 2 * xs[0], None

        def backward(self, ops, dy, cache, need):
            return [2 * dy if need[0] else None]

    pm = get_plugin_manager([_plugin("xpusim_hook_layers",
                                     xpusim_register_layers=hookimpl(lambda: [Double]))],
                            autoload=False)
    assert pm.layers["double"] is Double and "conv2d" in pm.layers
    b = GraphBuilder("doubled", (4,))
    b.add(Double())
    b.add(Dense(3))
    from xpusim.core.network import Network
    from xpusim.core.trace import Trace

    spec = pm.load_spec("h100-sxm")
    info = pm.backend("gpu")
    device = info.device(spec, pm.compute_kernels(spec), np.random.default_rng(0), Trace(),
                         primitives=info.primitives)
    net = Network(b.build(), device)
    net.initialize(np.random.default_rng(0))
    out, _ = net.forward(np.ones((2, 4), np.float32), "inference")
    expected = 2 * np.ones((2, 4), np.float32) @ device.weights(0)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_hook_xpusim_compute_kernels():
    """A ``tryfirst`` implementation answers for its spec and returns None for the others."""
    mine = KernelSet(gemm=lambda a, b, fmt: np.zeros((a.shape[0], b.shape[1]), np.float32))

    def kernels(spec):
        return mine if spec.name == "v100-sxm2" else None

    pm = get_plugin_manager([_plugin("xpusim_hook_kernels",
                                     xpusim_compute_kernels=hookimpl(tryfirst=True)(kernels))],
                            autoload=False)
    got = pm.compute_kernels(pm.load_spec("v100-sxm2"))
    assert got.gemm is mine.gemm and got.provider == "xpusim_hook_kernels"
    assert pm.compute_kernels(pm.load_spec("h100-sxm")).provider == "xpusim.plugins.hardware.gpu"


def test_hook_xpusim_cost_kernels():
    def price(phase, primitive, m, n, k, bits, fmt, count, activity, params, time_s, energy_j,
              extras):
        time_s[:] = params[0] * count
        energy_j[:, 0] = params[1] * count

    def cost(spec):
        if spec.name != "h100-sxm":
            return None
        return CostModel(price=price, params=[2.0, 3.0], components=("flat",),
                         boundary="a flat rate per row")

    pm = get_plugin_manager([_plugin("xpusim_hook_cost",
                                     xpusim_cost_kernels=hookimpl(tryfirst=True)(cost))],
                            autoload=False)
    from xpusim.core.scheduler import price_primitive

    _, ledger = price_primitive(pm, "h100-sxm", "mvm", (8, 8, 8), count=5)
    assert ledger.total_time_s == pytest.approx(10.0)
    assert ledger.by_component()["flat"] == pytest.approx(15.0)
    assert pm.cost_model(pm.load_spec("h100-sxm")).provider == "xpusim_hook_cost"
    assert pm.cost_model(pm.load_spec("v100-sxm2")).provider == "xpusim.plugins.hardware.gpu"
