#!/usr/bin/env python
"""Generate docs/plugin_hooks.md (the hook reference) from xpusim/core/hookspecs.py.

    python scripts/gen_hook_docs.py           # write the page
    python scripts/gen_hook_docs.py --check   # exit 1 if the committed page is out of date

Each hook gets a heading with its exact call signature, ``## xpusim_compute_kernels(spec)``,
its options (``firstresult``), its annotated signature and its docstring.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "plugin_hooks.md"
MARKER = "xpusim_spec"  # attribute pluggy's HookspecMarker("xpusim") sets on each spec

INTRO = """\
Every hook a plugin can implement, generated from `xpusim/core/hookspecs.py` by
`scripts/gen_hook_docs.py` (do not edit by hand; `tests/meta/test_docs_generated.py` checks
that this page is up to date).

Implement a hook as a module-level function with the same name, marked with
`@xpusim.hookimpl`; it may take fewer arguments than the spec. Register the module through
the `xpusim` entry-point group (`[project.entry-points.xpusim]` in `pyproject.toml`) or pass
it with `xpusim --plugin MODULE` / `get_plugin_manager(extra=[...])`.

- **Register hooks** return lists of plain records; the core flattens them and rejects a name
  registered twice, naming both plugins.
- **Kernel hooks** are `firstresult`: return `None` for a spec that is not yours. Built-in
  backends implement them with `@hookimpl(trylast=True)`. To override one kernel of an
  existing backend, wrap the hook and replace it in the set the others return:

  ```python
  @hookimpl(wrapper=True)
  def xpusim_compute_kernels(spec):
      base = yield
      if base is None or spec.backend != "gpu":
          return base
      return base.replace(gemm=my_gemm)
  ```

  The replaced kernel is credited to your plugin (`KernelSet.provider_of`), the rest to the
  plugin that supplied them.
- Hooks are called through pluggy, so hook wrappers (`wrapper=True`, `hookwrapper=True`),
  `add_hookcall_monitoring` and tracing (`XPUSIM_TRACE_PLUGINS=1` prints every hook call
  and result on stderr) work as pluggy documents them.
- A plugin that raises inside a hook is named in the error (`plugin 'x' raised in
  xpusim_cost_kernels: ...`); one that fails to import is listed as broken by
  `xpusim plugins`, and the others keep working.
"""


def hookspecs() -> list:
    """The hook spec functions, in source order."""
    sys.path.insert(0, str(ROOT))
    from xpusim.core import hookspecs as module

    specs = [f for name, f in vars(module).items()
             if name.startswith("xpusim_") and callable(f) and hasattr(f, MARKER)]
    return sorted(specs, key=lambda f: f.__code__.co_firstlineno)


def heading(f) -> str:
    """``name(arg, ...)``: the exact call signature (argument names only)."""
    return f"{f.__name__}({', '.join(inspect.signature(f).parameters)})"


def _docstring(doc: str) -> str:
    """Google-style docstring -> Markdown (Args/Returns become bold labels and lists)."""
    lines = inspect.cleandoc(doc).splitlines()
    out: list[str] = []
    section = None
    for line in lines:
        m = re.fullmatch(r"(Args|Returns|Raises|Yields|Note|Example):", line.strip())
        if m:
            section = m.group(1)
            out += ["", f"**{section}**", ""]
            continue
        if section and line.startswith("    "):
            item = line.strip()
            arg = re.match(r"([\w\[\], .|]+?)( \(([^)]*)\))?: (.*)", item)
            if section == "Args" and arg:
                name, _, typ, text = arg.groups()
                out.append(f"- `{name}`" + (f" (`{typ}`)" if typ else "") + f": {text}")
            elif section in ("Returns", "Yields", "Raises") and arg:
                name, _, _, text = arg.groups()
                out.append(f"- `{name}`: {text}")
            elif out and out[-1].startswith("- "):
                out[-1] += f" {item}"
            else:
                out.append(f"- {item}")
        else:
            section = None if line.strip() else section
            out.append(line)
    text = "\n".join(out).strip()
    return re.sub(r"``([^`]+)``", r"`\1`", text)  # reST literals -> Markdown code


def render() -> str:
    parts = ["# Plugin hooks", "", INTRO]
    specs = hookspecs()
    parts += ["| hook | kind |", "|---|---|"]
    for f in specs:
        opts = getattr(f, MARKER)
        kind = "firstresult" if opts.get("firstresult") else "collect all results"
        parts.append(f"| [`{heading(f)}`](#{_anchor(heading(f))}) | {kind} |")
    parts.append("")
    for f in specs:
        opts = getattr(f, MARKER)
        flags = [k for k in ("firstresult", "historic") if opts.get(k)]
        sig = inspect.signature(f)
        params = ", ".join(f"{n}: {p.annotation}" if p.annotation is not inspect.Parameter.empty
                           else n for n, p in sig.parameters.items())
        ret = f" -> {sig.return_annotation}" if sig.return_annotation is not \
            inspect.Signature.empty else ""
        parts += [f"## {heading(f)}", ""]
        if flags:
            parts += [f"*{', '.join(flags)}*", ""]
        parts += ["```python", "@hookimpl", f"def {f.__name__}({params}){ret}: ...", "```", ""]
        parts += [_docstring(f.__doc__ or "(undocumented)"), ""]
    text = "\n".join(parts).rstrip() + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)


def _anchor(text: str) -> str:
    """mkdocs' default slug of a heading (toc extension): lowercase, drop punctuation."""
    slug = re.sub(r"[^\w\s-]", "", text.lower()).strip()
    return re.sub(r"[\s]+", "-", slug)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not PAGE.exists() or PAGE.read_text() != text:
            print(f"{PAGE.relative_to(ROOT)} is out of date: run python scripts/gen_hook_docs.py",
                  file=sys.stderr)
            return 1
        return 0
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text)
    print(f"wrote {PAGE.relative_to(ROOT)} ({len(hookspecs())} hooks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
