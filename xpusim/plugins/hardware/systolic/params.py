"""Systolic-array spec parameters: the array (shape, dataflow, clock), its number formats,
its buffers and DRAM, and per-operation energies at a reference node. Units are in the names.

``array_rows``, ``array_cols`` and ``dataflow`` sit at the top level so that
``--set array_rows=32 --set dataflow=os`` works; SCALE-Sim's names for the same things are
ArrayHeight, ArrayWidth and Dataflow.
"""

from __future__ import annotations

from typing import Literal

import attrs

from xpusim.core.specs import check, option, quantity

Dataflow = Literal["ws", "os", "is"]
OperandFormat = Literal["fp32", "bf16", "fp16", "fp8-e4m3", "fp8-e5m2",
                        "int16", "int8", "int4", "int2", "ternary", "binary"]
Granularity = Literal["per-tensor", "per-channel"]
Rounding = Literal["nearest", "stochastic"]

INT_BITS = {"int16": 16, "int8": 8, "int4": 4, "int2": 2, "ternary": 2, "binary": 1}
FLOAT_BITS = {"fp32": 32, "bf16": 16, "fp16": 16, "fp8-e4m3": 8, "fp8-e5m2": 8}
WEIGHT_ONLY = ("ternary", "binary")
MAX_ARRAY_EDGE = 1 << 16
"""Bound on array rows, columns and count: 256 x 256 is the largest systolic array built
(TPU v1, REFERENCES); 65536 leaves room for designs and keeps every cycle count of a shape
``xpusim price`` accepts (M x N x K < 2**62) exact in int64."""


def format_bits(fmt: str) -> int:
    """Storage bits of one operand in ``fmt``."""
    return INT_BITS.get(fmt) or FLOAT_BITS[fmt]


@attrs.frozen(kw_only=True)
class Numerics:
    """Number formats of each GEMM's operands and how values are quantized to them.

    Forward GEMM: activations x weights. Error propagation: errors x weights^T. Weight
    gradient: activations^T x errors, result rounded to ``gradients``.
    """

    weights: OperandFormat = option(doc="format of weights as the array reads them",
                                    default="int8")
    activations: OperandFormat = option(doc="format of activations fed to the array",
                                        default="int8")
    errors: OperandFormat = option(doc="format of back-propagated errors fed to the array",
                                   default="int8")
    gradients: OperandFormat = option(doc="format the weight-gradient GEMM result is rounded to "
                                      "before the update", default="int16")
    outputs: OperandFormat = option(doc="format outputs are requantized to for the next layer "
                                    "(usually the activation format)", default="int8")
    master_weights: bool = option(doc="keep an fp32 master copy of weights (updates land there; "
                                  "the array reads its quantized copy: QAT with the "
                                  "straight-through estimator)", default=True)
    symmetric: bool = option(doc="symmetric quantization (zero point 0); false: activations "
                             "use an asymmetric zero point", default=True)
    weight_granularity: Granularity = option(doc="one weight scale per tensor or per output "
                                             "channel", default="per-channel")
    rounding: Rounding = option(doc="rounding of operands to integer formats", default="nearest")
    update_rounding: Rounding = option(doc="rounding of updated weights into low-precision "
                                       "storage (without a master copy)", default="stochastic")

    def __attrs_post_init__(self) -> None:
        for name in ("activations", "errors", "gradients", "outputs"):
            fmt = getattr(self, name)
            check(fmt not in WEIGHT_ONLY, name,
                  f"{fmt!r} is a weight-only format; expected one of fp32, bf16, fp16, "
                  "fp8-e4m3, fp8-e5m2, int16, int8, int4, int2")


@attrs.frozen(kw_only=True)
class Memory:
    """On-chip buffers (SCALE-Sim's ifmap/filter/ofmap SRAMs) and off-chip DRAM."""

    input_buffer_kib: float = quantity(unit="KiB", doc="activation (ifmap) buffer", gt=0)
    weight_buffer_kib: float = quantity(unit="KiB", doc="weight (filter) buffer", gt=0)
    output_buffer_kib: float = quantity(unit="KiB", doc="accumulator (ofmap) buffer", gt=0)
    dram_bandwidth_gbs: float = quantity(unit="GB/s", doc="off-chip DRAM bandwidth", gt=0)
    dram_capacity_gib: float = quantity(unit="GiB", doc="off-chip DRAM capacity", gt=0)


