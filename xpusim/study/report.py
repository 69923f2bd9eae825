"""Study reports: plots (PNG and SVG) and a Markdown page from a study database.

- ``accuracy_vs_energy``: final test accuracy vs training energy, every run and the mean per
  configuration, with the Pareto front (no other configuration is both more accurate and
  cheaper to train).
- ``energy_breakdown``: training energy per configuration, total and dynamic (everything but
  static power; log scale), and the dynamic part split by cost component (stacked shares).
- ``vs_<axis>``: for every swept axis of the study (seed excepted), accuracy, training energy
  and dynamic training energy against that axis, one line per combination of the other axes,
  error bars over seeds.
- ``lifetime_cost``: training + deployment + N inferences, in energy and money, vs N, with the
  break-even points where the cheapest configuration changes marked.
- ``summary.csv`` (the ranked configurations) and ``runs.csv`` (every run: hash, seed, status,
  accuracy and costs at full precision).
- ``report.md``: the ranked table, break-even points, rules that gave identical results,
  failed runs, and the plots.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .driver import _g, config_columns, labels, load

PLOTS = ("accuracy_vs_energy", "energy_breakdown", "lifetime_cost")
COMPONENT_PREFIX = "training.energy_by_component_j."
STATIC = COMPONENT_PREFIX + "static"
RUN_COLUMNS = ("hash", "configuration", "config.seed", "status", "final_test_accuracy",
               "training.energy_j", "training.money_usd", "inference_per_sample.energy_j")
"""``runs.csv``: every run behind the report, numbers at full precision (to check a report
against a rerun of its study)."""
DYNAMIC = "training.dynamic_energy_j"


def _mean(df: Any, col: str) -> Any:
    return df[col] if col in df else np.nan


def with_dynamic(df: Any) -> Any:
    """Add the dynamic training energy (everything but static power) as a column."""
    if "training.energy_j" not in df:
        return df
    static = df[STATIC].astype(float).fillna(0.0) if STATIC in df else 0.0
    return df.assign(**{DYNAMIC: df["training.energy_j"].astype(float) - static})


def configurations(df: Any) -> Any:
    """One row per configuration (varying axes except seed): means over its successful runs."""
    import pandas as pd

    df = with_dynamic(df)
    keys = config_columns(df)
    df = df.assign(configuration=labels(df, keys).str.replace('"', "", regex=False),
                   ok=df["status"].eq("ok"))
    rows = []
    for label, g in df.groupby("configuration", sort=False):
        ok = g[g["ok"]]
        first = g.iloc[0]
        row = {"configuration": label, "hardware": first.get("config.hardware"),
               "backend": first.get("config.backend"), "method": first.get("config.method"),
               "runs": len(g), "failed": int((~g["ok"]).sum())}
        for col, name in (("final_test_accuracy", "accuracy"),
                          ("training.energy_j", "train_energy_j"),
                          (DYNAMIC, "train_dynamic_energy_j"),
                          ("training.money_usd", "train_money_usd"),
                          ("training.time_s", "train_time_s"),
                          ("deploy.energy_j", "deploy_energy_j"),
                          ("deploy.money_usd", "deploy_money_usd"),
                          ("inference_per_sample.energy_j", "infer_energy_j"),
                          ("inference_per_sample.money_usd", "infer_money_usd")):
            vals = ok[col].astype(float) if col in ok else pd.Series(dtype=float)
            row[name] = float(vals.mean()) if len(vals) else math.nan
            if name == "accuracy":
                row["accuracy_std"] = float(vals.std(ddof=0)) if len(vals) else math.nan
        for col in [c for c in df.columns if c.startswith(COMPONENT_PREFIX)]:
            vals = ok[col].astype(float).fillna(0.0) if len(ok) else pd.Series(dtype=float)
            row[col] = float(vals.mean()) if len(vals) else math.nan
        n = first.get("config.lifetime_inferences", 1e9)
        row["lifetime_n"] = float(n) if n == n and n is not None else 1e9
        rows.append(row)
    out = pd.DataFrame(rows)
    for c in ("deploy_energy_j", "deploy_money_usd"):
        out[c] = out[c].fillna(0.0)
    out["pareto"] = pareto_mask(out["train_energy_j"].to_numpy(), out["accuracy"].to_numpy())
    return out


def pareto_mask(cost: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """True where no other point has lower-or-equal cost and higher-or-equal accuracy (one strict)."""
    cost, accuracy = np.asarray(cost, float), np.asarray(accuracy, float)
    good = np.isfinite(cost) & np.isfinite(accuracy)
    mask = np.zeros(len(cost), bool)
    for i in np.flatnonzero(good):
        dominated = good & (cost <= cost[i]) & (accuracy >= accuracy[i]) & \
            ((cost < cost[i]) | (accuracy > accuracy[i]))
        mask[i] = not dominated.any()
    return mask


def break_evens(fixed: np.ndarray, per_unit: np.ndarray, n_lo: float = 1.0,
                n_hi: float = 1e12) -> list[tuple[float, int, int]]:
    """Where the cheapest of ``fixed + N * per_unit`` changes, for N in [n_lo, n_hi].

    Returns (N, cheapest before, cheapest after) with exact crossing points.
    """
    fixed, per_unit = np.asarray(fixed, float), np.asarray(per_unit, float)
    good = np.flatnonzero(np.isfinite(fixed) & np.isfinite(per_unit))
    if len(good) < 2:
        return []
    out = []
    n = n_lo
    cur = int(good[np.argmin(fixed[good] + n * per_unit[good])])
    while True:
        # The next line to undercut the current one: the smallest crossing N above n.
        best_n, best_j = math.inf, -1
        for j in good:
            dv = per_unit[cur] - per_unit[j]
            if dv <= 0:
                continue
            cross = (fixed[j] - fixed[cur]) / dv
            if n < cross < best_n or (cross == best_n and fixed[j] < fixed[best_j]):
                best_n, best_j = cross, int(j)
        if best_j < 0 or best_n > n_hi:
            return out
        out.append((best_n, cur, best_j))
        n, cur = best_n, best_j


def pairwise_break_even(a_fixed: float, a_unit: float, b_fixed: float, b_unit: float) -> float:
    """N at which a and b cost the same (NaN when they never cross for N > 0)."""
    if a_unit == b_unit:
        return math.nan
    n = (b_fixed - a_fixed) / (a_unit - b_unit)
    return n if n > 0 and math.isfinite(n) else math.nan


def _fmt(x: float, unit: str = "") -> str:
    if x is None or not np.isfinite(x):
        return "–"
    if x == 0:
        return f"0 {unit}".strip()
    prefixes = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"),
                (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")]
    if unit == "$":
        return f"${x:.3g}"
    for scale, p in prefixes:
        if abs(x) >= scale:
            return f"{x / scale:.3g} {p}{unit}".strip()
    return f"{x:.3g} {unit}".strip()


def _n(x: float) -> str:
    return f"{x:.3g}" if x < 1e4 else f"{x:.2e}".replace("e+0", "e").replace("e+", "e")


def _colors(n: int) -> list[Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


LINESTYLES = ("-", "--", ":")
MARKERS = "osD^v"


def styles(n: int) -> list[tuple[Any, str, str]]:
    """(colour, line style, marker) for ``n`` lines, all different: ten well-separated
    colours, then the same colours dashed and dotted (30 combinations), then other markers."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return [(cmap(i % 10), LINESTYLES[(i // 10) % 3], MARKERS[(i // 30) % len(MARKERS)])
            for i in range(n)]


