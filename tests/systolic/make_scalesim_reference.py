"""Regenerate ``scalesim_reference.csv`` (SCALE-Sim 3.0 compute cycles for a grid of GEMMs) and
``scalesim_conv_reference.csv`` (the same for convolution layers, in SCALE-Sim's conv mode).

Runs in SCALE-Sim's own virtual environment (it pins numpy 2.1.2 and pandas 2.2.3):

    python3 -m venv .venv-scalesim
    .venv-scalesim/bin/pip install scalesim==3.0.0 numpy==2.1.2 pandas==2.2.3
    .venv-scalesim/bin/python tests/systolic/make_scalesim_reference.py [gemm|conv]

(no argument: both tables).

For every (array rows x cols, dataflow) it writes one GEMM-mode topology (``Layer, M, N, K,``:
an M x K input times a K x N weight matrix), runs SCALE-Sim through its Python API with
``save_disk_space=True`` and ``InterfaceBandwidth = CALC`` (DRAM bandwidth computed, so no
stalls), and reads back, per layer:

* ``Total Cycles`` and ``Stall Cycles`` of ``COMPUTE_REPORT.csv`` (the numbers
  ``xpusim.plugins.hardware.systolic.cost.compute_cycles`` must reproduce exactly),
* the SRAM read/write request counts of ``DETAILED_ACCESS_REPORT.csv`` (operand elements
  the array asks of each buffer; a cross-check of the cost model's SRAM counters).

Conv mode takes a topology CSV ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter
Width, Channels, Num Filter, Strides,`` and lowers each layer to a GEMM of M = output pixels,
K = filter height x width x channels, N = filters (batch 1). It has no padding: a layer padded
by p is given the padded input (H + 2p). Its output side is ceil((H - R + stride) / stride),
which is one more than a standard convolution's floor((H - R) / stride) + 1 when (H - R) is not
a multiple of the stride; the table records SCALE-Sim's own output size beside its cycles, and
every layer where the two differ is also run on the input cropped to the rows and columns a
standard convolution reads ((H_out - 1) x stride + R), where they agree.

The grid: square, tall, wide, deep and odd GEMMs (1, primes, one past a fold boundary) on
arrays from 8 x 8 to 256 x 256 and non-square ones, each in ws, os and is. SCALE-Sim's run
time grows with its per-cycle demand matrices, so shapes stay moderate on the large arrays.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sys
import tempfile
from pathlib import Path

from scalesim.scale_sim import scalesim

OUT = Path(__file__).with_name("scalesim_reference.csv")
CONV_OUT = Path(__file__).with_name("scalesim_conv_reference.csv")

CONFIG = """[general]
run_name = ref

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:  1024
FilterSramSzkB: 1024
OfmapSramSzkB:  1024
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Dataflow : {dataflow}
Bandwidth : 10
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

# (rows, cols) -> GEMM shapes (M, N, K). Every array gets an exact fit, one past a fold
# boundary, a single element and a few of square / tall / wide / deep / prime shapes.
ARRAYS: dict[tuple[int, int], list[tuple[int, int, int]]] = {
    (8, 8): [(1, 1, 1), (8, 8, 8), (9, 9, 9), (64, 64, 64), (200, 8, 24),
             (5, 120, 16), (4, 4, 300), (37, 53, 97)],
    (16, 16): [(16, 16, 16), (17, 33, 15), (100, 100, 100), (512, 16, 16), (3, 250, 20),
               (8, 8, 640)],
    (32, 32): [(1, 1, 1), (32, 32, 32), (33, 31, 65), (128, 128, 128), (400, 32, 64),
               (7, 300, 40), (16, 24, 1000)],
    (64, 64): [(64, 64, 64), (65, 65, 65), (256, 64, 128), (13, 257, 61), (31, 17, 509)],
    (128, 128): [(1, 1, 1), (128, 128, 128), (129, 129, 129), (300, 200, 100),
                 (16, 64, 1024)],
    (256, 256): [(1, 1, 1), (256, 256, 256), (257, 100, 300), (8, 512, 64), (64, 32, 700)],
    (8, 32): [(1, 1, 1), (32, 32, 32), (33, 65, 17), (300, 40, 50), (11, 13, 200)],
    (32, 8): [(32, 32, 32), (33, 65, 17), (300, 40, 50), (2, 3, 5)],
    (16, 128): [(128, 128, 128), (17, 300, 33), (400, 100, 60), (1, 129, 7)],
    (128, 16): [(60, 60, 60), (200, 50, 300)],
}
DATAFLOWS = ("ws", "os", "is")


