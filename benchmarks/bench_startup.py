"""Benchmark: how long ``spectm --help`` takes to start, optionally against another source tree.

Usage:  .venv/bin/python benchmarks/bench_startup.py [--repeat 15] [--against DIR]

Every command pays the import of the CLI before it does any work, so moving imports between
layers must not make it slower. Runs alternate between this tree and ``--against`` (e.g. an
older checkout unpacked with ``git archive REV | tar -x -C DIR``), so both see the same load.
The table shows wall and CPU (user + system of the child) seconds, min and median, and the
number of modules each run imports; CPU time is the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE_TREE = Path(__file__).resolve().parents[1]
COUNT = "import sys, runpy; sys.argv = ['spectm', '--help']\ntry:\n    runpy.run_module('spectm', run_name='__main__')\nexcept SystemExit:\n    pass\nprint(len(sys.modules), file=sys.stderr)"


def _run(tree: Path, code: list[str]) -> tuple[float, float, str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "120"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, *code], cwd=tree, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, done.stderr.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--against", type=Path, help="another source tree holding a spectm/ package")
    args = ap.parse_args()
    trees = {"this tree": HERE_TREE}
    if args.against:
        trees["--against"] = args.against.resolve()
    walls: dict[str, list[float]] = {k: [] for k in trees}
    cpus: dict[str, list[float]] = {k: [] for k in trees}
    for _ in range(args.repeat):
        for name, tree in trees.items():
            wall, cpu, _ = _run(tree, ["-m", "spectm", "--help"])
            walls[name].append(wall)
            cpus[name].append(cpu)
    print(f"spectm --help, {args.repeat} runs each, load average {os.getloadavg()[0]:.1f}")
    print(f"{'tree':<10} {'wall min':>9} {'wall med':>9} {'cpu min':>8} {'cpu med':>8} {'modules':>8}")
    for name, tree in trees.items():
        modules = _run(tree, ["-c", COUNT])[2].splitlines()[-1]
        w, c = walls[name], cpus[name]
        print(
            f"{name:<10} {min(w):>8.3f}s {statistics.median(w):>8.3f}s {min(c):>7.3f}s "
            f"{statistics.median(c):>7.3f}s {modules:>8}"
        )


if __name__ == "__main__":
    main()
