"""Speed of LLM-scale estimates, against their targets.

1. One training estimate with a given layout (llama2-70b on 2048 x a100-sxm-80gb), after
   warm-up: median of 50. Target: < 10 ms.
2. One serving estimate (llama2-70b on h100-sxm, batch 32), median of 50.
3. Searching >= 10,000 parallel layouts of gpt3-175b (every dp x tp x pp factorisation of
   several cluster sizes x micro-batch sizes x recompute x optimizer sharding): all rows
   priced in ONE call of the GPU cost kernel. Target: < 30 s on 2 cores.
4. The default search of ``xpusim estimate`` (one device count).

Run: ``python benchmarks/bench_llm.py``; ``--validation`` also prints the tables of
``docs/validation-llm.md`` (estimates next to published training and serving figures, from
``xpusim/llm/validation/cases.toml``); ``--calibrate`` reprints each software stack's fitted
``gemm_efficiency`` (``xpusim/llm/stacks.toml``) from its calibration cases; ``--mechanisms``
the training medians with the stacks' mechanisms switched on one after another.
"""

from __future__ import annotations

import statistics
import sys
import time

from xpusim.llm import estimate_serving, estimate_training, load_model, resolve_hardware
from xpusim.llm.parallel import Layouts, enumerate_layouts
from xpusim.llm.search import search_training


def _median_ms(fn, n: int = 50) -> float:
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main() -> None:
    one = _median_ms(lambda: estimate_training("llama2-70b", "a100-sxm-80gb", 2048, 2e12,
                                               parallel="dp=64,tp=8,pp=4"))
    print(f"one training estimate (given layout):  {one:7.2f} ms   (target < 10 ms)")
    serve = _median_ms(lambda: estimate_serving("llama2-70b", "h100-sxm", batch=32))
    print(f"one serving estimate:                  {serve:7.2f} ms")

    model = load_model("gpt3-175b")
    hw = resolve_hardware("a100-sxm-80gb")
    parts = [enumerate_layouts(model, d)
             for d in (512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288)]
    ly = Layouts.concat(parts)
    t = time.perf_counter()
    best, ev, i = search_training(model, hw, 0, candidates=ly)
    dt = time.perf_counter() - t
    print(f"search over {len(ly):,} layouts of gpt3-175b: {dt:7.3f} s   (target < 30 s; "
          f"{int(ev['fits'].sum()):,} fit; fastest {best.to_dict()} on {best.devices} devices)")
    t = time.perf_counter()
    r = estimate_training("gpt3-175b", "a100-sxm-80gb", 3072, 3e11)
    dt = time.perf_counter() - t
    print(f"default search, gpt3-175b on 3072 x A100: {dt * 1e3:7.1f} ms -> {r['parallel']}")


def _fmt(x: float) -> str:
    return "refused" if x != x else (f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}")


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


