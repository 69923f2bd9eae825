"""Number formats come from plugins, capabilities are declared, and ``price`` resolves one
consistent (bits, format) pair."""

from __future__ import annotations

import pytest

from xpusim.api import price
from xpusim.core.capabilities import Capabilities
from xpusim.core.errors import PluginError, UnknownNameError, XpusimError
from xpusim.core.formats import FORMATS, Format, FormatRegistry
from xpusim.core.trace import Trace


def test_the_core_names_no_format():
    source = (FORMATS.__class__.__module__, )
    import inspect

    import xpusim.core.formats as core_formats
    import xpusim.core.trace as core_trace

    for module in (core_formats, core_trace):
        text = inspect.getsource(module)
        for name in ("analog", "spike", "bf16", "int8"):
            assert f'"{name}"' not in text, f"{module.__name__} names format {name!r}"
    assert source


def test_registry_is_append_only_and_rejects_conflicting_definitions():
    reg = FormatRegistry()
    a = reg.register(Format("x8", 8, "int"))
    assert reg.register(Format("x8", 8, "int", "same, other doc")) == a
    b = reg.register(Format("y16", 16, "float"))
    assert (a, b) == (0, 1) and reg.name(1) == "y16"
    with pytest.raises(PluginError, match="'x8' is registered twice"):
        reg.register(Format("x8", 4, "int"), owner="backend 'z'")
    with pytest.raises(UnknownNameError):
        reg.code("nope")


def test_backends_register_their_formats(pm):
    pm.backends  # registration happens when backends are collected
    for name in ("fp32", "tf32", "bf16", "int8", "analog", "spike"):
        assert name in FORMATS
    assert FORMATS.get("analog").kind == "device" and FORMATS.get("analog").bits is None
    assert FORMATS.get("tf32").bits == 32, "tf32 is a math mode on fp32 storage"


def test_a_trace_refuses_an_unregistered_format():
    with pytest.raises(UnknownNameError, match="number format"):
        Trace().add("inference", 0, "mvm", 1, 1, 1, 8, "int7-made-up")


def test_bits_alone_pick_the_format_of_that_width():
    r16 = price("h100-sxm", "mvm", (8192, 8192, 8192), bits=16)
    bf16 = price("h100-sxm", "mvm", (8192, 8192, 8192), fmt="bf16")
    fp32 = price("h100-sxm", "mvm", (8192, 8192, 8192))
    assert (r16["format"], r16["bits"]) == ("bf16", 16)
    assert r16["time_s"] == bf16["time_s"]
    assert fp32["time_s"] > 10 * r16["time_s"]  # fp32 runs on CUDA cores, not tensor cores
    assert r16["derived"]["utilization_of_peak"] <= 1.0


def test_a_format_implies_its_width():
    gemv = price("h100-sxm", "mvm", (1, 8192, 8192), fmt="bf16")
    assert gemv["bits"] == 16
    assert gemv["counters"]["hbm_bytes"] == pytest.approx((8192 + 8192 * 8192 + 8192) * 2)
    tf32 = price("h100-sxm", "mvm", (1, 8192, 8192), fmt="tf32")
    assert tf32["bits"] == 32
    assert tf32["counters"]["hbm_bytes"] == pytest.approx((8192 + 8192 * 8192 + 8192) * 4)


def test_contradictions_and_missing_widths_are_clear_errors():
    with pytest.raises(XpusimError, match="--bits 32 contradicts --format bf16"):
        price("h100-sxm", "mvm", (8, 8, 8), bits=32, fmt="bf16")
    with pytest.raises(XpusimError, match=r"no 4-bit format .* computes in fp32 \(32 bits\)"):
        price("h100-sxm", "mvm", (8, 8, 8), bits=4)
    with pytest.raises(XpusimError, match="does not compute in 'int4'"):
        price("h100-sxm", "mvm", (8, 8, 8), fmt="int4")
    with pytest.raises(UnknownNameError, match="number format"):
        price("h100-sxm", "mvm", (8, 8, 8), fmt="fp7")


def test_tf32_elementwise_work_is_fp32():
    r = price("h100-sxm", "elementwise", (1000, 2, 1), set=["compute_format=tf32"])
    assert (r["format"], r["bits"]) == ("fp32", 32)


def test_price_reports_derived_rates_on_gpus():
    r = price("a100-sxm-80gb", "mvm", (4096, 4096, 4096), fmt="bf16")
    d = r["derived"]
    assert d["achieved_tflops"] == pytest.approx(2 * 4096 ** 3 / r["time_s"] / 1e12)
    assert 0 < d["hbm_bandwidth_utilization"] <= 1
    assert d["peak_ops_per_s"] == pytest.approx(312e12)


@pytest.mark.parametrize("spec", ["h100-sxm", "a100-sxm-80gb", "v100-sxm2", "tpu-v1", "tpu-v4",
                                  "edge-int8", "pcm-hermes", "reram-generic",
                                  "aihwkit-defaults", "loihi", "loihi2"])
def test_every_builtin_spec_declares_capabilities(pm, spec):
    s = pm.load_spec(spec)
    caps = pm.capabilities(s)
    assert isinstance(caps, Capabilities)
    assert caps.formats, "a peak rate for at least one format"
    assert caps.memory_bytes is not None or caps.weight_capacity is not None
    bits, fmt = pm.backend(s.backend).device(s, pm.compute_kernels(s), __import__(
        "numpy").random.default_rng(0), primitives=pm.backend(s.backend).primitives
    ).operand_format("mvm", "inference")
    assert fmt == caps.formats[0], "the device's default compute format is listed first"


def test_published_peaks_are_what_the_capabilities_declare(pm):
    # HERMES: 64 cores x 256 x 256 PCM at 63.1 TOPS (Le Gallo et al. 2023)
    hermes = pm.capabilities(pm.load_spec("pcm-hermes"))
    assert hermes.peak("analog") == pytest.approx(63.1e12, rel=0.01)
    assert hermes.weight_capacity == 64 * 256 * 256
    assert pm.capabilities(pm.load_spec("tpu-v4")).peak("bf16") == pytest.approx(275e12,
                                                                                rel=0.01)
    assert pm.capabilities(pm.load_spec("tpu-v1")).memory_bytes == 8 * 2 ** 30


def test_capabilities_refuse_impossible_values():
    with pytest.raises(ValueError, match="memory_bytes"):
        Capabilities(memory_bytes=-1.0)
    with pytest.raises(ValueError, match="peak_ops_per_s"):
        Capabilities(peak_ops_per_s={"fp32": float("inf")})
