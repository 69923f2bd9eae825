#!/usr/bin/env python
"""Generate docs/spec_reference.md (every spec key of every backend) from the params classes.

    python scripts/gen_spec_docs.py                      # built-in backends
    python scripts/gen_spec_docs.py --plugin MODULE ...  # also plugins' backends
    python scripts/gen_spec_docs.py --check              # exit 1 if the page is out of date

Keys, types, units, defaults and docs come from the attrs metadata that ``quantity`` and
``option`` store (``xpusim.testing.template.param_rows``), the same source as
``xpusim specs new BACKEND``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "spec_reference.md"

INTRO = """\
Every key a hardware spec file can hold, per backend, generated from the backends' parameter
classes by `scripts/gen_spec_docs.py` (do not edit by hand). The file format itself (`name`,
`backend`, `[source]`, `--set` overrides, error messages) is described in
[Spec format](spec-format.md).

Units are part of the key names and repeated in the *unit* column. Keys without a default are
required. `xpusim specs new BACKEND` prints the same information as a commented TOML template
to start a new chip from; `xpusim specs validate FILE` checks it.
"""


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render(plugins: tuple[str, ...] = ()) -> str:
    sys.path.insert(0, str(ROOT))
    from xpusim.core.plugins import get_plugin_manager
    from xpusim.core.specs import read_toml
    from xpusim.testing.template import param_rows, toml_value

    pm = get_plugin_manager(plugins, autoload=False)
    files = pm.spec_files()
    by_backend: dict[str, list[tuple[str, str]]] = {}
    for name, path in sorted(files.items()):
        raw = read_toml(path)
        by_backend.setdefault(raw.get("backend", "?"), []).append((name, raw.get("description", "")))
    parts = ["# Spec key reference", "", INTRO]
    parts += ["| backend | what it simulates | shipped specs |", "|---|---|---|"]
    for name, info in sorted(pm.backends.items()):
        shipped = ", ".join(f"`{s}`" for s, _ in by_backend.get(name, [])) or "none"
        parts.append(f"| [{name}](#{name}) | {_cell(info.doc)} | {shipped} |")
    parts.append("")
    for name, info in sorted(pm.backends.items()):
        parts += [f"## {name}", ""]
        if info.doc:
            parts += [info.doc[0].upper() + info.doc[1:] + ("" if info.doc.endswith(".") else "."), ""]
        parts += [f"Parameter class `{info.params.__module__}.{info.params.__qualname__}`; "
                  f"native primitives: {', '.join(f'`{p}`' for p in sorted(info.primitives))}.",
                  ""]
        specs = by_backend.get(name, [])
        if specs:
            parts += ["Shipped specs:", ""]
            parts += [f"- `{s}`" + (f": {d}" if d else "") for s, d in specs]
            parts.append("")
        parts += ["| key | type | unit | default | meaning |", "|---|---|---|---|---|"]
        for row in param_rows(info.params):
            default = "*required*" if row.required else f"`{toml_value(row.default)}`"
            parts.append(f"| `{row.path}` | {_cell(row.type)} | {_cell(row.unit) or '—'} | "
                         f"{_cell(default)} | {_cell(row.doc)} |")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is out of date")
    parser.add_argument("--plugin", action="append", default=[], help="also load this plugin")
    parser.add_argument("--out", type=Path, default=PAGE, help="where to write the page")
    args = parser.parse_args(argv)
    text = render(tuple(args.plugin))
    if args.check:
        if not args.out.exists() or args.out.read_text() != text:
            print(f"{args.out} is out of date: run python scripts/gen_spec_docs.py",
                  file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
