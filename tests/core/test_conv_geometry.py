"""A convolution's rows say how they map onto its images (``samples``, ``inputs``), and the
backends that price by the image or by the sample use it."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.core.graph import GraphBuilder
from xpusim.core.layers import Conv2d, Dense, Flatten
from xpusim.core.ledger import price
from xpusim.core.network import Network, Rule
from xpusim.core.optim import SGD
from xpusim.core.trace import PRIMITIVE, Trace


def _conv_net(pm, spec, shape=(3, 8, 8), filters=4):
    b = GraphBuilder("conv", shape)
    b.add(Conv2d(filters, 3, 1, 1))
    b.add(Flatten())
    b.add(Dense(5))
    s = pm.load_spec(spec)
    info = pm.backend(s.backend)
    trace = Trace()
    device = info.device(s, pm.compute_kernels(s), np.random.default_rng(0), trace, SGD(0.0),
                         primitives=info.primitives)
    net = Network(b.build(), device)
    net.initialize(np.random.default_rng(0))
    return net, trace, s


def test_conv_rows_carry_their_batch_and_image_dense_rows_do_not(pm):
    net, trace, _ = _conv_net(pm, "h100-sxm")
    start = len(trace)
    x = np.random.default_rng(1).random((6, 3, 8, 8), dtype=np.float32)
    out, tape = net.forward(x, "train-forward", keep=True)
    net.needs["conv2d0"] = (True,)  # also propagate to the image, to see the mvm_t row
    net.backward(tape, np.ones_like(out), Rule())
    rows = trace.select(np.arange(len(trace)) >= start)
    prim, layer = rows.column("primitive"), rows.column("layer")
    for name in ("mvm", "mvm_t", "update"):
        conv = (prim == PRIMITIVE[name]) & (layer == 0)
        assert conv.sum() == 1, name
        assert rows.column("samples")[conv][0] == 6
        assert rows.column("inputs")[conv][0] == 6 * 3 * 8 * 8
        assert rows.column("m")[conv][0] == 6 * 64  # batch x output positions
        dense = (prim == PRIMITIVE[name]) & (layer == 1)
        if dense.any():
            assert rows.column("samples")[dense][0] == 0 and rows.column("inputs")[dense][0] == 0


def _row(primitive, m, n, k, bits, fmt, samples=0, inputs=0):
    t = Trace()
    t.add("inference", 0, primitive, m, n, k, bits, fmt, samples=samples, inputs=inputs)
    return t


def test_a_spiking_chip_pays_one_barrier_per_timestep_per_sample(pm):
    spec = pm.load_spec("loihi")
    cost = pm.cost_model(spec)
    as_dense = price(_row("mvm", 8 * 64, 16, 27, 1, "spike"), cost, spec.name)
    as_conv = price(_row("mvm", 8 * 64, 16, 27, 1, "spike", samples=8, inputs=8 * 3 * 64),
                    cost, spec.name)
    steps = spec.params.steps
    assert as_dense.extra_totals()["timesteps"] == 8 * 64 * steps
    assert as_conv.extra_totals()["timesteps"] == 8 * steps
    # same synaptic work, far fewer barriers: less time; 64 x 16 = 1024 neurons per sample
    # need one of loihi's 1024-compartment cores, so the ops are not spread further
    assert as_conv.extra_totals()["synaptic_op_count"] == \
        as_dense.extra_totals()["synaptic_op_count"]
    sync = spec.params.time.timestep_sync_ns * 1e-9
    assert as_dense.total_time_s - as_conv.total_time_s == pytest.approx(
        (8 * 64 - 8) * steps * sync, rel=1e-9)


def test_an_implicit_gemm_reads_the_image_not_the_patches(pm):
    spec = pm.load_spec("h100-sxm", ["compute_format=bf16"])
    cost = pm.cost_model(spec)
    m, n, k, image = 32 * 1024, 16, 144, 32 * 16 * 1024
    patches = price(_row("mvm", m, n, k, 16, "bf16"), cost, spec.name).extra_totals()
    conv = price(_row("mvm", m, n, k, 16, "bf16", samples=32, inputs=image), cost,
                 spec.name).extra_totals()
    assert patches["hbm_bytes"] == (m * k + k * n + m * n) * 2
    assert conv["hbm_bytes"] == (image + k * n + m * n) * 2
    dgrad = price(_row("mvm_t", m, k, n, 16, "bf16", samples=32, inputs=image), cost,
                  spec.name).extra_totals()
    assert dgrad["hbm_bytes"] == (m * n + n * k + image) * 2  # the input error, as an image


def test_a_systolic_array_keeps_a_conv_image_that_fits_its_buffer(pm):
    spec = pm.load_spec("tpu-v1")
    cost = pm.cost_model(spec)
    # 256 images of 8 x 32 x 32, 64 filters of 3 x 3: the int8 patches (256 x 1024 rows of
    # 72 values) and outputs overflow the 24 MiB unified buffer, the images and outputs fit
    m, n, k, image = 256 * 1024, 64, 72, 256 * 8 * 1024
    ibuf = spec.params.memory.input_buffer_kib * 1024
    assert m * k + m * n > ibuf >= image + m * n  # the patch matrix spills, the image fits
    patches = price(_row("mvm", m, n, k, 8, "int8"), cost, spec.name).extra_totals()
    conv = price(_row("mvm", m, n, k, 8, "int8", samples=256, inputs=image), cost,
                 spec.name).extra_totals()
    assert conv["dram_bytes"] == k * n  # the weights only
    assert patches["dram_bytes"] > m * k
    assert conv["compute_cycles"] == patches["compute_cycles"]  # the array sees the patches
