"""The helpers that keep a hardware plugin short: SI conversion, ParamVector, kernels by
reference, HardwareBackend, MasterWeightsDevice, and the twin helpers of xpusim.testing."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import attrs
import numpy as np
import pytest

from xpusim.core import (CostModel, HardwareBackend, KernelSet, MasterWeightsDevice,
                         ParamVector, PluginError, si_factor)
from xpusim.core.optim import SGD
from xpusim.core.specs import quantity
from xpusim.core.trace import PRIMITIVE, PRIMITIVES, Trace
from xpusim.testing import TraceRows, jitter, price_args

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("unit, factor", [
    ("pJ/MAC", 1e-12), ("pJ", 1e-12), ("fJ/cell", 1e-15), ("nJ/weight", 1e-9),
    ("GB/s", 1e9), ("GB", 1e9), ("KiB", 1024.0), ("GiB", 2.0 ** 30), ("us", 1e-6),
    ("ns", 1e-9), ("GHz", 1e9), ("MHz", 1e6), ("mW/weight", 1e-3), ("TFLOP/s", 1e12),
    ("TOP/s", 1e12), ("Gop/s", 1e9), ("pJ/op", 1e-12), ("J/GB", 1e-9), ("W", 1.0),
    ("MAC/cycle", 1.0), ("nm", 1.0), ("USD/h", 1.0), ("1", 1.0), ("tiles", 1.0),
    ("bits", 1.0), ("uS", 1.0)])
def test_si_factor(unit, factor):
    assert si_factor(unit) == factor


@attrs.frozen(kw_only=True)
class _Inner:
    bw_gbs: float = quantity(unit="GB/s", doc="bandwidth")


@attrs.frozen(kw_only=True)
class _Params:
    rows: int = quantity(unit="rows", doc="array rows")
    e_pj: float = quantity(unit="pJ/MAC", doc="energy")
    inner: _Inner

    @property
    def derived(self) -> float:
        return 2.0 * self.rows


def test_param_vector_packs_keys_in_si_and_functions_as_given():
    vec = ParamVector(rows="rows", e="e_pj", bw="inner.bw_gbs", twice=lambda p: p.derived)
    p = _Params(rows=128, e_pj=0.25, inner=_Inner(bw_gbs=100.0))
    assert vec.indices == (0, 1, 2, 3) and vec.names == ("rows", "e", "bw", "twice")
    got = vec.pack(p)
    assert got.dtype == np.float64
    assert got.tolist() == [128.0, 0.25 * 1e-12, 100.0 * 1e9, 256.0]
    assert vec.value(p, "bw") == 1e11 and vec.index("twice") == 3


def test_param_vector_refuses_keys_without_a_unit_and_non_finite_values():
    p = _Params(rows=1, e_pj=1.0, inner=_Inner(bw_gbs=1.0))
    with pytest.raises(PluginError, match="no key 'derived' declared with quantity"):
        ParamVector(x="derived").pack(p)
    with pytest.raises(PluginError, match="entry 'x' of _Params is inf"):
        ParamVector(x=lambda p: float("inf")).pack(p)
    with pytest.raises(TypeError, match="entry 'x'"):
        ParamVector(x=3.0)


@pytest.fixture
def module_dir(tmp_path, monkeypatch):
    """A folder on sys.path for throwaway modules (removed from sys.modules afterwards)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("xp_lazy"):
            del sys.modules[name]


def test_kernels_by_reference_load_on_first_use(module_dir):
    (module_dir / "xp_lazy_kernels.py").write_text("def twice(x):\n    return 2 * x\n")
    ks = KernelSet(twice="xp_lazy_kernels:twice")
    assert "xp_lazy_kernels" not in sys.modules  # building and listing import nothing
    assert ks.names == ("twice",) and ks.refs()["twice"] == "xp_lazy_kernels:twice"
    assert ks.twice(3) == 6 and "xp_lazy_kernels" in sys.modules
    assert ks.as_dict()["twice"] is sys.modules["xp_lazy_kernels"].twice
    cost = CostModel(price="xp_lazy_kernels:twice", params=[1.0], components=("c",))
    assert cost.price is sys.modules["xp_lazy_kernels"].twice
    assert attrs.evolve(cost, provider="p").price is cost.price


