#!/usr/bin/env bash
# Build the documentation site with warnings as errors (mkdocs-material, --strict), into a
# temporary folder (or OUT=DIR). Fails clearly when:
#   - a generated reference page is out of date (docs/plugin_hooks.md, docs/spec_reference.md),
#   - the nav in mkdocs.yml lists pages that do not exist (their names are printed),
#   - mkdocs reports any warning (broken link or anchor, ...).
#
#   scripts/build_docs.sh                  # CI
#   scripts/build_docs.sh --existing-only  # leave out nav pages that do not exist yet (says which)
#   OUT=site scripts/build_docs.sh         # keep the built site in ./site
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python}"
EXISTING_ONLY=0
for arg in "$@"; do
    case "$arg" in
        --existing-only) EXISTING_ONLY=1 ;;
        *) echo "usage: $0 [--existing-only]" >&2; exit 2 ;;
    esac
done
WORK="$(mktemp -d "${TMPDIR:-/tmp}/xpusim-docs.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
OUT="${OUT:-$WORK/site}"

export NO_MKDOCS_2_WARNING=1
fail() { printf 'build_docs: FAILED: %s\n' "$*" >&2; exit 1; }

"$PYTHON" -c "import mkdocs, material" 2>/dev/null \
    || fail "mkdocs-material is not installed (pip install mkdocs-material)"

"$PYTHON" "$ROOT/scripts/gen_hook_docs.py" --check \
    || fail "docs/plugin_hooks.md is stale: run python scripts/gen_hook_docs.py"
"$PYTHON" "$ROOT/scripts/gen_spec_docs.py" --check \
    || fail "docs/spec_reference.md is stale: run python scripts/gen_spec_docs.py"
"$PYTHON" "$ROOT/scripts/gen_conformance_docs.py" --check \
    || fail "docs/conformance.md is stale: run python scripts/gen_conformance_docs.py"

# Check the nav; with --existing-only write a config without the missing pages.
CONFIG="$ROOT/mkdocs.yml"
"$PYTHON" - "$ROOT" "$WORK/mkdocs.yml" "$EXISTING_ONLY" <<'PY' || fail "the nav lists pages that do not exist (see above)"
import sys
from pathlib import Path

import yaml

root, out, existing_only = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
config = yaml.safe_load((root / "mkdocs.yml").read_text())
docs = root / config.get("docs_dir", "docs")
missing = []


def keep(items):
    kept = []
    for item in items:
        (title, value), = item.items() if isinstance(item, dict) else ((None, item),)
        if isinstance(value, list):
            sub = keep(value)
            if sub:
                kept.append({title: sub})
        elif (docs / value).exists() or "://" in value:
            kept.append(item)
        else:
            missing.append(value)
    return kept


config["nav"] = keep(config["nav"])
config["docs_dir"] = str(docs)
if missing:
    print(("leaving out" if existing_only else "the nav lists pages that do not exist:")
          + "".join(f"\n  docs/{m}" for m in missing), file=sys.stderr)
    if not existing_only:
        sys.exit(1)
out.write_text(yaml.safe_dump(config, sort_keys=False))
PY
if [[ "$EXISTING_ONLY" == "1" ]]; then CONFIG="$WORK/mkdocs.yml"; fi

(cd "$ROOT" && "$PYTHON" -m mkdocs build --strict --config-file "$CONFIG" --site-dir "$OUT") \
    || fail "mkdocs build --strict (warnings are errors; see above)"
echo "build_docs: OK: site built in $OUT"
