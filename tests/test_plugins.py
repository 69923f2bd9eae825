"""Plugin loading: entry points, explicit modules, overrides, and faults named by plugin."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from xpusim.core.errors import PluginError
from xpusim.core.plugins import get_plugin_manager

TOY = '''
from pathlib import Path
from xpusim import hookimpl
from xpusim.core import MethodInfo
from xpusim.plugins.methods.backprop import Backprop

class Toy(Backprop):
    name = "toy-backprop"

@hookimpl
def xpusim_register_methods():
    return [MethodInfo("toy-backprop", Toy, Toy.needs, "backprop under another name")]

@hookimpl
def xpusim_spec_dirs():
    return [Path(__file__).parent / "toy_specs"]
'''


def _install_dist(root: Path, module: str, source: str, ep_name: str) -> None:
    """A module plus a dist-info with an ``xpusim`` entry point: what ``pip install`` leaves."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    dist = root / f"{module.replace('_', '-')}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[xpusim]\n{ep_name} = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("xpusim_toy")]:
        del sys.modules[name]


def test_entry_point_plugin_is_discovered_and_usable(site):
    _install_dist(site, "xpusim_toyplug", TOY, "toy")
    (site / "toy_specs").mkdir()
    h100 = Path(__file__).resolve().parent.parent / "xpusim" / "hardware_specs" / "h100-sxm.toml"
    (site / "toy_specs" / "toy-gpu.toml").write_text(
        h100.read_text().replace('name = "h100-sxm"', 'name = "toy-gpu"'))
    pm = get_plugin_manager(autoload=True)
    rec = next(r for r in pm.records if r.name == "toy")
    assert rec.origin.startswith("entry point xpusim_toyplug 0.1")
    assert "xpusim_register_methods" in rec.hooks
    assert "toy-backprop" in pm.methods and "toy-gpu" in pm.spec_files()
    import xpusim

    r = xpusim.run(hardware="toy-gpu", method="toy-backprop", epochs=1, pm=pm)
    assert r.final_test_accuracy > 0.5
    assert get_plugin_manager(autoload=False).methods.keys().isdisjoint({"toy-backprop"})


def test_broken_entry_point_is_named_and_the_rest_works(site):
    _install_dist(site, "xpusim_toybroken", "raise ImportError('missing libfoo')\n", "broken")
    pm = get_plugin_manager(autoload=True)
    rec = next(r for r in pm.records if r.name == "broken")
    assert "ImportError: missing libfoo" in rec.error
    assert "backprop" in pm.methods


def test_explicit_module_by_path(tmp_path):
    path = tmp_path / "xpusim_toypath.py"
    path.write_text(TOY.replace("toy-backprop", "path-backprop"))
    pm = get_plugin_manager([str(path)], autoload=False)
    assert "path-backprop" in pm.methods


def test_a_hook_that_raises_is_named(tmp_path):
    path = tmp_path / "xpusim_toyraise.py"
    path.write_text("from xpusim import hookimpl\n@hookimpl\ndef xpusim_register_methods():\n"
                    "    raise RuntimeError('boom')\n")
    pm = get_plugin_manager([str(path)], autoload=False)
    with pytest.raises(PluginError, match=r"plugin 'xpusim_toyraise' raised in "
                                          r"xpusim_register_methods: RuntimeError: boom"):
        pm.methods


def test_duplicate_names_name_both_plugins(tmp_path):
    path = tmp_path / "xpusim_toydup.py"
    path.write_text(TOY.replace("toy-backprop", "backprop"))
    pm = get_plugin_manager([str(path)], autoload=False)
    with pytest.raises(PluginError, match=r"method 'backprop' is registered twice: by plugin "
                                          r"'xpusim.plugins.methods.backprop' and by plugin 'xpusim_toydup'"):
        pm.methods


def test_a_plugin_overrides_one_kernel_of_a_builtin(tmp_path):
    path = tmp_path / "xpusim_toykernel.py"
    path.write_text(textwrap.dedent('''
        from xpusim import hookimpl
        from xpusim.plugins.hardware.gpu import compute
        CALLS = []

        def counting_gemm(a, b, fmt):
            CALLS.append(fmt)
            return compute.gemm(a, b, fmt)

        @hookimpl(tryfirst=True)
        def xpusim_compute_kernels(spec):
            if spec.backend != "gpu":
                return None
            from xpusim.core.plugins import get_plugin_manager
            base = get_plugin_manager(autoload=False).compute_kernels(spec)
            return base.replace(gemm=counting_gemm)
    '''))
    pm = get_plugin_manager([str(path)], autoload=False)
    spec = pm.load_spec("h100-sxm")
    kernels = pm.compute_kernels(spec)
    assert kernels.provider == "xpusim_toykernel"
    assert kernels.provider_of("gemm") == "xpusim_toykernel"
    assert kernels.provider_of("quantize") == "xpusim.plugins.hardware.gpu"  # the rest: built-in
    import xpusim

    module = sys.modules["xpusim_toykernel"]
    r = xpusim.run(epochs=1, pm=pm)
    assert module.CALLS and r.config["compute_kernels"] == "xpusim_toykernel"
    # Built-in kernel hooks are trylast, so they never shadow an override.
    assert get_plugin_manager(autoload=False).compute_kernels(spec).provider.endswith("gpu")


WRAPPER = '''
from xpusim import hookimpl
from xpusim.plugins.hardware.gpu import compute
CALLS = []
SEEN = []

def counting_gemm(a, b, fmt):
    CALLS.append(fmt)
    return compute.gemm(a, b, fmt)

@hookimpl(wrapper=True)
def xpusim_compute_kernels(spec):
    base = yield
    if base is None or spec.backend != "gpu":
        return base
    return base.replace(gemm=counting_gemm)

@hookimpl(hookwrapper=True)
def xpusim_cost_kernels(spec):
    outcome = yield
    SEEN.append(outcome.get_result().provider)

@hookimpl(wrapper=True)
def xpusim_register_methods():
    methods = yield
    SEEN.append(sorted(m.name for found in methods for m in found))
    return methods
'''


