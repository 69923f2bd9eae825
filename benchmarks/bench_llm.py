"""Speed of LLM-scale estimates, against their targets.

1. One training estimate with a given layout (llama2-70b on 2048 x a100-sxm-80gb), after
   warm-up: median of 50. Target: < 10 ms.
2. One serving estimate (llama2-70b on h100-sxm, batch 32), median of 50.
3. Searching >= 10,000 parallel layouts of gpt3-175b (every dp x tp x pp factorisation of
   several cluster sizes x micro-batch sizes x recompute x optimizer sharding): all rows
   priced in ONE call of the GPU cost kernel. Target: < 30 s on 2 cores.
4. The default search of ``xpusim estimate`` (one device count).

Run: ``python benchmarks/bench_llm.py``; ``--validation`` also prints the tables of
``docs/validation-llm.md`` (estimates next to published training and serving figures).
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

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
    parts = [enumerate_layouts(model, d, micro_batches_options=(1, 2, 4, 8, 16))
             for d in (512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288)]
    ly = Layouts(*(np.concatenate([getattr(p, f) for p in parts])
                   for f in ("dp", "tp", "pp", "mb", "recompute", "zero")))
    t = time.perf_counter()
    best, ev, i = search_training(model, hw, 0, candidates=ly)
    dt = time.perf_counter() - t
    print(f"search over {len(ly):,} layouts of gpt3-175b: {dt:7.3f} s   (target < 30 s; "
          f"{int(ev['fits'].sum()):,} fit; fastest {best.to_dict()} on {best.devices} devices)")
    t = time.perf_counter()
    r = estimate_training("gpt3-175b", "a100-sxm-80gb", 3072, 3e11)
    dt = time.perf_counter() - t
    print(f"default search, gpt3-175b on 3072 x A100: {dt * 1e3:7.1f} ms -> {r['parallel']}")


A100_40GB = ("memory.hbm_capacity_gb=40", "memory.hbm_bandwidth_gbs=1555")  # REFERENCES C2

# (label, model, spec, overrides, devices, tokens, layout or None, quantity, published, source)
VALIDATION = [
    ("GPT-3 175B", "gpt3-175b", "v100-sxm2", (), 10000, 3e11, None, "device_hours", 3.552e6,
     "Patterson et al. 2021, Table 4: 10,000 V100 x 14.8 days = 405 GPU-years"),
    ("GPT-3 175B", "gpt3-175b", "a100-sxm-80gb", (), 1024, 3e11,
     "dp=16,tp=8,pp=8,mb=1,recompute=true", "time_days", 34.0,
     "Narayanan et al. 2021 (SC21), Sec. 5.1: 1024 A100, 140 TFLOP/s per GPU, ~34 days"),
    ("MT-NLG 530B", "mtnlg-530b", "a100-sxm-80gb", (), 2240, 2.7e11,
     "dp=8,tp=8,pp=35,mb=1,recompute=true", "step_time_s", 60.1,
     "Smith et al. 2022, Sec. 2.4: 280 DGX A100, batch 1920, 60.1 s per iteration"),
    ("MT-NLG 530B", "mtnlg-530b", "a100-sxm-80gb", (), 3360, 2.7e11,
     "dp=12,tp=8,pp=35,mb=1,recompute=true", "step_time_s", 44.4,
     "Smith et al. 2022, Sec. 2.4: 420 DGX A100, batch 1920, 44.4 s per iteration"),
    ("Llama 2 7B", "llama2-7b", "a100-sxm-80gb", (), 1024, 2e12, None, "device_hours", 184320,
     "Touvron et al. 2023, Table 2: 184,320 A100-80GB GPU-hours"),
    ("Llama 2 13B", "llama2-13b", "a100-sxm-80gb", (), 1024, 2e12, None, "device_hours", 368640,
     "Touvron et al. 2023, Table 2: 368,640 A100-80GB GPU-hours"),
    ("Llama 2 70B", "llama2-70b", "a100-sxm-80gb", (), 2048, 2e12, None, "device_hours",
     1720320, "Touvron et al. 2023, Table 2: 1,720,320 A100-80GB GPU-hours"),
    ("MPT-7B", "mpt-7b", "a100-sxm-80gb", A100_40GB, 440, 1e12, None, "time_days", 9.5,
     "MosaicML blog 2023-05-05: 9.5 days on 440 A100-40GB"),
]

SERVING = [("llama2-7b", "a100-sxm-80gb", 32), ("llama2-70b", "a100-sxm-80gb", 8),
           ("llama2-70b", "a100-sxm-80gb", 32), ("llama2-70b", "a100-sxm-80gb", 128),
           ("llama2-70b", "h100-sxm", 32), ("llama2-70b", "h100-sxm", 128),
           ("gpt3-175b", "a100-sxm-80gb", 32), ("gpt3-175b", "h100-sxm", 32)]


def validation() -> None:
    print("\n| model | hardware | devices | layout | quantity | estimate | published | error | "
          "MFU (est.) | source |\n|---|---|---|---|---|---|---|---|---|---|")
    errors = []
    for label, model, spec, ov, dev, tok, layout, qty, pub, src in VALIDATION:
        r = estimate_training(model, spec, dev, tok, parallel=layout, overrides=ov)
        est = r[qty]
        err = est / pub - 1
        errors.append(abs(err))
        p = r["parallel"]
        lay = f"dp={p['dp']},tp={p['tp']},pp={p['pp']},mb={p['micro_batch']}" \
              f"{',rc' if p['recompute'] else ''}{' (searched)' if p['searched'] else ''}"
        hw = spec + (" (40 GB)" if ov else "")
        print(f"| {label} | {hw} | {dev} | {lay} | {qty} | {est:.4g} | {pub:.4g} | "
              f"{err * 100:+.1f} % | {r['mfu'] * 100:.1f} % | {src} |")
    print(f"\nmedian absolute error: {statistics.median(errors) * 100:.1f} % "
          f"over {len(errors)} comparisons")
    print("\n| model | hardware | tp | batch | tokens/s per replica | ms/token | J/token | "
          "USD per 1M output tokens |\n|---|---|---|---|---|---|---|---|")
    for model, spec, batch in SERVING:
        s = estimate_serving(model, spec, batch=batch)
        print(f"| {model} | {spec} | {s['tp']} | {batch} | {s['tokens_per_s_per_replica']:.4g} | "
              f"{s['time_per_output_token_s'] * 1e3:.3g} | {s['j_per_token']:.3g} | "
              f"{s['usd_per_million_tokens']:.3g} |")


if __name__ == "__main__":
    main()
    if "--validation" in sys.argv:
        validation()