@attrs.frozen(kw_only=True)
class Energy:
    """Per-operation energies at ``reference_node_nm`` (Horowitz 2014, 45 nm), scaled to the
    spec's ``process_nm`` by the rule in ``cost.py``; DRAM energy is not scaled (I/O bound)."""

    reference_node_nm: float = quantity(unit="nm", doc="node the energies below were measured at",
                                        gt=0, default=45.0)
    int8_mult_pj: float = quantity(unit="pJ/op", doc="8-bit integer multiply", gt=0)
    int32_add_pj: float = quantity(unit="pJ/op", doc="32-bit integer add (accumulator)", gt=0)
    fp16_mult_pj: float = quantity(unit="pJ/op", doc="16-bit float multiply", gt=0)
    fp16_add_pj: float = quantity(unit="pJ/op", doc="16-bit float add", gt=0)
    fp32_mult_pj: float = quantity(unit="pJ/op", doc="32-bit float multiply", gt=0)
    fp32_add_pj: float = quantity(unit="pJ/op", doc="32-bit float add (fp32 accumulator)", gt=0)
    sram_pj_per_byte: float = quantity(unit="pJ/B", doc="on-chip buffer read or write", ge=0)
    dram_pj_per_byte: float = quantity(unit="pJ/B", doc="off-chip DRAM read or write", ge=0)
    vector_op_pj: float = quantity(unit="pJ/op", doc="vector-unit op (activation, scale, "
                                   "optimizer step)", ge=0)


@attrs.frozen(kw_only=True)
class SystolicParams:
    """A TPU-like accelerator: ``num_arrays`` systolic arrays of rows x cols MACs."""

    array_rows: int = quantity(unit="PEs", doc="systolic array rows (SCALE-Sim ArrayHeight); "
                               "at most 65536", gt=0, le=MAX_ARRAY_EDGE)
    array_cols: int = quantity(unit="PEs", doc="systolic array columns (SCALE-Sim ArrayWidth); "
                               "at most 65536", gt=0, le=MAX_ARRAY_EDGE)
    dataflow: Dataflow = option(doc="ws (weight-), os (output-) or is (input-stationary)",
                                default="ws")
    num_arrays: int = quantity(unit="arrays", doc="arrays on the chip; a GEMM's output columns "
                               "are split across them", gt=0, le=MAX_ARRAY_EDGE, default=1)
    clock_mhz: float = quantity(unit="MHz", doc="array clock (at most 100 GHz)", gt=0, le=1e5)
    mac_bits: int = quantity(unit="bit", doc="native multiplier operand width; wider operands "
                             "take ceil(bits/mac_bits)^2 passes", gt=0, le=64)
    float_macs: bool = option(doc="the MACs multiply float operands (bf16/fp16/fp8)",
                              default=False)
    accumulator_bits: int = quantity(unit="bit", doc="integer accumulator width (saturating)",
                                     gt=0, le=64, default=32)
    vector_lanes: int = quantity(unit="ops/cycle", doc="vector unit width (activations, "
                                 "requantization, optimizer)", gt=0, le=1 << 20)
    numerics: Numerics = attrs.field(factory=Numerics, metadata={"doc": "operand formats"})
    memory: Memory
    energy: Energy
    static_power_w: float = quantity(unit="W", doc="power drawn whatever runs", ge=0)
    price_usd_per_hour: float = quantity(unit="USD/h", doc="price per device-hour", ge=0)
    process_nm: float = quantity(unit="nm", doc="process node", gt=0)

    def __attrs_post_init__(self) -> None:
        nx = self.numerics
        for name in ("weights", "activations", "errors"):
            fmt = getattr(nx, name)
            check(self.float_macs or fmt not in FLOAT_BITS, f"numerics.{name}",
                  f"{fmt!r} needs float MACs but this array multiplies integers "
                  "(float_macs = false); expected an integer format")
            if fmt in INT_BITS and fmt not in WEIGHT_ONLY:
                product_bits = 2 * INT_BITS[fmt]
                check(self.accumulator_bits >= product_bits, "accumulator_bits",
                      f"{self.accumulator_bits}-bit accumulator is narrower than one "
                      f"{fmt} x {fmt} product ({product_bits} bits)")

    @property
    def peak_ops(self) -> float:
        """Peak operations per second (2 per MAC) at the native operand width."""
        return 2.0 * self.array_rows * self.array_cols * self.num_arrays * self.clock_mhz * 1e6