def _scale(ax: Any, values: Any, axis: str = "x") -> str:
    """Log scale when the values span more than a factor of 20, else linear; returns which."""
    from matplotlib.ticker import NullFormatter

    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    log = len(v) > 0 and v.max() / v.min() > 20
    if log:
        getattr(ax, f"set_{axis}scale")("log")
        getattr(ax, f"{axis}axis").set_minor_formatter(NullFormatter())
    return "log scale" if log else "linear"


def _save(fig: Any, out: Path, name: str) -> list[Path]:
    """PNG and SVG through the object API (no pyplot: the caller's backend is untouched)."""
    import matplotlib

    from ..outputs import open_output

    paths = []
    for ext in ("png", "svg"):
        p = out / f"{name}.{ext}"
        with open_output(p, "wb", "a report plot") as fh, \
                matplotlib.rc_context({"svg.hashsalt": "xpusim"}):
            fig.savefig(fh, format=ext, dpi=110 if ext == "png" else None,
                        bbox_inches="tight", metadata=_METADATA[ext])
        paths.append(p)
    return paths


# No dates or versions in the files: the same database gives the same bytes.
_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


def plot_accuracy_vs_energy(df: Any, conf: Any, out: Path) -> list[Path]:
    fig = Figure(figsize=(8, 5.2))
    ax = fig.subplots()
    ok = df[df["status"].eq("ok")]
    colors = {c: st[0] for c, st in zip(conf["configuration"], styles(len(conf)))}
    markers = {hw: "osD^vP*X"[i % 8]  # one marker shape per hardware
               for i, hw in enumerate(dict.fromkeys(conf["hardware"]))}
    for _, c in conf.iterrows():
        runs = ok[ok["configuration"] == c["configuration"]]
        col = colors[c["configuration"]]
        ax.scatter(runs["training.energy_j"], runs["final_test_accuracy"], s=12, alpha=0.35,
                   color=col, linewidths=0)
        if np.isfinite(c["accuracy"]):
            ax.errorbar(c["train_energy_j"], c["accuracy"], yerr=c["accuracy_std"],
                        fmt=markers[c["hardware"]],
                        ms=7, color=col, mec="black" if c["pareto"] else col, capsize=2,
                        label=c["configuration"])
    front = conf[conf["pareto"]].sort_values("train_energy_j")
    if len(front):
        xs = list(front["train_energy_j"])
        ys = list(front["accuracy"])
        ax.step(xs, ys, where="post", color="black", lw=1.2, ls="--", zorder=0,
                label="Pareto front")
    scale = _scale(ax, ok["training.energy_j"])
    ax.set_xlabel(f"training energy (J, {scale})")
    ax.set_ylabel("final test accuracy")
    ax.set_title("Accuracy vs training energy (mean ± std over seeds; dots: single runs;\n"
                 "outlined: on the Pareto front)", fontsize=11)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _save(fig, out, "accuracy_vs_energy")


