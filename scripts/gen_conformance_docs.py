#!/usr/bin/env python
"""Generate docs/conformance.md (the checks of xpusim.testing) from the check functions.

    python scripts/gen_conformance_docs.py           # write the page
    python scripts/gen_conformance_docs.py --check   # exit 1 if the page is out of date
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "conformance.md"

INTRO = """\
`xpusim.testing` is the suite a plugin author runs on a backend or training method, in the
spirit of scikit-learn's `check_estimator` and pytest's `pytester`. It is opt-in: add
`pytest_plugins = ["xpusim.testing"]` to your `conftest.py`. This page is generated from the
check functions by `scripts/gen_conformance_docs.py`; the
[plugin tutorial](tutorials/write-a-hardware-plugin.md) shows it in use.

| entry point | what it does |
|---|---|
| `@parametrize_with_checks(["name"], plugins=[...])` | one pytest test per check, ids `name-check_x`; `expected_failed_checks={"check_x": "why"}` makes strict xfails |
| `check_backend("name")` / `check_method("name")` | run every check, raise `ConformanceError` at the first failure |
| `run_checks(plugins, "name")` | one `CheckResult(target, name, status, message)` per check, never raises (what `xpusim plugins --check` shows) |
| fixtures `xpusim_pm`, `tiny_trace`, `tiny_run`, `hook_recorder` | an isolated plugin manager (plugins from the `xpusim_plugins` fixture or ini option), a six-row trace, a small digits run, a recorder of hook calls |

A check that does not apply (a backend that declares every primitive has none to refuse)
is reported as skipped, with the reason.
"""


def _section(title: str, checks) -> list[str]:
    lines = [f"## {title}", "", "| check | what must hold |", "|---|---|"]
    for check in checks:
        doc = inspect.cleandoc(check.__doc__ or "").replace("\n\n", " ").replace("\n", " ")
        doc = re.sub(r"``([^`]+)``", r"`\1`", doc).replace("|", "\\|")
        lines.append(f"| `{check.__name__}` | {doc} |")
    return lines + [""]


def render() -> str:
    sys.path.insert(0, str(ROOT))
    from xpusim.testing import checks

    parts = ["# Conformance suite", "", INTRO]
    parts += _section("Backend checks", checks.BACKEND_CHECKS)
    parts += [f"Tiny runs: `{checks.TINY_RUN['model']}` on `{checks.TINY_RUN['dataset']}`, "
              f"{checks.TINY_RUN['epochs']} epochs, batch {checks.TINY_RUN['batch_size']}; "
              f"twins compared on seeds {', '.join(map(str, checks.TWIN_SEEDS))}; costs "
              f"compared to a relative tolerance of {checks.COST_RTOL:g}.", ""]
    parts += _section("Method checks", checks.METHOD_CHECKS)
    return "\n".join(parts).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not PAGE.exists() or PAGE.read_text() != text:
            print(f"{PAGE.relative_to(ROOT)} is out of date: run python "
                  f"scripts/gen_conformance_docs.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