@pytest.mark.parametrize("ref, message", [
    ("no_colon", "expected 'package.module:name'"),
    ("xp_lazy_missing_module:f", "cannot be loaded: ModuleNotFoundError"),
    ("xp_lazy_kernels:absent", "cannot be loaded: AttributeError"),
])
def test_a_bad_kernel_reference_is_a_clear_error(module_dir, ref, message):
    (module_dir / "xp_lazy_kernels.py").write_text("def twice(x):\n    return 2 * x\n")
    with pytest.raises(PluginError, match=re.escape(message)):
        KernelSet(k=ref).k  # noqa: B018


class _Rounding(MasterWeightsDevice):
    """Holds weights rounded to multiples of 0.5; products use the held copy."""

    def _program(self, layer, w):
        return np.round(w * 2.0) / 2.0

    def _product(self, x, w):
        return x @ w


def _device(pm):
    spec = pm.load_spec("h100-sxm")
    return _Rounding(spec, KernelSet(), np.random.default_rng(0), Trace(), optimizer=SGD(0.0),
                     primitives=frozenset({"mvm", "mvm_t", "update"}))


def test_master_weights_device_updates_the_master_and_reprograms(pm):
    dev = _device(pm)
    w = np.array([[0.2, 0.9], [-0.6, 0.0]], np.float32)
    dev.place(0, w)
    assert dev.weights(0).tolist() == [[0.0, 1.0], [-0.5, 0.0]]
    x = np.array([[1.0, 2.0]], np.float32)
    assert dev.mvm(0, x, "inference").tolist() == [[-1.0, 1.0]]
    assert dev.mvm_t(0, np.array([[1.0, 1.0]], np.float32)).tolist() == [[1.0, -0.5]]
    pre, post = np.array([[1.0, 0.0]], np.float32), np.array([[0.2, 0.0]], np.float32)
    dev.update(0, pre, post, lr=1.0)  # SGD: w += lr * pre^T post, on the fp32 master
    np.testing.assert_allclose(dev.master[0], [[0.4, 0.9], [-0.6, 0.0]], rtol=1e-6)
    assert dev.weights(0).tolist() == [[0.5, 1.0], [-0.5, 0.0]]
    primitives = [PRIMITIVES[p] for p in dev.trace.columns()["primitive"]]
    assert primitives == ["write", "mvm", "mvm_t", "elementwise", "update"]


def test_trace_rows_store_multiplies_by_count_and_marks_unpriced_rows():
    n = 3
    cols = [np.zeros(n, np.int8), np.array([PRIMITIVE["mvm"], PRIMITIVE["write"],
                                            PRIMITIVE["reduce"]], np.int8),
            np.array([2, 3, 4]), np.ones(n, np.int64), np.ones(n, np.int64),
            np.full(n, 16, np.int16), np.zeros(n, np.int16), np.array([1, 2, 5]), np.ones(n)]
    outputs = [np.zeros(n), np.zeros((n, 1)), np.zeros((n, 2))]
    r = TraceRows(*cols, np.array([10.0]), *outputs)
    assert r.of("mvm", "reduce").tolist() == [True, False, True]
    assert r.bytes.tolist() == [2.0, 2.0, 2.0]
    r.store(r.m * r.params[0], ~r.of("write"), energy=[r.m], extras=[r.m, 1.0])
    assert outputs[0].tolist() == [20.0, -1.0, 200.0]
    assert outputs[1][:, 0].tolist() == [2.0, 0.0, 20.0]
    assert outputs[2].tolist() == [[2.0, 1.0], [0.0, 0.0], [20.0, 5.0]]
    with pytest.raises(ValueError, match="1 columns given, the kernel fills 2"):
        r.store(r.m, True, energy=[r.m], extras=[r.m])


def test_jitter_keeps_zeros_and_whole_numbers():
    rng = np.random.default_rng(0)
    v = np.array([0.0, 64.0, 1.0, 2.5e-12, 1e10])
    for _ in range(50):
        j = jitter(v, rng)
        assert j[0] == 0.0 and j[1] == np.round(j[1]) and j[2] >= 1.0
        assert np.all(j[1:] >= v[1:] / 8 - 1) and np.all(j[1:] <= v[1:] * 8 + 1)
    args = price_args(rng, v, components=2, extras=3, rows=20)
    assert len(args) == 13 and args[9].tolist() == v.tolist()
    assert args[11].shape[1] == 2 and args[12].shape[1] == 3