def plot_energy_breakdown(conf: Any, out: Path) -> list[Path]:
    """Total and dynamic training energy per configuration; dynamic energy by component."""
    conf = conf[np.isfinite(conf["train_energy_j"])]
    comps = [c for c in conf.columns if c.startswith(COMPONENT_PREFIX) and c != STATIC]
    comps = [c for c in comps if conf[c].fillna(0).sum() > 0] or comps
    h = max(2.5, 0.38 * len(conf) + 1.4)
    fig = Figure(figsize=(11, h))
    ax1, ax2 = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [1, 1.4]})
    y = np.arange(len(conf))
    totals = conf["train_energy_j"].to_numpy()
    dynamic = conf["train_dynamic_energy_j"].to_numpy()
    ax1.barh(y - 0.2, totals, height=0.4, color="0.6", label="total")
    ax1.barh(y + 0.2, dynamic, height=0.4, color="tab:blue", label="dynamic (all but static)")
    scale = _scale(ax1, np.concatenate([totals, dynamic]))
    ax1.set_xlabel(f"training energy (J, {scale})")
    ax1.set_yticks(y, conf["configuration"], fontsize=8)
    ax1.invert_yaxis()
    ax1.grid(True, axis="x", which="both", alpha=0.25)
    ax1.legend(fontsize=7, loc="lower right")
    left = np.zeros(len(conf))
    denom = conf[comps].fillna(0).sum(axis=1).to_numpy() if comps else np.ones(len(conf))
    denom = np.where(denom > 0, denom, 1.0)
    for col, color in zip(comps, _colors(len(comps))):
        share = conf[col].fillna(0).to_numpy() / denom
        ax2.barh(y, share, left=left, color=color, label=col[len(COMPONENT_PREFIX):])
        left += share
    ax2.set_xlim(0, 1)
    ax2.set_xlabel("share of dynamic training energy by component (static power excluded)")
    ax2.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.suptitle("Training energy per configuration: total and dynamic, and what the dynamic "
                 "part is spent on")
    return _save(fig, out, "energy_breakdown")


