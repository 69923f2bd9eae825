"""Start-up time of CLI commands: best of 7 wall-clock and CPU (user + system) times of
`python -m xpusim ARGS`.

    python benchmarks/bench_startup.py              # this checkout
    python benchmarks/bench_startup.py OTHER_DIR    # and another checkout, interleaved

Commands that need no plugins (``--help``) import neither NumPy nor numba; commands that list
plugins and specs import the built-in backends' declarations but no kernel module (numba,
about 0.3 s, loads when a run or a price first uses a kernel). CPU time is the steadier figure
on a shared machine, where wall-clock times grow with the load.
"""
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
DIRS = {"this": str(HERE), **({"other": sys.argv[1]} if len(sys.argv) > 1 else {})}
CASES = ["--help", "study --help", "specs list", "specs show h100-sxm", "methods", "plugins",
         "price --hardware h100-sxm --shape 1,2,3"]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


for args in CASES:
    wall, cpu = dict.fromkeys(DIRS, 1e9), dict.fromkeys(DIRS, 1e9)
    for _ in range(7):
        for k, d in DIRS.items():
            t, c = time.perf_counter(), _cpu()
            subprocess.run([sys.executable, "-m", "xpusim", *args.split()], cwd=d,
                           capture_output=True,
                           env={"XPUSIM_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "/usr/bin:/bin"})
            wall[k] = min(wall[k], time.perf_counter() - t)
            cpu[k] = min(cpu[k], _cpu() - c)
    print(f"xpusim {args:42} " + "   ".join(f"{k} {wall[k]:.2f} s (cpu {cpu[k]:.2f} s)"
                                            for k in DIRS))
