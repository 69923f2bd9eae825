"""Draw docs/img/conv-mapping.png: one convolution as an analog crossbar and a systolic array
run it, annotated with the counters xpusim prices for it.

The layer is lenet5's second convolution on 8x8 digits (16 filters of 5x5 over 6 channels,
padding 2, on the 4x4 maps the first pooling leaves): im2col gives one patch row of
6·5·5 = 150 values per output position, 16 positions per image; the device holds one
150 x 16 matrix. The counters come from pricing one image's forward product on pcm-hermes and
tpu-v1. Run: ``python scripts/figure_conv_mapping.py``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402

from xpusim.core.ledger import price  # noqa: E402
from xpusim.core.plugins import get_plugin_manager  # noqa: E402
from xpusim.core.trace import Trace  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "img" / "conv-mapping.png"
C, K, F, POS = 6, 5, 16, 16  # channels, kernel, filters, output positions per image


def counters(pm, spec_name: str) -> dict[str, float]:
    spec = pm.load_spec(spec_name)
    info = pm.backend(spec.backend)
    import numpy as np

    device = info.device(spec, pm.compute_kernels(spec), np.random.default_rng(0),
                         primitives=info.primitives)
    bits, fmt = device.operand_format("mvm", "inference")
    trace = Trace()
    trace.add("inference", 0, "mvm", POS, F, C * K * K, bits, fmt)
    return price(trace, pm.cost_model(spec), spec.name).extra_totals()


def main() -> None:
    pm = get_plugin_manager()
    analog, systolic = counters(pm, "pcm-hermes"), counters(pm, "tpu-v1")
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.6))
    for ax in axes:
        ax.set_axis_off()
        ax.set_aspect("equal")

    ax = axes[0]
    ax.set_title("im2col: one row per output position", fontsize=10)
    for c in range(3):
        ax.add_patch(Rectangle((c * 0.6, c * 0.6), 8, 8, fill=True, fc="white", ec="grey"))
    ax.add_patch(Rectangle((1.2, 1.2), 5, 5, fill=True, fc="#f4c542", alpha=0.5, ec="k"))
    ax.text(0, 10.4, f"{C} channels x 4x4 (padded to 8x8)", fontsize=9)
    ax.text(1.4, 6.5, "5x5 window", fontsize=8)
    ax.add_patch(Rectangle((0, -3.2), 10, 0.8, fc="#f4c542", alpha=0.5, ec="k"))
    ax.text(0, -4.3, f"patch row: {C} x 5 x 5 = {C * K * K} values; {POS} rows per image",
            fontsize=9)
    ax.add_patch(FancyArrowPatch((4, 1), (4, -2.3), arrowstyle="->", mutation_scale=12))
    ax.set_xlim(-0.5, 12)
    ax.set_ylim(-5, 11)

    ax = axes[1]
    ax.set_title("analog (pcm-hermes): the kernel matrix on a tile", fontsize=10)
    ax.add_patch(Rectangle((0, 0), 10, 10, fc="white", ec="k"))
    ax.add_patch(Rectangle((0, 10 - 10 * C * K * K / 256), 10 * F / 256, 10 * C * K * K / 256,
                           fc="#4a90d9", alpha=0.6, ec="k"))
    ax.text(0.8, 6.5, f"{C * K * K} rows x {F} columns\n(one 256 x 256 tile)", fontsize=8)
    ax.text(0, -1.2, "DACs drive the rows with one patch; ADCs read the columns", fontsize=8)
    ax.text(0, -2.4, f"per image: {analog['tile_reads']:.0f} tile reads, "
                     f"{analog['dac_conversions']:.0f} DAC and "
                     f"{analog['adc_conversions']:.0f} ADC conversions", fontsize=8)
    ax.set_xlim(-0.5, 11)
    ax.set_ylim(-3, 11)

    ax = axes[2]
    ax.set_title("systolic (tpu-v1): weight-stationary array", fontsize=10)
    ax.add_patch(Rectangle((0, 0), 10, 10, fc="white", ec="k"))
    ax.add_patch(Rectangle((0, 10 - 10 * C * K * K / 256), 10 * F / 256, 10 * C * K * K / 256,
                           fc="#7bc67b", alpha=0.7, ec="k"))
    ax.text(0.8, 6.5, f"{C * K * K} x {F} weights held\nin 256 x 256 PEs", fontsize=8)
    ax.add_patch(FancyArrowPatch((-1.5, 8), (-0.1, 8), arrowstyle="->", mutation_scale=12))
    ax.text(0, -1.2, f"the {POS} patch rows stream through (SCALE-Sim cycles)", fontsize=8)
    ax.text(0, -2.4, f"per image: {systolic['compute_cycles']:.0f} cycles, utilization "
                     f"{systolic['macs'] / systolic['mac_slots']:.2%} of the MAC slots",
            fontsize=8)
    ax.set_xlim(-2, 11)
    ax.set_ylim(-3, 11)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110, metadata={"Software": None})
    print(f"wrote {OUT}: analog {analog}, systolic {systolic}")


if __name__ == "__main__":
    main()