def swept_axes(df: Any) -> list[str]:
    """The study's axes with more than one value among its runs (seed excepted)."""
    cols = [c for c in df.columns if c.startswith("axis.") and c != "axis.seed"]
    return [c[5:] for c in cols if df[c].astype(object).map(repr).nunique() > 1]


def _axis_slug(axis: str) -> str:
    return "vs_" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in axis)


def _numeric(values: Any) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_vs_axis(df: Any, axis: str, others: Sequence[str], out: Path) -> list[Path]:
    """Accuracy, training energy and dynamic training energy against ``axis``: one line per
    combination of the ``others`` axes, mean ± std over seeds."""
    ok = df[df["status"].eq("ok")].copy()
    col = f"axis.{axis}"
    ok = ok[ok[col].notna()]
    xs = list(dict.fromkeys(sorted(ok[col].dropna().unique(), key=_sort_key)))
    numeric = _numeric(xs)
    pos = {x: (float(x) if numeric else i) for i, x in enumerate(xs)}
    group_cols = [f"axis.{o}" for o in others]
    if group_cols:
        ok["_group"] = [" · ".join(f"{o}={_g(v)}" for o, v in zip(others, values))
                        for values in ok[group_cols].itertuples(index=False)]
    else:
        ok["_group"] = "all runs"
    groups = list(dict.fromkeys(ok["_group"]))
    fig = Figure(figsize=(15, 4.4))
    axes = fig.subplots(1, 3)
    fig.subplots_adjust(wspace=0.35)
    panels = (("final_test_accuracy", "final test accuracy"),
              ("training.energy_j", "training energy (J)"),
              (DYNAMIC, "dynamic training energy (J)"))
    for ax, (metric, label) in zip(axes, panels):
        for g, (color, ls, marker) in zip(groups, styles(len(groups))):
            sub = ok[ok["_group"] == g]
            stats = sub.groupby(col)[metric].agg(["mean", "std", "count"])
            xs_g = [x for x in xs if x in stats.index]
            if not xs_g:
                continue
            mean = stats.loc[xs_g, "mean"].astype(float).to_numpy()
            std = stats.loc[xs_g, "std"].astype(float).fillna(0.0).to_numpy()
            ax.errorbar([pos[x] for x in xs_g], mean, yerr=std, color=color, ls=ls,
                        marker=marker, ms=5, capsize=3, lw=1.3, label=g)
        if metric != "final_test_accuracy":
            _scale(ax, ok[metric], "y")
        if numeric:
            _scale(ax, [pos[x] for x in xs])
        else:
            ax.set_xticks(list(pos.values()), [str(x) for x in xs], rotation=30, ha="right",
                          fontsize=8)
        ax.set_xlabel(axis)
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.25)
    axes[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    n_seeds = ok.groupby(["_group", col]).size().max() if len(ok) else 0
    fig.suptitle(f"Against {axis}: mean ± std over seeds (up to {n_seeds} runs per point)",
                 fontsize=11)
    return _save(fig, out, _axis_slug(axis))


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) \
        else (1, str(v))


def _joined(df: Any, cols: Sequence[str]) -> Any:
    """One text key per row from ``cols`` (missing values included, as ``repr``)."""
    if not cols:
        return [""] * len(df)
    return df[list(cols)].apply(lambda col: col.map(repr)).agg("|".join, axis=1)