def run(rows: int, cols: int, dataflow: str, shapes: list[tuple[int, int, int]],
        work: Path) -> list[dict]:
    tag = f"{rows}x{cols}_{dataflow}"
    cfg, topo, layout = work / f"{tag}.cfg", work / f"{tag}_topo.csv", work / f"{tag}_lay.csv"
    cfg.write_text(CONFIG.format(rows=rows, cols=cols, dataflow=dataflow))
    topo.write_text("Layer, M, N, K,\n" + "".join(
        f"g{i}, {m}, {n}, {k},\n" for i, (m, n, k) in enumerate(shapes)))
    layout.write_text("Layer,\n")
    out = work / tag
    out.mkdir()
    with contextlib.redirect_stdout(io.StringIO()):
        sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg),
                       topology=str(topo), layout=str(layout), input_type_gemm=True)
        sim.run_scale(top_path=str(out))
    reports = next(p for p in out.rglob("COMPUTE_REPORT.csv")).parent
    compute = _read(reports / "COMPUTE_REPORT.csv")
    detail = _read(reports / "DETAILED_ACCESS_REPORT.csv")
    rows_out = []
    for (m, n, k), c, d in zip(shapes, compute, detail, strict=True):
        rows_out.append({
            "M": m, "N": n, "K": k, "rows": rows, "cols": cols, "dataflow": dataflow,
            "total_cycles": int(c["Total Cycles"]), "stall_cycles": int(c["Stall Cycles"]),
            "ifmap_sram_reads": int(float(d["SRAM IFMAP Reads"])),
            "filter_sram_reads": int(float(d["SRAM Filter Reads"])),
            "ofmap_sram_writes": int(float(d["SRAM OFMAP Writes"])),
        })
    return rows_out


def _read(path: Path) -> list[dict]:
    with path.open() as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        return [dict(zip(header, (v.strip() for v in row))) for row in reader if row]

# Conv layers as xpusim runs them: (name, C, H, W, kernel, filters, stride, padding), the input
# before padding. lenet5 on MNIST (28 x 28) and on 8 x 8 digits, resnet20 on CIFAR-10
# (32 x 32 x 3; every distinct conv shape), and odd ones: a stride-2 layer whose (H - R) is a
# multiple of the stride, 1x1, 5x5, non-square inputs, stride 3.
CONV_LAYERS: list[tuple[str, int, int, int, int, int, int, int]] = [
    ("lenet5-mnist-c1", 1, 28, 28, 5, 6, 1, 2),
    ("lenet5-mnist-c2", 6, 14, 14, 5, 16, 1, 2),
    ("lenet5-digits-c1", 1, 8, 8, 5, 6, 1, 2),
    ("lenet5-digits-c2", 6, 4, 4, 5, 16, 1, 2),
    ("resnet20-stem", 3, 32, 32, 3, 16, 1, 1),
    ("resnet20-s1", 16, 32, 32, 3, 16, 1, 1),
    ("resnet20-s2-down", 16, 32, 32, 3, 32, 2, 1),
    ("resnet20-s2-proj", 16, 32, 32, 1, 32, 2, 0),
    ("resnet20-s2", 32, 16, 16, 3, 32, 1, 1),
    ("resnet20-s3-down", 32, 16, 16, 3, 64, 2, 1),
    ("resnet20-s3-proj", 32, 16, 16, 1, 64, 2, 0),
    ("resnet20-s3", 64, 8, 8, 3, 64, 1, 1),
    ("stride2-even", 8, 9, 9, 3, 12, 2, 0),
    ("1x1", 40, 7, 7, 1, 24, 1, 0),
    ("5x5-nopad", 3, 13, 13, 5, 10, 1, 0),
    ("nonsquare", 5, 10, 14, 3, 7, 1, 1),
    ("nonsquare-s2", 4, 11, 16, 3, 9, 2, 0),
    ("stride3", 2, 14, 14, 3, 5, 3, 0),
]
CONV_ARRAYS = ((8, 8), (32, 32), (16, 64), (128, 128))


def standard_out(size: int, kernel: int, stride: int, padding: int) -> int:
    """A standard (PyTorch, xpusim) convolution's output side."""
    return (size + 2 * padding - kernel) // stride + 1


