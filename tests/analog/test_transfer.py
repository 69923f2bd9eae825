"""The Tiki-Taka family on the analog backend: gradient into A, transfers into C, buffers,
choppers, AGAD's reference, and the price of every transfer read and write."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.core.results import RunConfig
from xpusim.core.scheduler import run
from xpusim.plugins.hardware.analog import transfer as T



def _batches(rng, n_batches, m=8, k=16, n=4):
    for _ in range(n_batches):
        x = rng.uniform(0, 1, (m, k)).astype(np.float32)
        yield x, np.tile(np.array([0.02, -0.02, 0.01, 0.0], np.float32), (m, 1))


@pytest.mark.parametrize("algo", ["tiki-taka", "ttv2", "c-ttv2", "agad"])
def test_rule_moves_the_weights_along_the_gradient(pm, insitu, off, algo):
    """A constant gradient direction (columns +, -, +, 0) reaches C through the transfers."""
    over = off + (f"transfer.algorithm={algo}", "noise.out_noise_std=0")
    key = algo.replace("-", "_")
    over += (f"transfer.{key}.transfer_every=1", f"transfer.{key}.units_in_mbatch=false")
    if algo in ("c-ttv2", "agad"):
        over += (f"transfer.{key}.in_chop_prob=0.1", "adc.bits=12")
    dev = insitu(over)
    dev.place(0, np.zeros((16, 4), np.float32))
    rng = np.random.default_rng(0)
    for x, d in _batches(rng, 40):
        dev.update(0, x, d, 0.5)
    w = dev.weights(0)
    assert w[:, 0].mean() > 0.002 and w[:, 1].mean() < -0.002, (algo, w.mean(axis=0))
    assert abs(w[:, 3]).mean() < 0.3 * abs(w[:, 0]).mean()
    rule = dev.rules[0]
    assert rule.tp[T.P_ALGO] == T.ALGORITHMS[algo]
    assert np.abs(rule.c.w).sum() > 0  # C holds the weights


def test_tiki_taka_transfers_one_row_per_batch_and_prices_it(pm, insitu, off):
    dev = insitu(off + ("transfer.algorithm=tiki-taka",))
    dev.place(0, np.zeros((16, 4), np.float32))
    rng = np.random.default_rng(1)
    x, d = next(_batches(rng, 1))
    n0 = len(dev.trace)
    dev.update(0, x, d, 0.5)
    prims = dev.trace.column("primitive")[n0:].tolist()
    ks = dev.trace.column("k")[n0:].tolist()
    assert 0 in prims  # the one-hot read of A's row 0 (an mvm row with k = 1)
    assert ks[prims.index(0)] == 1 and dev.trace.column("m")[n0:][prims.index(0)] == 1
    assert dev.rules[0].ts[T.T_SLICE] == 1  # next transfer reads row 1
    r = run(RunConfig(hardware="aihwkit-defaults", overrides=("training_mode=in-situ",
                                                              "transfer.algorithm=tiki-taka"),
                      epochs=1, optimizer="sgd", lr=0.05), plugins=pm)
    assert r.training["counters"]["adc_conversions"] > 0
    assert r.training["energy_by_component_j"]["write"] > 0


def test_ttv2_buffer_sends_whole_steps(pm, insitu, off):
    """The digital buffer holds what the transfer reads accumulate until a step is due."""
    over = off + ("transfer.algorithm=ttv2", "noise.out_noise_std=0", "adc.enabled=false",
                  "transfer.ttv2.momentum=0")
    dev = insitu(over)
    dev.place(0, np.zeros((2, 2), np.float32))
    rule = dev.rules[0]
    rule.a.w[...] = 0.0004  # a read of 0.0004 x transfer lr 1 < threshold 0.001: no step yet
    x = np.zeros((1, 2), np.float32)
    d = np.zeros((1, 2), np.float32)
    dev.update(0, x, d, 1.0)
    np.testing.assert_allclose(rule.buf[0], 0.0004)
    np.testing.assert_allclose(rule.c.w, 0.0)
    for _ in range(4):  # rows 1, 0, 1, 0: row 0 reaches 3 x 0.0004 >= 0.001
        dev.update(0, x, d, 1.0)
    np.testing.assert_allclose(rule.c.w[0], 0.001)  # one step of C
    np.testing.assert_allclose(rule.buf[0], 0.0)    # forgotten (momentum 0)


def test_chopped_rule_flips_the_choppers(pm, insitu, off):
    over = off + ("transfer.algorithm=c-ttv2", "transfer.c_ttv2.in_chop_prob=1",
                  "transfer.c_ttv2.in_chop_random=false", "transfer.c_ttv2.out_chop_prob=1")
    dev = insitu(over)
    dev.place(0, np.zeros((3, 2), np.float32))
    rule = dev.rules[0]
    x = np.ones((3, 3), np.float32)
    d = np.full((3, 2), 0.01, np.float32)
    dev.update(0, x, d, 0.1)  # 3 samples, 3 reads: rows 0, 1, 2 (a full sweep)
    assert rule.out_chop.tolist() == [1, 1]  # flipped after the sweep (probability 1)
    assert rule.ts[T.T_COUNTER] == 1


def test_agad_waits_a_chopper_period_before_writing(pm, insitu, off):
    over = off + ("transfer.algorithm=agad", "transfer.agad.in_chop_prob=0.5",
                  "noise.out_noise_std=0", "adc.enabled=false")
    dev = insitu(over)
    dev.place(0, np.zeros((2, 2), np.float32))
    rule = dev.rules[0]
    rule.a.w[...] = 0.01
    x = np.zeros((1, 2), np.float32)
    d = np.zeros((1, 2), np.float32)
    for _ in range(4):  # two sweeps: counter 0, 1 <= period 2
        dev.update(0, x, d, 1.0)
    np.testing.assert_allclose(rule.c.w, 0.0)
    assert np.abs(rule.mean).sum() > 0  # the running mean of the reads


def test_gamma_reads_both_arrays(pm, insitu, off):
    dev = insitu(off + ("transfer.algorithm=tiki-taka", "transfer.tiki_taka.gamma=0.5"))
    dev.place(0, np.full((4, 2), 0.1, np.float32))
    rule = dev.rules[0]
    rule.a.w[...] = 0.2
    np.testing.assert_allclose(dev.weights(0), 0.1 + 0.5 * 0.2, rtol=1e-6)
    n0 = len(dev.trace)
    dev.mvm(0, np.ones((2, 4), np.float32), "train-forward")
    assert dev.trace.column("primitive")[n0:].tolist().count(0) == 2  # A and C read
    assert dev.layer_tiles(0) == 2


def test_fast_array_takes_its_own_device(pm, insitu, off):
    dev = insitu(off + ("transfer.algorithm=tiki-taka", "transfer.fast.dw_min=0.01",
                            "transfer.fast.model=soft-bounds"))
    dev.place(0, np.zeros((4, 2), np.float32))
    rule = dev.rules[0]
    assert rule.a.pu.dw_min == 0.01 and rule.a.pu.model == "soft-bounds"
    assert rule.c.pu.dw_min == 0.001 and rule.c.pu.model == "constant-step"


def test_transfer_rules_need_in_situ_mode(pm, insitu, off):
    from xpusim.core.specs import SpecError
    with pytest.raises(SpecError, match="transfer.algorithm: 'ttv2' trains in-situ"):
        pm.load_spec("pcm-hermes", ("transfer.algorithm=ttv2",))
    with pytest.raises(SpecError, match="n_reads_per_transfer: chopped rules read one row"):
        pm.load_spec("pcm-hermes", ("training_mode=in-situ", "transfer.algorithm=agad",
                                    "transfer.agad.n_reads_per_transfer=2"))


@pytest.mark.parametrize("algo", ["none", "c-ttv2"])
def test_same_seed_same_weights(pm, algo):
    """Counter-based streams keyed by the run's Generator: one seed, bit-identical training."""
    cfg = dict(hardware="aihwkit-defaults", epochs=1, optimizer="sgd", lr=0.1, seed=3,
               overrides=("training_mode=in-situ", f"transfer.algorithm={algo}"))
    a, b = (run(RunConfig(**cfg), plugins=pm) for _ in range(2))
    assert a.final_test_accuracy == b.final_test_accuracy
    assert a.loss_per_epoch == b.loss_per_epoch
    assert a.training["energy_j"] == b.training["energy_j"]
