#!/usr/bin/env bash
# Regenerate docs/example-report/ with the README's command (`make demo` runs
# `xpusim compare --out xpusim-report`), on the built-in plugins only, and copy the
# PNG plots, report.md, summary.csv and runs.csv into docs/. tests/study/test_example_report.py checks that the copy matches
# what the command produces now.
#
#   scripts/regen_example_report.sh            # uses .venv/bin/xpusim
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
XPUSIM="${XPUSIM:-$ROOT/.venv/bin/xpusim}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/xpusim-example-report.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
XPUSIM_DISABLE_PLUGIN_AUTOLOAD=1 "$XPUSIM" compare --out xpusim-report --quiet
rm -rf "$ROOT/docs/example-report"
mkdir "$ROOT/docs/example-report"
cp xpusim-report/*.png xpusim-report/*.md xpusim-report/*.csv "$ROOT/docs/example-report/"  # SVGs stay out
ls "$ROOT/docs/example-report"