def conv_cases() -> list[dict]:
    """Every layer on its padded input; those whose output sizes differ also cropped."""
    cases = []
    for name, c, h, w, k, f, s, p in CONV_LAYERS:
        hp, wp = h + 2 * p, w + 2 * p
        base = {"layer": name, "C": c, "H": h, "W": w, "kernel": k, "filters": f, "stride": s,
                "padding": p}
        cases.append({**base, "input": "padded", "ifmap_h": hp, "ifmap_w": wp})
        ho, wo = standard_out(h, k, s, p), standard_out(w, k, s, p)
        hc, wc = (ho - 1) * s + k, (wo - 1) * s + k
        if (hc, wc) != (hp, wp):
            cases.append({**base, "input": "cropped", "ifmap_h": hc, "ifmap_w": wc})
    return cases


def run_conv(rows: int, cols: int, dataflow: str, cases: list[dict], work: Path) -> list[dict]:
    tag = f"conv_{rows}x{cols}_{dataflow}"
    cfg, topo, layout = work / f"{tag}.cfg", work / f"{tag}_topo.csv", work / f"{tag}_lay.csv"
    cfg.write_text(CONFIG.format(rows=rows, cols=cols, dataflow=dataflow))
    topo.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
        "Num Filter, Strides,\n" + "".join(
            f"l{i}, {c['ifmap_h']}, {c['ifmap_w']}, {c['kernel']}, {c['kernel']}, {c['C']}, "
            f"{c['filters']}, {c['stride']},\n" for i, c in enumerate(cases)))
    layout.write_text("Layer,\n")
    out = work / tag
    out.mkdir()
    with contextlib.redirect_stdout(io.StringIO()):
        sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg),
                       topology=str(topo), layout=str(layout), input_type_gemm=False)
        sim.run_scale(top_path=str(out))
    reports = next(p for p in out.rglob("COMPUTE_REPORT.csv")).parent
    compute = _read(reports / "COMPUTE_REPORT.csv")
    detail = _read(reports / "DETAILED_ACCESS_REPORT.csv")
    rows_out = []
    for i, (case, c, d) in enumerate(zip(cases, compute, detail, strict=True)):
        oh, ow = sim.topo.get_layer_ofmap_dims(layer_id=i)
        rows_out.append({
            **case, "rows": rows, "cols": cols, "dataflow": dataflow,
            "ofmap_h": int(oh), "ofmap_w": int(ow),
            "total_cycles": int(c["Total Cycles"]), "stall_cycles": int(c["Stall Cycles"]),
            "ifmap_sram_reads": int(float(d["SRAM IFMAP Reads"])),
            "filter_sram_reads": int(float(d["SRAM Filter Reads"])),
            "ofmap_sram_writes": int(float(d["SRAM OFMAP Writes"])),
        })
    return rows_out


def main_conv() -> None:
    results = []
    cases = conv_cases()
    with tempfile.TemporaryDirectory() as tmp:
        for rows, cols in CONV_ARRAYS:
            for df in DATAFLOWS:
                results += run_conv(rows, cols, df, cases, Path(tmp))
                print(f"conv {rows}x{cols} {df}: {len(cases)} layers", file=sys.stderr)
    with CONV_OUT.open("w", newline="") as f:
        f.write("# SCALE-Sim 3.0.0 (conv mode, InterfaceBandwidth = CALC), made by "
                f"{os.path.basename(__file__)}; do not edit by hand\n")
        w = csv.DictWriter(f, fieldnames=list(results[0]))
        w.writeheader()
        w.writerows(results)
    print(f"{len(results)} conv cases -> {CONV_OUT}", file=sys.stderr)


def main_gemm() -> None:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for (rows, cols), shapes in ARRAYS.items():
            for df in DATAFLOWS:
                results += run(rows, cols, df, shapes, Path(tmp))
                print(f"{rows}x{cols} {df}: {len(shapes)} GEMMs", file=sys.stderr)
    with OUT.open("w", newline="") as f:
        f.write("# SCALE-Sim 3.0.0 (GEMM mode, InterfaceBandwidth = CALC), made by "
                f"{os.path.basename(__file__)}; do not edit by hand\n")
        w = csv.DictWriter(f, fieldnames=list(results[0]))
        w.writeheader()
        w.writerows(results)
    print(f"{len(results)} cases -> {OUT}", file=sys.stderr)


def main() -> None:
    which = sys.argv[1:] or ["gemm", "conv"]
    for part in which:
        {"gemm": main_gemm, "conv": main_conv}[part]()


if __name__ == "__main__":
    main()
