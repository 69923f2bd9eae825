"""Every numba kernel of every built-in backend matches its NumPy reference twin."""

from __future__ import annotations

import copy
import importlib

import numpy as np
import pytest

from xpusim.plugins import BUILTINS

CASES = []
for modname in BUILTINS:
    module = importlib.import_module(modname)
    for name, twin in getattr(module, "TWINS", {}).items():
        CASES.append(pytest.param(twin, id=f"{modname.rsplit('.', 1)[-1]}-{name}"))


def _compare(a, b, twin):
    if isinstance(a, np.ndarray):
        if twin.rtol == 0 and twin.atol == 0:
            np.testing.assert_array_equal(a, b)
            if a.dtype.kind == "f":  # ±0 must match too
                np.testing.assert_array_equal(np.signbit(a), np.signbit(b))
        else:
            np.testing.assert_allclose(a, b, rtol=twin.rtol, atol=twin.atol, err_msg=twin.why)
    elif isinstance(a, (tuple, list)):
        for x, y in zip(a, b):
            _compare(x, y, twin)
    elif isinstance(a, float) and (twin.rtol or twin.atol):
        assert a == pytest.approx(b, rel=twin.rtol, abs=twin.atol)
    else:
        assert a == b or (a != a and b != b)


@pytest.mark.parametrize("twin", CASES)
@pytest.mark.parametrize("seed", range(6))
def test_kernel_matches_twin(twin, seed):
    args = twin.make_args(np.random.default_rng(seed))
    args_ref = copy.deepcopy(args)
    out = twin.kernel(*args)
    out_ref = twin.reference(*args_ref)
    _compare(out, out_ref, twin)
    for a, b in zip(args, args_ref):
        if isinstance(a, np.ndarray):
            _compare(a, b, twin)


def test_every_backend_exports_twins():
    backends = [m for m in BUILTINS if ".hardware." in m]
    assert backends
    for modname in backends:
        assert getattr(importlib.import_module(modname), "TWINS", None), modname
