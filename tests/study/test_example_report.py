"""docs/example-report/ is what the README's command (`make demo`: `xpusim compare --out
xpusim-report`) produces today: the same planned runs (hashes cover every configuration and
the fully resolved spec), and (slow) one rerun per configuration gives the stored numbers:
costs bit for bit, accuracy within a few test samples (float32 products go through NumPy's
BLAS, whose kernel for the CPU at hand orders the sums, and training can carry a last-bit
difference into a few predictions). Regenerate it with scripts/regen_example_report.sh."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "docs" / "example-report"
ACCURACY_SLACK = 7 / 360  # seven of digits' 360 test samples: another CPU's BLAS, not a change
HINT = "docs/example-report is stale: regenerate it with scripts/regen_example_report.sh"


def stored_runs() -> list[dict[str, str]]:
    with open(REPORT / "runs.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def plan(pm):
    from xpusim.study.default import default_study

    return default_study(pm)


def test_the_readme_command_is_the_one_documented():
    assert "xpusim compare --out xpusim-report" in (ROOT / "Makefile").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "docs/example-report/report.md" in readme


def test_the_example_report_holds_the_runs_compare_plans_today(plan):
    runs = stored_runs()
    assert {r["hash"] for r in runs} == set(plan.hashes), HINT
    assert all(r["status"] == "ok" for r in runs)
    with open(REPORT / "summary.csv", newline="") as fh:
        summary = {r["configuration"]: r for r in csv.DictReader(fh)}
    assert set(summary) == {r["configuration"] for r in runs}, HINT
    text = (REPORT / "report.md").read_text()
    assert f"{len(runs)} runs ({len(runs)} ok, 0 failed) in {len(summary)} configurations" \
        in text, HINT
    for png in ("accuracy_vs_energy", "energy_breakdown", "lifetime_cost", "vs_hardware",
                "vs_method"):
        assert (REPORT / f"{png}.png").stat().st_size > 10_000, png
        assert f"({png}.png)" in text


@pytest.mark.slow
def test_one_rerun_per_configuration_gives_the_stored_numbers(plan, pm):
    """Seed 0 of every configuration, rerun now: costs equal to the last bit, accuracy within
    ``ACCURACY_SLACK`` (on the machine that wrote the report it is equal too)."""
    from xpusim.core.scheduler import run

    stored = {r["hash"]: r for r in stored_runs()}
    seeds = [r for r in plan.runs if r.config.seed == 0]
    assert len(seeds) == len({stored[r.hash]["configuration"] for r in seeds})
    for planned in seeds:
        want = stored[planned.hash]
        got = run(planned.config, plugins=pm).to_json()
        pairs = {"final_test_accuracy": got["final_test_accuracy"],
                 "training.energy_j": got["training"]["energy_j"],
                 "training.money_usd": got["training"]["money_usd"],
                 "inference_per_sample.energy_j": got["inference_per_sample"]["energy_j"]}
        for key, value in pairs.items():
            slack = ACCURACY_SLACK if key == "final_test_accuracy" else 0.0
            assert abs(float(want[key]) - value) <= slack, (
                f"{want['configuration']} seed 0: {key} stored {want[key]}, now {value!r}; {HINT}")
