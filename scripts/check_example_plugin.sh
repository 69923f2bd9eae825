#!/usr/bin/env bash
# Clean-room check of the third-party plugin story, for CI:
# a fresh virtual environment; install xpusim and examples/xpusim-photonic as a user would;
# `xpusim plugins` lists the plugin (entry point); the plugin's own tests and the conformance
# suite pass; a run, a price and (when xpusim.study exists) a small study use it; then the
# tutorials in docs/tutorials run as written in the same environment.
# Exits non-zero at the first failure, saying which step failed.
#
#   scripts/check_example_plugin.sh            # uses python3 from PATH (>= 3.11)
#   PYTHON=python3.12 KEEP=1 scripts/check_example_plugin.sh   # keep the temp dir
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXAMPLE="$ROOT/examples/xpusim-photonic"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/xpusim-plugin-check.XXXXXX")"
if [[ "${KEEP:-0}" != "1" ]]; then trap 'rm -rf "$WORK"' EXIT; fi

step() { printf '\n== %s\n' "$*"; }
fail() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

step "clean virtual environment in $WORK"
"$PYTHON" -m venv "$WORK/venv" || fail "cannot create a venv with $PYTHON"
# shellcheck disable=SC1091
source "$WORK/venv/bin/activate"
python -m pip install -q --upgrade pip >/dev/null || fail "pip upgrade"

step "install xpusim from $ROOT and the example plugin"
# Build from a copy of the working tree, so no build/ folder is left in (or reused from) it.
mkdir "$WORK/xpusim-src"
(cd "$ROOT" && tar --exclude=./.git --exclude=./.venv --exclude='./.venv-*' --exclude=./build \
     --exclude='*/build' --exclude='__pycache__' --exclude='*.egg-info' --exclude=./site -cf - .) \
    | tar -xf - -C "$WORK/xpusim-src" || fail "copy of $ROOT"
python -m pip install -q "$WORK/xpusim-src[test]" || fail "pip install xpusim"
cp -r "$EXAMPLE" "$WORK/xpusim-photonic-src"  # build outside the source tree
rm -rf "$WORK/xpusim-photonic-src/build" "$WORK/xpusim-photonic-src/src/"*.egg-info
python -m pip install -q "$WORK/xpusim-photonic-src" || fail "pip install xpusim-photonic"
cd "$WORK"  # never import from the source tree
python - <<'PY' || fail "xpusim or the plugin is imported from the source tree, not the venv"
import sys, xpusim, xpusim_photonic
for m in (xpusim, xpusim_photonic):
    assert "site-packages" in m.__file__, m.__file__
print("xpusim", xpusim.__version__, "from", xpusim.__file__)
PY

step "entry point discovered"
python - <<'PY' || fail "the plugin is not discovered through its entry point"
from xpusim.core.plugins import get_plugin_manager
pm = get_plugin_manager()
rec = {r.name: r for r in pm.records}["photonic"]
assert rec.origin.startswith("entry point xpusim-photonic 0.1.0"), rec
assert not rec.error, rec.error
assert "photonic" in pm.backends and "photonic-mzi-64" in pm.spec_files()
print("photonic:", rec.origin, "hooks:", ", ".join(rec.hooks))
PY

step "xpusim plugins"
if xpusim --help >/dev/null 2>&1; then
    xpusim plugins | tee plugins.txt || fail "xpusim plugins"
    grep -q "photonic" plugins.txt || fail "xpusim plugins does not list photonic"
    xpusim plugins --check | tee plugins-check.txt || fail "xpusim plugins --check"
    grep -E "^│ photonic .*│ pass" plugins-check.txt >/dev/null \
        || fail "xpusim plugins --check does not show photonic passing"
else
    echo "(no xpusim command yet: checked through the Python API above)"
fi

step "the example's own tests (with the conformance suite)"
python -m pytest -q -p no:cacheprovider --rootdir "$EXAMPLE" "$EXAMPLE/tests" \
    || fail "the example plugin's tests"

step "conformance suite on the installed plugin (entry point, no explicit module)"
python - <<'PY' || fail "conformance suite on photonic"
from xpusim.testing import check_backend
results = check_backend("photonic")
for r in results:
    print(f"  {r.status:8} {r.name} {r.message}")
PY

step "a run and a price on the plugin's spec"
if xpusim --help >/dev/null 2>&1; then
    xpusim run --hardware photonic-mzi-64 --epochs 2 --model mlp:64-32-10 --out run.json \
        || fail "xpusim run on photonic-mzi-64"
    xpusim price --hardware photonic-mzi-64 --primitive mvm --shape 1,256,256 \
        || fail "xpusim price on photonic-mzi-64"
else
    python -c "import xpusim, json; r = xpusim.run(hardware='photonic-mzi-64', epochs=2, model='mlp:64-32-10'); open('run.json', 'w').write(r.dumps())" \
        || fail "xpusim.run on photonic-mzi-64"
fi
python - <<'PY' || fail "the run's result"
import json
r = json.load(open("run.json"))
assert r["status"] == "ok", r.get("failure")
assert r["config"]["backend"] == "photonic"
assert r["final_test_accuracy"] > 0.5, r["final_test_accuracy"]
assert r["training"]["energy_j"] > 0
print("accuracy", r["final_test_accuracy"], "training energy", r["training"]["energy_j"], "J")
PY

step "a small study (photonic vs GPU)"
if python -c "import xpusim.study.cli" 2>/dev/null; then
    cat > study.toml <<'TOML'
name = "photonic-vs-gpu"
description = "example plugin in a study (scripts/check_example_plugin.sh)"

[fixed]
method = "backprop"
model = "mlp:64-16-10"
epochs = 1

[axes]
hardware = ["photonic-mzi-64", "h100-sxm"]
seed = [0, 1]
TOML
    xpusim study run study.toml --db study.db --executor serial -q || fail "xpusim study run"
    xpusim study export study.db --csv study.csv || fail "xpusim study export"
    python - <<'PY' || fail "the study's results"
import pandas as pd
df = pd.read_csv("study.csv")
hw = next(c for c in df.columns if c.endswith("hardware"))
assert len(df) == 4, len(df)
assert set(df[hw]) == {"photonic-mzi-64", "h100-sxm"}, set(df[hw])
print(df[[hw, *[c for c in df.columns if c.endswith("final_test_accuracy")]]].to_string())
PY
else
    echo "(xpusim.study is not installed in this version: study step skipped)"
fi

step "the tutorials, as written (tests/meta/test_tutorials.py in this environment)"
mkdir "$WORK/tree" && cp -r "$ROOT/tests" "$ROOT/docs" "$WORK/tree/"  # no source tree beside them
XPUSIM_TUTORIAL_VENV=1 python -m pytest -q -p no:cacheprovider --rootdir "$WORK/tree" \
    -c /dev/null --import-mode=importlib "$WORK/tree/tests/meta/test_tutorials.py" \
    || fail "a tutorial does not run as written"

printf '\nOK: the example plugin installs, is discovered, passes the conformance suite, runs and prices; the tutorials run as written.\n'
