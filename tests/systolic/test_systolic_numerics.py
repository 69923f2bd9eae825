"""Systolic backend numerics: exact saturating integer GEMMs, quantizers, formats, training
storage, bad specs."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.core.specs import SpecError
from xpusim.numerics.formats import FLOAT_FORMATS, to_format
from xpusim.plugins.hardware.systolic import quant
from xpusim.plugins.hardware.systolic.compute import exact_chunk


def make_device(pm, overrides=(), seed=0, spec="tpu-v1"):
    spec = pm.load_spec(spec, tuple(overrides))
    backend = pm.backend("systolic")
    return backend.device(spec, pm.compute_kernels(spec), np.random.default_rng(seed),
                          primitives=backend.primitives)


@pytest.fixture(scope="module")
def kernels(pm):
    return pm.compute_kernels(pm.load_spec("tpu-v1"))


def test_int8_gemm_is_exact_integer_arithmetic(kernels):
    rng = np.random.default_rng(0)
    a = rng.integers(-127, 128, (64, 3000)).astype(np.float32)
    b = rng.integers(-127, 128, (3000, 48)).astype(np.float32)
    chunk = exact_chunk(127 * 127, 256)
    got = kernels.int_gemm(a, b, chunk, 32)
    np.testing.assert_array_equal(got, a.astype(np.int64) @ b.astype(np.int64))


def test_int16_gemm_is_exact_beyond_float32_significand(kernels):
    rng = np.random.default_rng(12)
    a = rng.integers(-32767, 32768, (20, 500)).astype(np.float32)
    b = rng.integers(-32767, 32768, (500, 7)).astype(np.float32)
    got = kernels.int_gemm(a, b, 128, 48)
    np.testing.assert_array_equal(got, a.astype(np.int64) @ b.astype(np.int64))


def test_narrow_accumulator_saturates_per_fold(kernels):
    a = np.full((1, 64), 127, np.float32)
    b = np.full((64, 1), 127, np.float32)
    got = kernels.int_gemm(a, b, 16, 20)  # 16 x 127^2 = 258064 per fold; 2^19 - 1 = 524287
    assert got[0, 0] == (1 << 19) - 1  # saturated at the accumulator's top, not wrapped
    assert kernels.int_gemm(a, b, 16, 32)[0, 0] == 64 * 127 * 127


def test_exact_chunk_keeps_float32_sums_exact():
    assert exact_chunk(127 * 127, 4096) * 127 * 127 <= 1 << 24
    assert exact_chunk(127 * 127, 128) == 128
    # int16 x int16 products exceed 2^24: float64 passes, exact to 2^53
    assert exact_chunk(32767 * 32767, 4096) == 4096


@pytest.mark.parametrize("fmt,levels", [("int8", 255), ("int4", 15), ("int2", 3)])
def test_symmetric_quantization_grid_and_error(kernels, fmt, levels):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 30)).astype(np.float32)
    q = quant.quantize(x, fmt, kernels, per_column=True)
    qmax = (levels - 1) // 2
    assert np.all(q.codes == np.rint(q.codes)) and np.abs(q.codes).max() == qmax
    assert len(np.unique(q.codes)) <= levels
    err = np.abs(q.value() - x)
    assert np.all(err <= q.scale[None, :] / 2 * (1 + 1e-6))


def test_per_channel_beats_per_tensor_on_uneven_columns(kernels):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((100, 8)) * np.logspace(-2, 1, 8)).astype(np.float32)
    per_col = quant.quantize(x, "int4", kernels, per_column=True).value()
    per_ten = quant.quantize(x, "int4", kernels, per_column=False).value()
    assert np.abs(per_col - x).mean() < 0.5 * np.abs(per_ten - x).mean()


def test_asymmetric_uses_the_whole_grid_for_relu_outputs(kernels):
    rng = np.random.default_rng(3)
    x = np.maximum(rng.standard_normal((300, 20)), 0).astype(np.float32)
    sym = quant.quantize(x, "int4", kernels).value()
    asym = quant.quantize(x, "int4", kernels, symmetric=False).value()
    assert np.abs(asym - x).mean() < 0.7 * np.abs(sym - x).mean()


def test_stochastic_rounding_is_unbiased(kernels):
    x = np.full((2000, 50), 0.3, np.float32)
    q = quant.quantize(x, "int8", kernels, stochastic=True, scale=np.ones(50, np.float32),
                       rng=np.random.default_rng(4))
    assert set(np.unique(q.codes)) == {0.0, 1.0}
    assert q.codes.mean() == pytest.approx(0.3, abs=0.01)  # nearest rounding would give 0


def test_ternary_and_binary_weights(kernels):
    rng = np.random.default_rng(5)
    w = rng.standard_normal((64, 16)).astype(np.float32)
    t = quant.quantize(w, "ternary", kernels, per_column=True)
    assert set(np.unique(t.codes)) == {-1.0, 0.0, 1.0}
    delta = 0.7 * np.abs(w).mean(axis=0)
    np.testing.assert_array_equal(t.codes == 0, np.abs(w) <= delta)
    b = quant.quantize(w, "binary", kernels)
    assert set(np.unique(b.codes)) == {-1.0, 1.0}
    np.testing.assert_allclose(b.scale, np.abs(w).mean(), rtol=1e-6)


@pytest.mark.parametrize("fmt", ["bf16", "fp16", "fp8-e4m3", "fp8-e5m2"])
def test_float_operands_use_the_shared_rounding_kernels(pm, fmt):
    dev = make_device(pm, [f"numerics.{k}={fmt}" for k in
                           ("weights", "activations", "errors", "outputs")] +
                      ["float_macs=true", "mac_bits=16"], spec="tpu-v1")
    rng = np.random.default_rng(6)
    w = (rng.standard_normal((40, 12)) * 0.2).astype(np.float32)
    x = rng.standard_normal((9, 40)).astype(np.float32)
    dev.place(0, w)
    got = dev.mvm(0, x, "inference")
    if fmt.startswith("fp8"):  # per-tensor scaled into range, as fp8 recipes do
        f = FLOAT_FORMATS[fmt].max_finite
        sx, sw = np.abs(x).max() / f, np.abs(w).max() / f
        y = (to_format(x / sx, fmt) @ to_format(w / sw, fmt)) * (sx * sw)
        sy = np.abs(y).max() / f
        want = to_format(y / sy, fmt) * sy
    else:
        want = to_format(to_format(x, fmt) @ to_format(w, fmt), fmt)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_int8_products_track_fp32(pm):
    dev = make_device(pm, ["numerics.outputs=fp32"])
    rng = np.random.default_rng(7)
    w = (rng.standard_normal((64, 32)) * 0.1).astype(np.float32)
    x = rng.standard_normal((16, 64)).astype(np.float32)
    e = rng.standard_normal((16, 32)).astype(np.float32)
    dev.place(0, w)
    y, back = dev.mvm(0, x, "inference"), dev.mvm_t(0, e)
    assert np.abs(y - x @ w).max() < 0.02 * np.abs(x @ w).max()
    assert np.abs(back - e @ w.T).max() < 0.02 * np.abs(e @ w.T).max()


def test_without_master_copy_weights_stay_on_the_grid(pm):
    dev = make_device(pm, ["numerics.master_weights=false", "numerics.weights=int4"])
    rng = np.random.default_rng(8)
    dev.place(0, (rng.standard_normal((30, 10)) * 0.1).astype(np.float32))
    for _ in range(5):
        dev.update(0, rng.standard_normal((8, 30)).astype(np.float32),
                   rng.standard_normal((8, 10)).astype(np.float32), 1e-3)
    stored = dev.stored[0]
    assert np.all(stored.codes == np.rint(stored.codes)) and np.abs(stored.codes).max() <= 7
    np.testing.assert_array_equal(dev.weights(0), stored.value())


def test_master_copy_takes_updates_smaller_than_a_grid_step(pm):
    """QAT: a 1e-6 step moves the fp32 master; without a master copy it is lost or random."""
    dev = make_device(pm)
    rng = np.random.default_rng(9)
    w = (rng.standard_normal((30, 10)) * 0.1).astype(np.float32)
    dev.place(0, w)
    pre, post = np.ones((1, 30), np.float32), np.ones((1, 10), np.float32)
    dev.update(0, pre, post, 1e-6)
    delta = dev.weights(0) - w
    assert np.all(delta > 0) and np.all(delta < 1e-5)


def test_same_seed_bit_identical_with_stochastic_rounding(pm):
    outs = []
    for _ in range(2):
        dev = make_device(pm, ["numerics.rounding=stochastic", "numerics.master_weights=false"],
                          seed=11)
        rng = np.random.default_rng(10)
        dev.place(0, (rng.standard_normal((20, 6)) * 0.1).astype(np.float32))
        dev.update(0, rng.standard_normal((4, 20)).astype(np.float32),
                   rng.standard_normal((4, 6)).astype(np.float32), 1e-2)
        outs.append(dev.mvm(0, rng.standard_normal((3, 20)).astype(np.float32), "inference"))
    np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("override,message", [
    ("array_rows=0", "array_rows: must be > 0, found 0"),
    ("array_cols=-4", "array_cols: must be > 0"),
    ("dataflow=xs", "dataflow"),
    ("accumulator_bits=12", "accumulator_bits: 12-bit accumulator is narrower than one int8"),
    ("numerics.weights=bf16", "needs float MACs"),
    ("numerics.activations=ternary", "weight-only format"),
    ("clock_mhz=0", "clock_mhz: must be > 0"),
])
def test_bad_specs_rejected_clearly(pm, override, message):
    with pytest.raises(SpecError) as info:
        pm.load_spec("tpu-v1", (override,))
    assert message in str(info.value)
    assert "tpu-v1" in str(info.value)


def test_bad_spec_on_the_command_line_is_one_line_and_nonzero(capsys):
    from xpusim.cli import entry

    code = entry(["run", "--hardware", "tpu-v1", "--set", "dataflow=diagonal", "--epochs", "1"])
    _, err = capsys.readouterr()
    assert code != 0
    assert "tpu-v1.toml: dataflow: expected one of 'ws', 'os', 'is', found 'diagonal'" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
