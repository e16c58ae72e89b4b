"""Wall time, stage times and peak memory of one whole ``spectm run <pipeline>``.

Runs the pipeline in a child process (the CLI, as a user would), samples the summed RSS of the
child's process tree (psutil, every 2 s: the twin's season workers and the dask workers are
processes) and the 1-minute load average, and writes one JSON next to the stdout log with the
per-stage seconds that ``spectm run`` prints in its final table. Used for the 13-season
figures in benchmarks/README.md:

    .venv/bin/python benchmarks/bench_pipeline.py pipelines/twin_seasons.yaml --data-dir /tmp/seasons \\
        --out benchmarks/results/twin_seasons_run.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil

STAGE_ROW = re.compile(r"^\s*│?\s*(\w+)\s*│\s*(done|skipped|failed)\s*│\s*([\d.]+)\s*│")


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pipeline", type=Path)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="JSON summary; the run's stdout goes to <out>.log")
    ap.add_argument("--every", type=float, default=2.0, help="sampling interval, seconds")
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    log_path = args.out.with_suffix(".log")
    cmd = [sys.executable, "-m", "spectm", "--data-dir", str(args.data_dir), "run", str(args.pipeline)]
    t0 = time.perf_counter()
    peak, loads = 0, []
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
        ps = psutil.Process(proc.pid)
        last_load = 0.0
        while proc.poll() is None:
            peak = max(peak, tree_rss(ps))
            now = time.perf_counter()
            if now - last_load >= 30:
                loads.append(round(psutil.getloadavg()[0], 2))
                last_load = now
            time.sleep(args.every)
    wall = time.perf_counter() - t0
    stages = {}
    for line in log_path.read_text(encoding="utf-8").splitlines():
        m = STAGE_ROW.match(line)
        if m:
            stages[m.group(1)] = {"status": m.group(2), "seconds": float(m.group(3))}
    summary = {
        "command": " ".join(cmd),
        "returncode": proc.returncode,
        "wall_s": round(wall, 1),
        "peak_rss_gib": round(peak / 2**30, 3),
        "load_1min": {"min": min(loads, default=None), "max": max(loads, default=None), "samples": loads},
        "stages": stages,
        "cpus": psutil.cpu_count(),
    }
    args.out.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "load_1min"}, indent=2))
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
