"""MLPs are a special case of layer graphs: their results are those of the MLP-only
implementation they replaced (xpusim 0.1.0 at commit bbb511c, before layer graphs), pinned
here for a few hardware x rule pairs: accuracy and losses bit-identical, costs to the last
bits (trace rows are recorded in a different order, so sums may round differently); on GPU
specs only the numerics, since GPU products are now priced by the GEMM efficiency model, and
those to BLAS's precision (losses to 1e-6, accuracy within two test samples): their fp32
products go through NumPy's BLAS, whose kernel for the CPU at hand orders the sums.

mlp:64-32-10 on digits, 2 epochs, batch 32, seed 3 (the slow test runs them all). One pin
moved on purpose: bf16 training energy (0.2530015 -> 0.2531639 J), since the optimizer's pass
over a bf16 model's fp32 master weights and Adam states now moves fp32 bytes. The three analog
pins moved with the analog backend's rework: pcm-hermes programs with the HERMES chip's noise
model and hardware-aware training injects that model's noise (losses); in-situ updates follow
aihwkit's per-sample update management, one pulse at a time, and an update row is priced for
the pulse slots it used rather than 31 (losses, accuracy, training energy).
"""

from __future__ import annotations

import pytest

import xpusim

PINS = [
    ('h100-sxm', 'backprop', 'adam', (), 0.6972222222222222, (2.1619537856843736, 1.7520109415054321), 0.2536044720747834, 2.4236991272231433e-06),
    ('h100-sxm', 'backprop', 'adam', ('compute_format=bf16',), 0.6944444444444444, (2.162024402618408, 1.7512435621685452), 0.25316391304423386, 2.359389062278238e-06),
    ('pcm-hermes', 'backprop', 'adam', (), 0.6888888888888889, (2.1663726965586343, 1.7658025291230943), 0.0011709089200000002, 2.668724000000001e-07),
    ('aihwkit-defaults', 'backprop', 'sgd', ('training_mode=in-situ',), 0.7555555555555555, (2.05607557826572, 1.5968643850750392), 0.004464287422, 2.6741000000000004e-07),
    ('tpu-v1', 'backprop', 'adam', (), 0.6972222222222222, (2.1623192628224692, 1.7524877362781102), 0.01512906630915992, 2.6048751429714954e-07),
    ('loihi', 'dfa', 'sgd', (), 0.7555555555555555, (2.201424913936191, 2.7760303020477295), 0.08306866491155002, 2.0996781233333338e-05),
    ('h100-sxm', 'fa', 'adam', (), 0.18333333333333332, (2.354359965854221, 2.180473534266154), 0.2538845417288597, 2.4236991272231433e-06),
    ('h100-sxm', 'dfa', 'adam', (), 0.18333333333333332, (2.354359965854221, 2.180473534266154), 0.2538845417288597, 2.4236991272231433e-06),
    ('h100-sxm', 'oja', 'adam', (), 0.5805555555555556, (2.2261406898498537, 2.0972138351864285), 0.27868376018560775, 3.231147175515017e-06),
    ('h100-sxm', 'krotov-hopfield', 'adam', (), 0.7944444444444444, (1.871873758898841, 0.9317899465560913), 0.22815931700366143, 2.4243020072231436e-06),
    ('h100-sxm', 'forward-forward', 'adam', (), 0.3972222222222222, (1.4033603270848591, 1.293675688902537), 0.30483154502867005, 2.4379982166795652e-05),
    ('loihi', 'oja', 'sgd', (), 0.26944444444444443, (2.2246687836117216, 2.1273540682262846), 0.05880671629435001, 1.7665807565277783e-05),
    ('pcm-hermes', 'dfa', 'sgd', ('training_mode=in-situ',), 0.8638888888888889, (1.6521729244126213, 0.7013332618607415), 0.0085154887292, 2.668724000000001e-07),
]


@pytest.mark.parametrize("pin", PINS[:3] + PINS[6:8], ids=lambda p: f"{p[0]}-{p[1]}")
def test_mlp_results_are_those_of_the_mlp_only_implementation(pm, pin):
    _check(pm, pin)


@pytest.mark.slow
@pytest.mark.parametrize("pin", PINS[3:6] + PINS[8:], ids=lambda p: f"{p[0]}-{p[1]}")
def test_mlp_results_on_every_backend_and_rule(pm, pin):
    _check(pm, pin)


def _check(pm, pin):
    hardware, method, optimizer, sets, acc, losses, train_j, infer_j = pin
    r = xpusim.run(hardware=hardware, method=method, optimizer=optimizer, set=list(sets),
                   model="mlp:64-32-10", epochs=2, seed=3, pm=pm)
    if pm.load_spec(hardware).backend == "gpu":
        # fp32 products go through NumPy's BLAS, whose kernel (picked for the CPU) sets the
        # order of the sums: the last bits differ between CPUs, never between runs on one.
        assert r.final_test_accuracy == pytest.approx(acc, abs=2 / 360)  # two test samples
        assert tuple(r.loss_per_epoch) == pytest.approx(losses, rel=1e-6)
        return  # GPU costs follow the GEMM efficiency model (tiles and waves) since
    assert r.final_test_accuracy == acc
    assert tuple(r.loss_per_epoch) == losses
    assert r.training["energy_j"] == pytest.approx(train_j, rel=1e-12, abs=0)
    assert r.inference_per_sample["energy_j"] == pytest.approx(infer_j, rel=1e-12, abs=0)
