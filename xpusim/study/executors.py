"""Where runs execute: in this process, in local processes, or on a Dask cluster.

Every executor calls the same ``execute(task)`` in a worker and yields finished records in
completion order; the driver stores them. Workers never write. Each run is fully determined
by its ``RunConfig`` (seeded streams, one BLAS and one numba thread per worker), so the same
study gives bit-identical numbers on any executor.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..core.errors import XpusimError

Task = tuple[str, dict[str, Any]]  # (hash, RunConfig as a dict)
Record = dict[str, Any]
Runner = Callable[[Any], Any]

EXECUTORS = ("local", "dask", "serial")

_PMS: dict[tuple[str, ...], Any] = {}  # one plugin manager per worker process and plugin set


def _plugin_manager(plugins: tuple[str, ...]) -> Any:
    from ..core.plugins import get_plugin_manager

    if plugins not in _PMS:
        _PMS[plugins] = get_plugin_manager(plugins)
    return _PMS[plugins]


def run_config(config: Any) -> Any:
    """The default runner: ``xpusim.core.scheduler.run`` with a cached plugin manager."""
    from ..core.scheduler import run

    return run(config, plugins=_plugin_manager(tuple(config.plugins)))


def noop_runner(config: Any) -> dict[str, Any]:
    """A runner that trains nothing: a canned result (benchmarks of the study machinery)."""
    return {"status": "ok", "config": {"seed": config.seed}, "final_test_accuracy": 0.0,
            "training": {"energy_j": 0.0, "money_usd": 0.0}}


def _single_thread() -> None:
    """One BLAS and one numba thread per worker: workers = cores, and no thread-count effects."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    try:
        import numba

        numba.set_num_threads(1)
    except Exception:  # noqa: BLE001 - numba missing or its threading layer not started
        pass


def execute(task: Task, runner: Runner | None = None) -> Record:
    """Run one configuration; never raises: a failure becomes a record with its reason."""
    from ..core.results import RunConfig

    digest, cfg = task
    start = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        config = RunConfig(**cfg)
        with warnings.catch_warnings():  # overflow on the way to NaN: the status says it
            warnings.simplefilter("ignore", RuntimeWarning)
            result = (runner or run_config)(config)
        data = result.to_json() if hasattr(result, "to_json") else dict(result)
        got = data.get("config", {}).get("config_hash")
        if got is not None and got != digest:
            raise XpusimError(f"run hash {got} differs from the planned hash {digest} "
                              f"(the spec or a plugin changed between planning and running)")
        status = data.get("status", "ok")
        return {"hash": digest, "status": "ok" if status == "ok" else "diverged",
                "result": data, "failure": data.get("failure"),
                "failed_step": data.get("failed_step"), "error_type": None if status == "ok"
                else "RunDiverged", "wall_time_s": time.perf_counter() - start,
                "worker": worker}
    except Exception as exc:  # noqa: BLE001 - stored as a failed run with its reason
        return {"hash": digest, "status": "error", "result": None,
                "failure": str(exc) if isinstance(exc, XpusimError)
                else f"{type(exc).__name__}: {exc}",
                "failed_step": None, "error_type": type(exc).__name__,
                "wall_time_s": time.perf_counter() - start, "worker": worker}


def _watch_driver(pid: int) -> None:
    """End this worker when the driver is gone (killed with SIGKILL: no orphans left)."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # pragma: no cover - the pid was reused by another user
            os._exit(1)


def _worker_init(driver_pid: int | None = None) -> None:
    import signal
    import threading

    os.environ.setdefault("XPUSIM_STUDY_WORKER", "1")
    if driver_pid is not None:  # a local pool process: Ctrl-C is the driver's to handle
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        threading.Thread(target=_watch_driver, args=(driver_pid,), daemon=True).start()
    _single_thread()


def _execute_in_worker(task: Task, runner: Runner | None = None) -> Record:
    if os.environ.get("XPUSIM_STUDY_WORKER") != "1":  # a Dask worker: set up on first use
        _worker_init()
    return execute(task, runner)


def serial(tasks: Sequence[Task], runner: Runner | None = None, **_: Any) -> Iterator[Record]:
    """In this process, one after another (debugging, tiny studies, overhead benchmark)."""
    from threadpoolctl import threadpool_limits

    try:
        import numba

        threads = numba.get_num_threads()
    except Exception:  # noqa: BLE001
        numba, threads = None, None
    with threadpool_limits(1):
        if numba is not None:
            numba.set_num_threads(1)
        try:
            for task in tasks:
                yield execute(task, runner)
        finally:
            if numba is not None and threads:
                numba.set_num_threads(threads)


def local(tasks: Sequence[Task], runner: Runner | None = None, workers: int | None = None,
          **_: Any) -> Iterator[Record]:
    """A ``ProcessPoolExecutor`` (forkserver on Linux, spawn elsewhere), ``workers`` processes."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    workers = workers or os.cpu_count() or 1
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    pending_tasks = list(tasks)
    pool = ProcessPoolExecutor(max_workers=min(workers, max(len(pending_tasks), 1)),
                               mp_context=ctx, initializer=_worker_init,
                               initargs=(os.getpid(),))
    finished = False
    try:
        # Keep a bounded window in flight so an interrupted study leaves little work behind.
        window = 2 * workers
        running = set()
        it = iter(pending_tasks)
        for task in it:
            running.add(pool.submit(_execute_in_worker, task, runner))
            if len(running) >= window:
                break
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                try:
                    record = fut.result()
                except BrokenProcessPool as exc:  # a worker died (crash, out of memory)
                    raise XpusimError(
                        f"a worker process died ({exc}); the runs finished so far are stored: "
                        f"run the study again to resume, or with --executor serial to see "
                        f"which run crashes") from None
                yield record
                nxt = next(it, None)
                if nxt is not None:
                    running.add(pool.submit(_execute_in_worker, nxt, runner))
        finished = True
    finally:
        if not finished:  # interrupted: results in flight would not be stored; stop now
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()
        pool.shutdown(wait=finished, cancel_futures=True)


def dask(tasks: Sequence[Task], runner: Runner | None = None, workers: int | None = None,
         scheduler: str | None = None, **_: Any) -> Iterator[Record]:
    """Dask distributed: an existing cluster (``scheduler``) or a ``LocalCluster`` of processes."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise XpusimError("--executor dask needs dask.distributed: "
                          "pip install 'dask[distributed]'") from None
    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise XpusimError(f"cannot reach Dask scheduler {scheduler}: {exc}") from None
        else:
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1,
                                   threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.CRITICAL)
            client = Client(cluster)
        try:
            futures = {client.submit(_execute_in_worker, task, runner, key=f"xpusim-{task[0]}",
                                     pure=False): task[0] for task in tasks}
            for fut in as_completed(futures):
                try:
                    record = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: this run failed
                    record = {"hash": futures[fut], "status": "error", "result": None,
                              "failure": f"{type(exc).__name__}: {exc}",
                              "failed_step": None, "error_type": type(exc).__name__,
                              "wall_time_s": None, "worker": None}
                yield record
                fut.release()
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def get(name: str) -> Callable[..., Iterator[Record]]:
    if name not in EXECUTORS:
        from ..core.errors import UnknownNameError

        raise UnknownNameError("executor", name, EXECUTORS)
    return {"local": local, "dask": dask, "serial": serial}[name]
