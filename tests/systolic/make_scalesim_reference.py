"""Regenerate ``scalesim_reference.csv``: SCALE-Sim 3.0 compute cycles for a grid of GEMMs.

Runs in SCALE-Sim's own virtual environment (it pins numpy 2.1.2 and pandas 2.2.3):

    python3 -m venv .venv-scalesim
    .venv-scalesim/bin/pip install scalesim==3.0.0 numpy==2.1.2 pandas==2.2.3
    .venv-scalesim/bin/python tests/systolic/make_scalesim_reference.py

For every (array rows x cols, dataflow) it writes one GEMM-mode topology (``Layer, M, N, K,``:
an M x K input times a K x N weight matrix), runs SCALE-Sim through its Python API with
``save_disk_space=True`` and ``InterfaceBandwidth = CALC`` (DRAM bandwidth computed, so no
stalls), and reads back, per layer:

* ``Total Cycles`` and ``Stall Cycles`` of ``COMPUTE_REPORT.csv`` (the numbers
  ``xpusim.plugins.hardware.systolic.cost.compute_cycles`` must reproduce exactly),
* the SRAM read/write request counts of ``DETAILED_ACCESS_REPORT.csv`` (operand elements
  the array asks of each buffer; a cross-check of the cost model's SRAM counters).

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


def main() -> None:
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


if __name__ == "__main__":
    main()
