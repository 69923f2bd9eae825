"""A tiny, correct hardware plugin written to tmp_path, and deliberately broken copies of it.

``write_toy(tmp_path, variant)`` writes ``toy_<variant>.py`` plus its spec folder and returns the
module path (load it with ``get_plugin_manager([path])``). Each variant changes one thing.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

SOURCE = '''
"""Toy backend: fp32 matmuls, cost = MACs x energy per MAC (variant: {variant})."""
from pathlib import Path
import attrs
import numpy as np
from xpusim import hookimpl
from xpusim.core import BackendInfo, Capabilities, CostModel, Device, KernelSet, Twin
from xpusim.core.specs import quantity
{top}

@attrs.frozen(kw_only=True)
class ToyParams:
    """A toy chip."""
    mac_pj: float = quantity(unit="pJ/MAC", doc="energy per multiply-accumulate", gt=0)
    macs_per_s: float = quantity(unit="MAC/s", doc="throughput", gt=0)
    static_power_w: float = quantity(unit="W", doc="static power", ge=0, default=1.0)


def matmul(a, b, out):
    """out = a @ b (the compute kernel)."""
    out[...] = a @ b{kernel_bug}


def matmul_ref(a, b, out):
    """Independent twin: einsum."""
    out[...] = np.einsum("ik,kn->in", a, b)


def price(phase, primitive, m, n, k, bits, fmt, count, activity, params, time_s, energy_j, extras):
    for i in range(phase.size):
        macs = float(m[i]) * float(n[i]) * float(k[i]) * {count}
        if primitive[i] in (3, 4):   # elementwise / reduce: ops per element
            macs = float(m[i]) * float(k[i]) * {count}
        time_s[i] = macs / params[1] + 1e-9 * {count}{time_bug}
        energy_j[i, 0] = {sign}macs * params[0]
        extras[i, 0] = macs


def price_ref(phase, primitive, m, n, k, bits, fmt, count, activity, params, time_s, energy_j, extras):
    ew = (primitive == 3) | (primitive == 4)
    macs = np.where(ew, m * k, m * n * k).astype(float) * count
    time_s[:] = macs / params[1] + 1e-9 * count
    energy_j[:, 0] = macs * params[0]
    extras[:, 0] = macs


def _mm_args(rng):
    m, k, n = rng.integers(1, 9, 3)
    return [rng.standard_normal((m, k)), rng.standard_normal((k, n)), np.zeros((m, n))]


def _price_args(rng):
    r = int(rng.integers(0, 20))
    cols = [np.zeros(r, np.int8), rng.integers(0, 6, r).astype(np.int8), rng.integers(1, 99, r),
            rng.integers(1, 99, r), rng.integers(1, 99, r), np.full(r, 32, np.int16),
            np.zeros(r, np.int16), rng.integers(1, 9, r), np.ones(r)]
    return [*cols, np.array([1e-12, 1e12]), np.zeros(r), np.zeros((r, 1)), np.zeros((r, 1))]


TWINS = {{"matmul": Twin(matmul, matmul_ref, _mm_args, rtol=1e-12, atol=1e-12,
                        why="BLAS and einsum sum in different orders"),
         "price": Twin(price, price_ref, _price_args, rtol=1e-12, why="same formula")}}


class ToyDevice(Device):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.w = {{}}

    def _write(self, layer, w):
        self.w[layer] = w.copy()

    def _read(self, layer):
        return self.w[layer].copy()

    def _mvm(self, layer, x, phase):
        out = np.zeros((x.shape[0], self.w[layer].shape[1]), np.float32)
        self.kernels.matmul(x, self.w[layer], out){noise}
        return out

    def _mvm_t(self, layer, e, phase):
        return e @ self.w[layer].T

    def _update(self, layer, pre, post, lr, decay, phase):
        d = pre.T @ post
        if decay is not None:
            d = d - self.w[layer] * decay[None, :]
        self.w[layer] = self.w[layer] + self.optimizer.step(layer, d.astype(np.float32), lr)
{device_extra}

@hookimpl
def xpusim_register_backends():
    return [BackendInfo("toy", params=ToyParams, device=ToyDevice,
                        primitives={primitives}, doc="toy backend", capabilities={capabilities})]


def capabilities(spec):
    return Capabilities(memory_bytes=1e9, peak_ops_per_s={{"fp32": {peak}}})


@hookimpl
def xpusim_spec_dirs():
    return [Path(__file__).with_name("{stem}_specs")]


@hookimpl(trylast=True)
def xpusim_compute_kernels(spec):
    {foreign_guard}
    return KernelSet({kernelset})


@hookimpl(trylast=True)
def xpusim_cost_kernels(spec):
    {raise_in_hook}
    if spec.backend != "toy":
        return None
    p = spec.params
    return CostModel(price=price, params=[p.mac_pj * 1e-12, p.macs_per_s], components=("compute",),
                     extras=("macs",), static_power_w=p.static_power_w, boundary="toy chip")
'''

SPEC = '''
name = "{stem}-chip"
backend = "toy"
mac_pj = 1.5
macs_per_s = 1e12
static_power_w = 0.5

[source]
mac_pj = "assumption: round number for a test"
macs_per_s = "assumption: round number for a test"
{static_source}
'''

DEFAULTS = {
    "top": "", "kernel_bug": "", "count": "count[i]", "time_bug": "", "sign": "",
    "noise": "", "device_extra": "",
    "primitives": '{"mvm", "mvm_t", "update", "elementwise", "reduce", "write"}',
    "foreign_guard": 'if spec.backend != "toy":\n        return None',
    "raise_in_hook": "", "kernelset": "matmul=matmul", "static_source": 'static_power_w = "assumption: test"',
    "capabilities": "capabilities", "peak": "2.0 * spec.params.macs_per_s",
}

#: One deliberate bug per variant (``good`` has none).
VARIANTS = {
    "good": {},
    "twin_mismatch": {"kernel_bug": " + 1e-3"},
    "negative_energy": {"sign": "-"},
    "import_error": {"top": "import xpusim_no_such_module  # noqa"},
    "hook_raises": {"raise_in_hook": 'raise RuntimeError("boom: cost table missing")'},
    "claims_foreign": {"foreign_guard": "pass"},
    "ignores_count": {"count": "1.0"},
    "not_additive": {"time_bug": " + (1.0 if i == 0 else 0.0)"},
    "nondeterministic": {"noise": "\n        out += np.random.default_rng().normal(0, 1e-3, out.shape)"},
    "uncited": {"static_source": ""},
    "untwinned_kernel": {"top": "from numba import njit\n\n\n@njit(cache=False)\n"
                                "def clip(x):\n    return x",
                         "kernelset": "matmul=matmul, clip=clip"},
    "dead_kernel": {"kernelset": "matmul=matmul, matmul_t=matmul"},
    "inference_only": {"primitives": '{"mvm", "elementwise", "write"}'},
    "no_capabilities": {"capabilities": "None"},
    "beats_its_peak": {"peak": "spec.params.macs_per_s"},
    "inference_only_leaky": {"primitives": '{"mvm", "elementwise", "write"}',
                             "device_extra": "    def update(self, layer, pre, post, lr, "
                                             "decay=None, phase='train-update'):\n"
                                             "        self._update(layer, pre, post, lr, "
                                             "decay, phase)\n"},
}


def write_toy(folder: Path, variant: str = "good") -> Path:
    """Write the ``variant`` toy plugin and its spec folder; return the module's path."""
    stem = f"toy_{variant}"
    fields = {**DEFAULTS, **VARIANTS[variant], "variant": variant, "stem": stem}
    path = folder / f"{stem}.py"
    path.write_text(textwrap.dedent(SOURCE).format(**fields))
    specs = folder / f"{stem}_specs"
    specs.mkdir(exist_ok=True)
    (specs / f"{stem}.toml").write_text(SPEC.format(**fields))
    return path