def validation() -> None:
    """The tables of docs/validation-llm.md, from xpusim/llm/validation/cases.toml."""
    from xpusim.llm.validation import QUANTITIES, energy_rows, load_cases, run, summary

    outcomes = [run(c, search=True) for c in load_cases()]
    s = summary(outcomes)
    for kind in ("training", "serving"):
        k = s[kind]
        print(f"\n{kind}: median |error| {k['median_abs_error'] * 100:.1f} % over {k['cases']} "
              f"scored cases; worst {k['worst_error'] * 100:+.1f} % ({k['worst']}); "
              f"{k['beyond_30']} beyond 30 %")
        for part, name in (("calibration", "calibration cases"), ("held_out", "held out")):
            if k[part]["cases"] and k["calibration"]["cases"]:
                v = k[part]
                print(f"  {name}: median |error| {v['median_abs_error'] * 100:.1f} % over "
                      f"{v['cases']}; worst {v['worst_error'] * 100:+.1f} % ({v['worst']}); "
                      f"{v['beyond_30']} beyond 30 %")
    def cell(v: dict) -> str:
        return f"{v['cases']} ({v['median_abs_error'] * 100:.1f} %)" if v["cases"] else "—"

    print("\n| training group | stack | cases | median abs. error | calibration cases (median) "
          "| held out (median) | worst error | beyond 30 % |\n|---|---|---|---|---|---|---|---|")
    for g, v in s["training"]["groups"].items():
        if v["cases"]:
            stacks = _unique(o.case.stack or "—" for o in outcomes if o.case.group == g)
            print(f"| {g} | {', '.join(stacks)} | {v['cases']} | "
                  f"{v['median_abs_error'] * 100:.1f} % | {cell(v['calibration'])} | "
                  f"{cell(v['held_out'])} | {v['worst_error'] * 100:+.1f} % | "
                  f"{v['beyond_30']} |")
    print("\n| serving group | cases | median abs. error | worst error | beyond 30 % |\n"
          "|---|---|---|---|---|")
    for g, v in s["serving"]["groups"].items():
        if v["cases"]:
            print(f"| {g} | {v['cases']} | {v['median_abs_error'] * 100:.1f} % | "
                  f"{v['worst_error'] * 100:+.1f} % | {v['beyond_30']} |")
    groups: dict[str, list] = {}
    for o in outcomes:
        groups.setdefault((o.case.kind, o.case.group), []).append(o)
    for (kind, group), items in groups.items():
        unit = QUANTITIES[items[0].case.quantity][0]
        print(f"\n### {group} ({kind})\n")
        if kind == "training":
            print(f"| run | hardware | devices | stack | layout priced | published ({unit}) | "
                  f"estimate | error | the search finds |\n|---|---|---|---|---|---|---|---|---|")
        else:
            print(f"| run | hardware | precision | priced as | published ({unit}) | estimate | "
                  f"error |\n|---|---|---|---|---|---|---|")
        for o in items:
            c = o.case
            err = "—" if o.refused else f"{o.error * 100:+.1f} %" + (
                "" if c.scored else " (not scored)") + (
                " (calibration)" if c.role == "calibration" else "")
            hw = c.hardware + (" " + " ".join(c.overrides) if c.overrides else "")
            if kind == "training":
                stack = c.stack + (f" ({c.attention})" if c.attention else "")
                print(f"| {c.label} | {hw} | {c.devices} | {stack} | {o.layout} | "
                      f"{_fmt(c.published)} | {_fmt(o.estimate)} | {err} | "
                      f"{o.search or '—'} |")
            else:
                print(f"| {c.label} | {hw} | {c.precision} | {o.layout or o.refused} | "
                      f"{_fmt(c.published)} | {_fmt(o.estimate)} | {err} |")
        for label, texts in (("Source", [o.case.source for o in items]),
                             ("Checked", [o.case.verified for o in items]),
                             ("Stack", [o.case.stack_source for o in items]),
                             ("Note", [o.case.note for o in items]),
                             ("Not scored", [o.case.unscored for o in items])):
            for t in _unique(t for t in texts if t):
                print(f"\n{label}: {t}")
    print("\n### Training energy (not scored)\n\n| run | hardware | devices | tokens | estimate, "
          "devices (MWh) | estimate x PUE | average power per device | published (MWh) | "
          "source |\n|---|---|---|---|---|---|---|---|---|")
    for r in energy_rows(outcomes):
        print(f"| {r['label']} | {r['hardware']} | {r['devices']} | {r['tokens']:.3g} | "
              f"{r['device_mwh']:,.0f} | {r['mwh_with_pue']:,.0f} (PUE {r['pue']}) | "
              f"{r['average_w']:.0f} W | {r['published_mwh']:,.0f} | {r['source']} |")
    print("\n### Serving energy (estimates; no published measurement found for these "
          "configurations)\n\n| run | J/token, devices | J/token with PUE | USD per million "
          "tokens |\n|---|---|---|---|")
    for o in outcomes:
        if o.case.kind == "serving" and o.result and o.case.group.startswith("TensorRT-LLM v1.0") \
                and o.case.prompt == 1000 and o.case.output == 1000:
            r = o.result
            print(f"| {o.case.label} | {r['j_per_token_device']:.3g} | {r['j_per_token']:.3g} | "
                  f"{r['usd_per_million_tokens']:.3g} |")


def calibration() -> None:
    """Each stack's gemm_efficiency as its calibration cases imply, against stacks.toml."""
    from xpusim.llm.stacks import get_stack, list_stacks
    from xpusim.llm.validation import calibrate, calibration_cases

    for name in list_stacks():
        fitted = calibrate(name)
        if fitted is None:
            print(f"{name:12s} no calibration case: gemm_efficiency 1 (stacks.toml: "
                  f"{get_stack(name).gemm_efficiency:g})")
        else:
            print(f"{name:12s} gemm_efficiency = {fitted:.3f}  (stacks.toml: "
                  f"{get_stack(name).gemm_efficiency:g}; {len(calibration_cases(name))} "
                  f"calibration cases)")


def mechanisms() -> None:
    """Training medians (all scored, held out) as the stacks' mechanisms are switched on in
    turn: the cost model alone (every case on the ideal stack), + the attention kernels, + the
    fp32 loss, + the calibrated GEMM efficiency (the stacks as shipped)."""
    import attrs

    from xpusim.llm.stacks import get_stack
    from xpusim.llm.validation import load_cases, run, summary

    cases = [c for c in load_cases() if c.kind == "training"]
    steps = (("cost model alone (ideal stack)", dict(attention=False, loss=False, gemm=False)),
             ("+ the stacks' attention kernels", dict(attention=True, loss=False, gemm=False)),
             ("+ fp32 loss passes", dict(attention=True, loss=True, gemm=False)),
             ("+ calibrated GEMM efficiency", dict(attention=True, loss=True, gemm=True)))
    print("| mechanisms | all scored (median abs. error) | held out (median abs. error) | "
          "beyond 30 % |\n|---|---|---|---|")
    for label, on in steps:
        outcomes = []
        for c in cases:
            st = get_stack(c.stack, flash_attention=c.attention)
            ideal = get_stack("ideal")
            st = attrs.evolve(
                st, attention=st.attention if on["attention"] else ideal.attention,
                flash_attention=st.flash_attention if on["attention"] else ideal.flash_attention,
                loss=st.loss if on["loss"] else ideal.loss,
                gemm_efficiency=st.gemm_efficiency if on["gemm"] else 1.0)
            outcomes.append(run(attrs.evolve(c, stack=None), stack=st))
        k = summary(outcomes)["training"]
        print(f"| {label} | {k['median_abs_error'] * 100:.1f} % ({k['cases']}) | "
              f"{k['held_out']['median_abs_error'] * 100:.1f} % ({k['held_out']['cases']}) | "
              f"{k['beyond_30']} |")


if __name__ == "__main__":
    main()
    if "--validation" in sys.argv:
        validation()
    if "--calibrate" in sys.argv:
        calibration()
    if "--mechanisms" in sys.argv:
        mechanisms()