def identical_rules(df: Any, rtol: float = 1e-9) -> list[tuple[str, str, int]]:
    """Pairs of methods that gave the same results on every seed they share, all else equal:
    bit-identical accuracy after every epoch, costs equal within ``rtol`` (sums of the same
    terms in another order). Returns (method a, method b, runs compared)."""
    if "config.method" not in df:
        return []
    ok = df[df["status"].eq("ok") & df["config.method"].notna()]
    if ok["config.method"].nunique() < 2:
        return []
    keys = [c for c in config_columns(ok) if c != "config.method"] + ["config.seed"]
    keys = [k for k in keys if k in ok]
    exact = [c for c in ("accuracy_per_epoch", "final_test_accuracy") if c in ok]
    costs = [c for c in ("training.energy_j", "training.money_usd",
                         "inference_per_sample.energy_j") if c in ok]
    ok = ok.assign(_key=_joined(ok, keys), _exact=_joined(ok, exact))
    methods = sorted(ok["config.method"].unique())
    by_method = {m: ok[ok["config.method"] == m].set_index("_key") for m in methods}
    out = []
    for i, a in enumerate(methods):
        for b in methods[i + 1:]:
            ra, rb = by_method[a], by_method[b]
            shared = ra.index.intersection(rb.index)
            if not len(shared) or not (ra.loc[shared, "_exact"] == rb.loc[shared, "_exact"]).all():
                continue
            ca = ra.loc[shared, costs].astype(float).to_numpy()
            cb = rb.loc[shared, costs].astype(float).to_numpy()
            if np.allclose(ca, cb, rtol=rtol, atol=0.0):
                out.append((a, b, len(shared)))
    return out


def plot_lifetime(conf: Any, out: Path, n_max: float = 1e12) -> tuple[list[Path], dict[str, list]]:
    conf = conf[np.isfinite(conf["train_energy_j"])].reset_index(drop=True)
    ns = np.logspace(0, math.log10(n_max), 200)
    fig = Figure(figsize=(12, 4.8))
    axes = fig.subplots(1, 2)
    line_styles = styles(len(conf))
    evens: dict[str, list] = {}
    for ax, kind, unit, title in ((axes[0], "energy_j", "J", "energy"),
                                  (axes[1], "money_usd", "USD", "money")):
        fixed = (conf[f"train_{kind}"] + conf[f"deploy_{kind}"]).to_numpy()
        unit_cost = conf[f"infer_{kind}"].to_numpy()
        for i, c in conf.iterrows():
            ax.plot(ns, fixed[i] + ns * unit_cost[i], color=line_styles[i][0], lw=1.4,
                    ls=line_styles[i][1], label=c["configuration"])
        evens[title] = break_evens(fixed, unit_cost, 1.0, n_max)
        for n, a, b in evens[title]:
            v = fixed[b] + n * unit_cost[b]
            ax.plot([n], [v], marker="o", ms=8, mfc="none", mec="black", mew=1.5)
            ax.annotate(f"N={_n(n)}", (n, v), textcoords="offset points", xytext=(4, -12),
                        fontsize=7)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N inferences served after training")
        ax.set_ylabel(f"lifetime {title} ({unit})")
        ax.set_title(f"Lifetime {title}")
        ax.grid(True, which="both", alpha=0.25)
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.suptitle("Training + deployment + N inferences; circles: break-even points where the "
                 "cheapest configuration changes", fontsize=10)
    return _save(fig, out, "lifetime_cost"), evens


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if i > 1 else ":---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def ranked(conf: Any) -> Any:
    """Configurations ranked: by mean accuracy (descending), then training energy."""
    r = conf.sort_values(["accuracy", "train_energy_j"], ascending=[False, True],
                         na_position="last").reset_index(drop=True)
    r.insert(0, "rank", np.arange(1, len(r) + 1))
    return r


