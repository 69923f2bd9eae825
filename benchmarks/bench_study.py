"""Study machinery benchmarks, printed as numbers and ratios.

1. Overhead per run (planning, store, scheduling) for 1,000 trivial runs whose runner trains
   nothing: serial executor (store + driver loop) and local executor (+ process pool IPC).
2. The local executor's speed-up over a serial loop of ``xpusim.run`` on real runs
   (target >= 1.7x on 2 cores; worker start-up is included in the executor's time). The loop
   runs with one BLAS and one numba thread, like each worker: with the default threads, spinning
   BLAS threads on a busy 2-core machine make the loop slower and the ratio flattering.

    python benchmarks/bench_study.py [--trivial 1000] [--runs 32] [--epochs 100] [--repeats 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("XPUSIM_DISABLE_PLUGIN_AUTOLOAD", "1")


def overhead(n: int, workers: int, tmp: Path) -> None:
    from xpusim.study import run_study
    from xpusim.study.executors import noop_runner
    from xpusim.study.spec import expand

    raw = {"name": "trivial", "fixed": {"model": "mlp:64-16-10", "epochs": 0},
           "axes": {"seed": list(range(n))}}
    t0 = time.perf_counter()
    study = expand(raw)
    plan = time.perf_counter() - t0
    print(f"planning {n} runs: {plan:.3f} s = {1e3 * plan / n:.3f} ms/run")
    for executor in ("serial", "local"):
        t0 = time.perf_counter()
        out = run_study(study, db=tmp / f"trivial-{executor}.sqlite", executor=executor,
                        workers=workers, progress=False, runner=noop_runner)
        dt = time.perf_counter() - t0
        assert out.ok == n
        print(f"{executor:>6} executor, {n} trivial runs: {dt:.3f} s = "
              f"{1e3 * dt / n:.3f} ms/run overhead (store + scheduling"
              f"{' + process pool, start-up included' if executor == 'local' else ''})")


def _burn(n: int = 3_000_000) -> float:
    t0 = time.perf_counter()
    s = 0
    for i in range(n):
        s += i * i
    return time.perf_counter() - t0


def available_parallelism(workers: int) -> float:
    """How much faster ``workers`` pure-Python CPU burners finish in parallel than in a row.

    On an idle machine this is about ``workers``; on a shared one it says how many cores were
    really free, the ceiling for any executor's speed-up at that moment.
    """
    import multiprocessing

    t0 = time.perf_counter()
    for _ in range(workers):
        _burn()
    serial = time.perf_counter() - t0
    with multiprocessing.get_context("forkserver").Pool(workers) as pool:
        pool.map(_burn, [0] * workers)  # start the processes first
        t0 = time.perf_counter()
        pool.map(_burn, [3_000_000] * workers)
        parallel = time.perf_counter() - t0
    return serial / parallel


@contextlib.contextmanager
def one_thread():
    """One BLAS and one numba thread, as in the executor's workers."""
    import numba
    from threadpoolctl import threadpool_limits

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        numba.set_num_threads(threads)


def speedup(runs: int, epochs: int, workers: int, tmp: Path, repeats: int) -> None:
    from xpusim.core.plugins import get_plugin_manager
    from xpusim.core.scheduler import run
    from xpusim.study import run_study
    from xpusim.study.spec import expand

    raw = {"name": "real", "fixed": {"model": "mlp:64-64-10", "epochs": epochs},
           "axes": {"method": ["backprop", "dfa"], "seed": list(range(runs // 2))}}
    study = expand(raw)
    pm = get_plugin_manager()
    run(study.runs[0].config, plugins=pm)  # warm the numba cache and the data set
    serial, local = [], []
    for i in range(repeats):  # alternate, keep the best: the box may be shared
        t0 = time.perf_counter()
        with one_thread():  # the same per-process threading as a worker: a fair baseline
            for r in study.runs:
                run(r.config, plugins=pm)
        serial.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = run_study(study, db=tmp / f"real-{i}.sqlite", executor="local", workers=workers,
                        progress=False)
        local.append(time.perf_counter() - t0)
        assert out.ok == len(study.runs)
    ceiling = available_parallelism(workers)
    print(f"{len(study.runs)} real runs (mlp:64-64-10, {epochs} epochs), best of {repeats}: "
          f"serial loop {min(serial):.2f} s, local executor ({workers} workers, pool start-up "
          f"included) {min(local):.2f} s, speed-up {min(serial) / min(local):.2f}x "
          f"(target >= 1.7x on 2 cores)")
    print(f"  all serial: {', '.join(f'{t:.2f}' for t in serial)} s; "
          f"all local: {', '.join(f'{t:.2f}' for t in local)} s")
    print(f"  parallelism this machine offered just now ({workers} CPU burners in parallel vs "
          f"in a row): {ceiling:.2f}x; executor speed-up / that ceiling: "
          f"{min(serial) / min(local) / ceiling:.0%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trivial", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}, workers: {args.workers}, load average before: "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        overhead(args.trivial, args.workers, Path(tmp))
        speedup(args.runs, args.epochs, args.workers, Path(tmp), args.repeats)


if __name__ == "__main__":
    main()
