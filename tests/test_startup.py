"""Commands that need no kernels import no numba (about 0.3 s of start-up): registering the
built-in backends, loading their specs, declaring capabilities and naming who supplies each
kernel all happen without the kernel modules. Times are in benchmarks/bench_startup.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Backends whose capabilities or cost hook still import numba (none).
NUMBA_AT_DECLARATION: set[str] = set()


def _python(code: str) -> dict:
    env = {**os.environ, "XPUSIM_DISABLE_PLUGIN_AUTOLOAD": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_registration_and_spec_loading_import_no_numba():
    got = _python(
        "import json, sys\n"
        "from xpusim.core.plugins import get_plugin_manager\n"
        "pm = get_plugin_manager()\n"
        "specs = {n: pm.load_spec(n) for n in pm.spec_files()}\n"
        "backends = sorted(pm.backends)\n"
        "after_load = 'numba' in sys.modules\n"
        f"skip = {sorted(NUMBA_AT_DECLARATION)!r}\n"
        "for s in specs.values():\n"
        "    if s.backend not in skip:\n"
        "        pm.capabilities(s); pm.cost_model(s).provider\n"
        "        pm.compute_kernels(s).provider\n"
        "print(json.dumps({'backends': backends, 'specs': len(specs),\n"
        "                  'after_load': after_load, 'after_hooks': 'numba' in sys.modules}))")
    assert {"analog", "gpu", "neuromorphic", "systolic"} <= set(got["backends"])
    assert got["specs"] >= 10
    assert got["after_load"] is False
    assert got["after_hooks"] is False


@pytest.mark.parametrize("argv", [["--help"], ["methods"], ["specs", "list"], ["plugins"],
                                  ["specs", "show", "h100-sxm"], ["specs", "show", "tpu-v1"],
                                  ["specs", "show", "loihi"], ["specs", "show", "pcm-hermes"]])
def test_commands_that_need_no_kernels_import_no_numba(argv):
    got = _python(
        "import contextlib, io, json, sys\n"
        "from xpusim.cli import entry\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = entry({argv!r})\n"
        "print(json.dumps({'rc': rc, 'numba': 'numba' in sys.modules}))")
    assert got == {"rc": 0, "numba": False}


def test_a_kernel_loads_when_first_used():
    got = _python(
        "import json, sys\n"
        "from xpusim.core.plugins import get_plugin_manager\n"
        "pm = get_plugin_manager()\n"
        "ks = pm.compute_kernels(pm.load_spec('h100-sxm'))\n"
        "before = 'xpusim.plugins.hardware.gpu.compute' in sys.modules\n"
        "ks.gemm\n"
        "print(json.dumps([before, 'xpusim.plugins.hardware.gpu.compute' in sys.modules]))")
    assert got == [False, True]