def write_report(db: str | Path, out: str | Path, study: str | None = None,
                 title: str | None = None, n_max: float = 1e12) -> Path:
    """Write the plots (PNG + SVG), ``summary.csv`` and ``report.md``; return report.md."""
    import pandas as pd

    from ..core.errors import XpusimError

    from ..outputs import check_file, check_folder, make_folder, open_output, write_text

    out = check_folder(out, "the report folder")
    for name in ("report.md", "summary.csv", "runs.csv"):
        if (out / name).exists() or (out / name).is_symlink():
            check_file(out / name, "the report")
    df = load(db, study)
    if df.empty:
        raise XpusimError(f"{db}: no runs stored" + (f" for study {study!r}" if study else ""))
    make_folder(out, "the report folder")
    conf = configurations(df)
    df = with_dynamic(df)
    df = df.assign(configuration=labels(df, config_columns(df)).str.replace('"', "",
                                                                           regex=False))
    ok_conf = conf[np.isfinite(conf["accuracy"])]
    images: list[Path] = []
    evens: dict[str, list] = {}
    if len(ok_conf):
        images += plot_accuracy_vs_energy(df, ok_conf, out)
        images += plot_energy_breakdown(ok_conf, out)
        paths, evens = plot_lifetime(ok_conf, out, n_max)
        images += paths
    axis_images: list[tuple[str, Path]] = []
    swept = swept_axes(df) if len(ok_conf) else []
    for axis in swept:
        paths = plot_vs_axis(df, axis, [a for a in swept if a != axis], out)
        axis_images.append((axis, paths[0]))
        images += paths
    same = identical_rules(df)
    rank = ranked(conf)
    with open_output(out / "summary.csv", "w", "the report") as fh:
        rank.to_csv(fh, index=False)
    runs = df[[c for c in RUN_COLUMNS if c in df]].sort_values(["configuration", "hash"])
    with open_output(out / "runs.csv", "w", "the report") as fh:
        runs.to_csv(fh, index=False, float_format="%.17g")

    n_life = float(conf["lifetime_n"].iloc[0])
    rows = []
    for _, r in rank.iterrows():
        life_e = r["train_energy_j"] + r["deploy_energy_j"] + n_life * r["infer_energy_j"]
        life_m = r["train_money_usd"] + r["deploy_money_usd"] + n_life * r["infer_money_usd"]
        acc = (f"{r['accuracy']:.3f} ± {r['accuracy_std']:.3f}"
               if np.isfinite(r["accuracy"]) else "–")
        rows.append([r["rank"], r["configuration"], f"{r['runs'] - r['failed']}/{r['runs']}",
                     acc, _fmt(r["train_energy_j"], "J"), _fmt(r["train_dynamic_energy_j"], "J"),
                     _fmt(r["train_money_usd"], "$"),
                     _fmt(r["infer_energy_j"], "J"), _fmt(life_e, "J"), _fmt(life_m, "$"),
                     "✓" if r["pareto"] else ""])
    names = list(ok_conf["configuration"])
    study_names = sorted(set(df["study"].dropna())) if "study" in df else []
    heading = title or f"Study report: {', '.join(study_names) or Path(db).stem}"
    n_ok = int(df["status"].eq("ok").sum())
    md = [f"# {heading}", "",
          f"{len(df)} runs ({n_ok} ok, {len(df) - n_ok} failed) in {len(conf)} configurations "
          f"from `{Path(db).name}`. A configuration is one combination of the axes that vary, "
          f"averaged over seeds. Costs are simulated (see each backend's cost boundary).", "",
          *([f"**Note:** the runs come from several xpusim versions "
             f"({', '.join(sorted(map(str, df['version'].dropna().unique())))}); hashes do not "
             f"include the version, so start a new database to recompute everything.", ""]
            if "version" in df and df["version"].dropna().nunique() > 1 else []),
          "## Ranked configurations", "",
          "Ranked by mean final test accuracy, then training energy. Lifetime = training + "
          f"deployment + N = {_n(n_life)} inferences. Pareto: not beaten on both accuracy and "
          "training energy by another configuration.", "",
          _md_table(["rank", "configuration", "ok runs", "accuracy", "training energy",
                     "dynamic training energy", "training cost", "inference energy / sample",
                     "lifetime energy", "lifetime cost", "Pareto"], rows), ""]
    if same:
        md += ["## Rules that gave identical results", ""]
        md += [f"- **{a}** and **{b}** gave the same accuracy after every epoch and the same "
               f"costs on all {n} runs they share (same hardware, model and seed). On a "
               f"network with one hidden "
               f"layer, feedback alignment and direct feedback alignment are the same rule: "
               f"both send the output error to the hidden layer through one fixed random "
               f"matrix. Use a deeper model to tell them apart." if {a, b} == {"dfa", "fa"} else
               f"- **{a}** and **{b}** gave the same accuracy after every epoch and the same "
               f"costs on all {n} runs they share (same hardware, model and seed): on this "
               f"model they compute the same thing." for a, b, n in same]
        md.append("")
    if images:
        md += ["## Accuracy vs training energy", "", "![accuracy vs energy](accuracy_vs_energy.png)",
               ""]
        for axis, path in axis_images:
            md += [f"## Against {axis}", "",
                   f"Accuracy, training energy and dynamic training energy (static power "
                   f"excluded) against {axis}; one line per combination of the other swept "
                   f"axes, mean ± std over seeds.", "", f"![against {axis}]({path.name})", ""]
        md += ["## Training energy breakdown", "",
               "Static power is drawn whatever runs and dominates small models on large "
               "chips; the dynamic part (all other components) is shown on its own.", "",
               "![energy breakdown](energy_breakdown.png)",
               "", "## Lifetime cost vs N inferences", "", "![lifetime cost](lifetime_cost.png)", ""]
        for kind in ("energy", "money"):
            ev = evens.get(kind, [])
            md.append(f"Break-even points ({kind}), where the cheapest configuration changes:")
            md.append("")
            if ev:
                md += [_md_table(["N inferences", "cheapest before", "cheapest after"],
                                 [[_n(n), names[a], names[b]] for n, a, b in ev]), ""]
            else:
                md += [f"none for N ≤ {_n(n_max)}: one configuration is cheapest throughout.", ""]
        front = ok_conf[ok_conf["pareto"]].head(8)
        if len(front) >= 2:
            md += ["Pairwise break-even N between the Pareto-front configurations: the N at "
                   "which their lifetime costs are equal (energy / money; –: never for N > 0).",
                   ""]
            names_f = list(front["configuration"])
            cells = []
            for i, (_, a) in enumerate(front.iterrows()):
                row = [a["configuration"]]
                for j, (_, b) in enumerate(front.iterrows()):
                    if j <= i:  # symmetric: the upper triangle says it all
                        row.append("")
                        continue
                    pair = []
                    for kind in ("energy_j", "money_usd"):
                        n = pairwise_break_even(a[f"train_{kind}"] + a[f"deploy_{kind}"],
                                                a[f"infer_{kind}"],
                                                b[f"train_{kind}"] + b[f"deploy_{kind}"],
                                                b[f"infer_{kind}"])
                        pair.append(_n(n) if np.isfinite(n) else "–")
                    row.append(" / ".join(pair))
                cells.append(row)
            md += [_md_table(["", *names_f], cells), ""]
    failed = df[~df["status"].eq("ok")]
    if len(failed):
        md += ["## Failed runs", "",
               _md_table(["hash", "configuration", "seed", "status", "step", "reason"],
                         [[r["hash"], r["configuration"], r.get("config.seed", ""),
                           r["status"], "" if pd.isna(r["failed_step"]) else int(r["failed_step"]),
                           str(r["failure"])[:160]] for _, r in failed.iterrows()]), ""]
    files = [p for p in images if p.suffix == ".png"] + [out / "summary.csv", out / "runs.csv"]
    md += ["Files: " + ", ".join(f"[{p.name}]({p.name})" for p in files)
           + (" (each plot also as SVG)" if images else ""),
           ""]
    return write_text(out / "report.md", "\n".join(md), "the report")
