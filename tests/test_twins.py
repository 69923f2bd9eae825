"""Every numba kernel of every built-in backend (and every kernel ``xpusim.numerics`` shares)
matches its NumPy reference twin."""

from __future__ import annotations

import copy
import importlib

import numpy as np
import pytest

from xpusim.core.kernels import load
from xpusim.core.plugins import get_plugin_manager
from xpusim.numerics.twins import TWINS as NUMERICS_TWINS
from xpusim.plugins import BUILTINS

PM = get_plugin_manager(autoload=False)


def builtin_twins() -> dict[str, dict]:
    """Twins by owner: each built-in plugin module's ``TWINS``, each built-in backend's
    declared ``BackendInfo.twins``, and ``xpusim.numerics``'."""
    tables = {"numerics": dict(NUMERICS_TWINS)}
    for modname in BUILTINS:
        twins = getattr(importlib.import_module(modname), "TWINS", None)
        if twins:
            tables[modname.rsplit(".", 1)[-1]] = dict(twins)
    for name, info in PM.backends.items():
        if info.twins is not None:
            tables.setdefault(name, {}).update(load(info.twins))
    return tables


CASES = [pytest.param(twin, id=f"{owner}-{name}")
         for owner, twins in builtin_twins().items() for name, twin in twins.items()]


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


def test_every_backend_has_twins():
    tables = builtin_twins()
    assert {"analog", "gpu", "neuromorphic", "systolic"} <= set(PM.backends)
    for name in PM.backends:
        assert tables.get(name), name