def test_hardware_backend_declares_hooks_and_builds_the_cost_model(pm):
    vec = ParamVector(rows="rows")
    backend = HardwareBackend(name="toy", package="xp_lazy_toy", params=_Params, device=_Rounding,
                              primitives=["mvm"], compute=("k1",), cost_params=vec,
                              components=("c",), boundary="toy")
    assert backend.kernels == "xp_lazy_toy.kernels"
    assert backend.price == "xp_lazy_toy.kernels:price"
    assert backend.info.twins == "xp_lazy_toy.twins:TWINS"
    register, spec_dirs, compute, cost = backend.hooks()
    assert [h.__name__ for h in backend.hooks()] == [
        "xpusim_register_backends", "xpusim_spec_dirs", "xpusim_compute_kernels",
        "xpusim_cost_kernels"]
    assert register() == [backend.info] and spec_dirs() == []  # no such package: no folder
    spec = attrs.evolve(pm.load_spec("h100-sxm"), backend="toy",
                        params=_Params(rows=4, e_pj=1.0, inner=_Inner(bw_gbs=1.0)))
    assert compute(spec).refs() == {"k1": "xp_lazy_toy.kernels:k1"}
    with pytest.raises(PluginError, match="_Params has no static_power_w"):
        cost(spec)
    assert compute(pm.load_spec("h100-sxm")) is None and cost(pm.load_spec("h100-sxm")) is None


def _write_tutorial_plugin(folder: Path) -> None:
    """The tutorial's plugin files, exactly as the page shows them."""
    page = (ROOT / "docs" / "tutorials" / "write-a-hardware-plugin.md").read_text()
    for lang, body in re.findall(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", page, re.M | re.S):
        target = re.fullmatch(r"# file: (xpusim_int8array/\S+)", body.splitlines()[0].strip())
        if lang in ("python", "toml") and target:
            path = folder / target.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)


def test_the_tutorial_plugin_passes_the_conformance_suite(tmp_path, monkeypatch):
    """The helpers composed as the tutorial composes them pass every check (the tutorial's
    literal commands run in a fresh virtual environment in scripts/check_example_plugin.sh)."""
    from xpusim.core.plugins import get_plugin_manager
    from xpusim.testing import run_checks

    _write_tutorial_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        pm = get_plugin_manager(["xpusim_int8array"], autoload=False)
        results = run_checks(pm, "int8array")
        failed = [f"{r.name}: {r.message}" for r in results if r.status == "failed"]
        assert not failed, failed
        assert {r.name for r in results if r.status == "passed"} >= {
            "check_twins_match", "check_kernels_have_twins", "check_registered_kernels_run",
            "check_capabilities", "check_tiny_run_learns"}
    finally:
        for name in [m for m in sys.modules if m.startswith("xpusim_int8array")]:
            del sys.modules[name]


def test_a_plugin_file_can_bind_the_hooks(tmp_path):
    """pluggy registers the bound methods as the module's hooks, under their names."""
    from xpusim.core.plugins import get_plugin_manager

    plugin = tmp_path / "xp_lazy_bound.py"
    plugin.write_text(textwrap.dedent('''
        import attrs
        from xpusim.core import Device, HardwareBackend, ParamVector, quantity

        @attrs.frozen(kw_only=True)
        class P:
            rows: int = quantity(unit="rows", doc="rows")
            static_power_w: float = quantity(unit="W", doc="static")

        BACKEND = HardwareBackend(name="bound", package=__name__, params=P, device=Device,
                                  primitives=["mvm"], compute={}, components=("c",),
                                  cost_params=ParamVector(rows="rows"), boundary="b")
        (xpusim_register_backends, xpusim_spec_dirs, xpusim_compute_kernels,
         xpusim_cost_kernels) = BACKEND.hooks()
    '''))
    try:
        pm = get_plugin_manager([str(plugin)], autoload=False)
        rec = {r.name: r for r in pm.records}["xp_lazy_bound"]
        assert set(rec.hooks) == {"xpusim_register_backends", "xpusim_spec_dirs",
                                  "xpusim_compute_kernels", "xpusim_cost_kernels"}
        assert pm.backend("bound").params.__name__ == "P"
    finally:
        sys.modules.pop("xp_lazy_bound", None)