def test_hook_wrappers_run_through_pluggy(tmp_path):
    """A new-style wrapper overrides one kernel of the set it wraps; an old-style hookwrapper
    sees the cost model; the override is credited to the wrapper, the rest to the built-in."""
    path = tmp_path / "xpusim_toywrap.py"
    path.write_text(WRAPPER)
    pm = get_plugin_manager([str(path)], autoload=False)
    module = sys.modules["xpusim_toywrap"]
    spec = pm.load_spec("h100-sxm")
    kernels = pm.compute_kernels(spec)
    assert kernels.provider == "xpusim_toywrap"
    assert kernels.provider_of("gemm") == "xpusim_toywrap"
    assert kernels.provider_of("quantize") == "xpusim.plugins.hardware.gpu"
    assert pm.cost_model(spec).provider == "xpusim.plugins.hardware.gpu"
    assert module.SEEN == ["xpusim.plugins.hardware.gpu"]
    assert "backprop" in pm.methods and "backprop" in module.SEEN[-1]
    import xpusim

    r = xpusim.run(epochs=1, pm=pm)
    assert module.CALLS == ["fp32"] * len(module.CALLS) and len(module.CALLS) > 10
    assert r.config["compute_kernels"] == "xpusim_toywrap"
    # a wrapper on a spec that is not the GPU's passes the built-in set through unchanged
    systolic = pm.compute_kernels(pm.load_spec("tpu-v1"))
    assert systolic.provider == "xpusim.plugins.hardware.systolic"


def test_a_raising_wrapper_is_named(tmp_path):
    path = tmp_path / "xpusim_toywrapraise.py"
    path.write_text("from xpusim import hookimpl\n@hookimpl(wrapper=True)\n"
                    "def xpusim_cost_kernels(spec):\n    yield\n    raise KeyError('late')\n")
    pm = get_plugin_manager([str(path)], autoload=False)
    with pytest.raises(PluginError, match=r"plugin 'xpusim_toywrapraise' raised in "
                                          r"xpusim_cost_kernels: KeyError: 'late'"):
        pm.cost_model(pm.load_spec("h100-sxm"))


def test_an_error_below_a_wrapper_names_the_implementation(tmp_path):
    path = tmp_path / "xpusim_toyinner.py"
    path.write_text("from xpusim import hookimpl\n@hookimpl(tryfirst=True)\n"
                    "def xpusim_compute_kernels(spec):\n    return 1 / 0\n")
    wrap = tmp_path / "xpusim_toywrap2.py"
    wrap.write_text(WRAPPER)
    pm = get_plugin_manager([str(path), str(wrap)], autoload=False)
    with pytest.raises(PluginError, match=r"plugin 'xpusim_toyinner' raised in "
                                          r"xpusim_compute_kernels: ZeroDivisionError"):
        pm.compute_kernels(pm.load_spec("h100-sxm"))


def test_a_kernel_hook_of_the_wrong_type_is_named(tmp_path):
    path = tmp_path / "xpusim_toytype.py"
    path.write_text("from xpusim import hookimpl\n@hookimpl(tryfirst=True)\n"
                    "def xpusim_cost_kernels(spec):\n    return 'cheap'\n")
    pm = get_plugin_manager([str(path)], autoload=False)
    with pytest.raises(PluginError, match=r"plugin 'xpusim_toytype': xpusim_cost_kernels "
                                          r"returned str, expected CostModel"):
        pm.cost_model(pm.load_spec("h100-sxm"))


def test_trace_plugins_prints_pluggys_trace(tmp_path):
    env = {**os.environ, "XPUSIM_TRACE_PLUGINS": "1", "XPUSIM_DISABLE_PLUGIN_AUTOLOAD": "1"}
    code = ("from xpusim.core.plugins import get_plugin_manager as g; pm = g(); "
            "pm.cost_model(pm.load_spec('tpu-v1'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent, check=True)
    assert "xpusim_register_backends [hook]" in out.stderr
    assert "xpusim_cost_kernels [hook]" in out.stderr and "spec: " in out.stderr
    assert "finish xpusim_cost_kernels --> CostModel(" in out.stderr
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**env, "XPUSIM_TRACE_PLUGINS": "0"},
                           cwd=Path(__file__).resolve().parent.parent, check=True)
    assert "[hook]" not in quiet.stderr


def test_the_gpu_rounds_through_its_registered_kernel():
    """Replacing ``round_float`` changes a bf16 product (fp32 specs register no rounding)."""
    import numpy as np

    from xpusim.core.trace import Trace

    pm = get_plugin_manager(autoload=False)
    assert "round_float" not in pm.compute_kernels(pm.load_spec("h100-sxm"))
    spec = pm.load_spec("h100-sxm", ["compute_format=bf16"])
    base = pm.compute_kernels(spec)

    def to_zero(x, out, *fmt):
        out[...] = 0.0

    info = pm.backend("gpu")
    x = np.full((2, 3), 1.5, np.float32)
    w = np.ones((3, 4), np.float32)
    outs = []
    for kernels in (base, base.replace(round_float=to_zero)):
        dev = info.device(spec, kernels, np.random.default_rng(0), Trace(),
                          primitives=info.primitives)
        dev.place(0, w)
        outs.append(dev.mvm(0, x, "inference"))
    assert np.array_equal(outs[0], np.full((2, 4), 4.5, np.float32))
    assert not outs[1].any()
