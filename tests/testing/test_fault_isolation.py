"""A plugin that fails to import or raises in a hook is named with its exception; overrides of
one kernel (tryfirst) win and are reported as the kernels' provider."""

from __future__ import annotations

import sys
import textwrap

import pytest
from toy import write_toy

import xpusim
from xpusim.core.errors import PluginError
from xpusim.core.plugins import get_plugin_manager


def test_module_that_fails_to_import_is_named(tmp_path):
    path = write_toy(tmp_path, "import_error")
    with pytest.raises(PluginError) as err:
        get_plugin_manager([str(path)], autoload=False)
    assert str(path) in str(err.value)
    assert "ModuleNotFoundError" in str(err.value)
    assert "xpusim_no_such_module" in str(err.value)


@pytest.fixture
def broken_entry_point(tmp_path, monkeypatch):
    """An installed distribution whose ``xpusim`` entry point fails to import."""
    write_toy(tmp_path, "import_error")
    dist = tmp_path / "xpusim_broken-0.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: xpusim-broken\nVersion: 0.3\n")
    (dist / "entry_points.txt").write_text("[xpusim]\nbroken = toy_import_error\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    # core's path loader leaves a failed module in sys.modules (reported to the lead)
    sys.modules.pop("toy_import_error", None)
    yield "broken"
    sys.modules.pop("toy_import_error", None)


def test_entry_point_that_fails_to_import_is_listed_broken(broken_entry_point):
    pm = get_plugin_manager(autoload=True)
    record = next(r for r in pm.records if r.name == broken_entry_point)
    assert record.origin == "entry point xpusim-broken 0.3"
    assert "ModuleNotFoundError" in record.error and "xpusim_no_such_module" in record.error
    # the rest keeps working: built-ins register, load, price and run
    assert "gpu" in pm.backends
    spec = pm.load_spec("h100-sxm")
    assert pm.cost_model(spec).provider == "xpusim.plugins.hardware.gpu"
    result = xpusim.run(hardware="h100-sxm", epochs=1, model="mlp:64-16-10", pm=pm)
    assert result.status == "ok"


def test_hook_that_raises_is_named_in_a_run(tmp_path):
    pm = get_plugin_manager([str(write_toy(tmp_path, "hook_raises"))], autoload=False)
    with pytest.raises(PluginError, match=r"plugin 'toy_hook_raises' raised in "
                                          r"xpusim_cost_kernels: RuntimeError: boom"):
        xpusim.run(hardware="toy_hook_raises", epochs=1, pm=pm)


def test_override_of_one_kernel_wins_and_is_named(tmp_path):
    override = tmp_path / "better_rounding.py"
    override.write_text(textwrap.dedent('''
        from xpusim import hookimpl
        from xpusim.plugins.hardware.gpu import compute

        def my_quantize(x, fmt, round_float):
            return compute.quantize(x, fmt, round_float)

        @hookimpl(tryfirst=True)
        def xpusim_compute_kernels(spec):
            if spec.backend != "gpu":
                return None
            from xpusim.plugins.hardware import gpu
            base = gpu.xpusim_compute_kernels(spec)
            return base.replace(quantize=my_quantize)
    '''))
    pm = get_plugin_manager([str(override)], autoload=False)
    spec = pm.load_spec("h100-sxm")
    kernels = pm.compute_kernels(spec)
    assert kernels.provider == "better_rounding"
    assert kernels.quantize.__name__ == "my_quantize"
    from xpusim.plugins.hardware.gpu import compute
    assert kernels.gemm is compute.gemm  # the other kernels are the built-in ones
    assert pm.cost_model(spec).provider == "xpusim.plugins.hardware.gpu"
    r = xpusim.run(hardware="h100-sxm", epochs=1, model="mlp:64-16-10", pm=pm)
    assert r.config["compute_kernels"] == "better_rounding"


def test_misspelled_hook_is_named(tmp_path):
    path = tmp_path / "typo_plugin.py"
    path.write_text("from xpusim import hookimpl\n\n\n@hookimpl\n"
                    "def xpusim_register_backend():\n    return []\n")
    with pytest.raises(PluginError, match=r"typo_plugin.*unknown hook 'xpusim_register_backend'"):
        get_plugin_manager([str(path)], autoload=False)


def test_hook_with_wrong_argument_is_named(tmp_path):
    path = tmp_path / "badarg_plugin.py"
    path.write_text("from xpusim import hookimpl\n\n\n@hookimpl\n"
                    "def xpusim_compute_kernels(spek):\n    return None\n")
    with pytest.raises(PluginError, match=r"badarg_plugin.*spek"):
        get_plugin_manager([str(path)], autoload=False)
