"""Shared helpers of the analog tests: an in-situ device on a spec, spreads switched off."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.core.optim import make_optimizer
from xpusim.core.trace import Trace

SPREADS_OFF = ("pulsed.dw_min_dtod=0", "pulsed.dw_min_std=0", "pulsed.up_down_dtod=0",
               "pulsed.w_max_dtod=0", "pulsed.w_min_dtod=0")


@pytest.fixture
def off():
    """Overrides that switch every device-to-device and cycle-to-cycle spread off."""
    return SPREADS_OFF


@pytest.fixture
def insitu(pm):
    """``insitu(overrides, seed, spec)``: a fresh in-situ device (plain SGD optimizer)."""
    def make(over=(), seed=0, spec="aihwkit-defaults"):
        s = pm.load_spec(spec, ("training_mode=in-situ", *over))
        info = pm.backend("analog")
        return info.device(s, pm.compute_kernels(s), np.random.default_rng(seed), Trace(),
                           make_optimizer("sgd", 0.0), primitives=info.primitives)
    return make
