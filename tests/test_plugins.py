"""Plugin loading: entry points, explicit modules, overrides, and faults named by plugin."""

from __future__ import annotations

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

        def counting_quantize(x, fmt):
            CALLS.append(fmt)
            return compute.quantize(x, fmt)

        @hookimpl(tryfirst=True)
        def xpusim_compute_kernels(spec):
            if spec.backend != "gpu":
                return None
            from xpusim.core.plugins import get_plugin_manager
            base = get_plugin_manager(autoload=False).compute_kernels(spec)
            return base.replace(quantize=counting_quantize)
    '''))
    pm = get_plugin_manager([str(path)], autoload=False)
    spec = pm.load_spec("h100-sxm")
    kernels = pm.compute_kernels(spec)
    assert kernels.provider == "xpusim_toykernel"
    assert kernels.provider_of("quantize") == "xpusim_toykernel"
    assert kernels.provider_of("round_float") == "xpusim.plugins.hardware.gpu"  # the rest: built-in
    import xpusim

    module = sys.modules["xpusim_toykernel"]
    r = xpusim.run(epochs=1, pm=pm)
    assert module.CALLS and r.config["compute_kernels"] == "xpusim_toykernel"
    # Built-in kernel hooks are trylast, so they never shadow an override.
    assert get_plugin_manager(autoload=False).compute_kernels(spec).provider.endswith("gpu")
