"""Memory of build-cube and join over several seasons: 1 season vs N seasons of one twin catalog.

Each measurement runs in a fresh child process (``spectm build-cube`` then ``spectm join``
through the Python API, the LocalCluster as in the pipeline); the peak is the largest sum of
RSS over the child's process tree (psutil, every 0.2 s: the dask workers are processes).
The input is a multi-season twin ``raw/`` (e.g. the ``twin`` stage of
pipelines/twin_seasons.yaml), linked into a scratch data dir per measurement, so each build
starts from an empty ``cubes/``. Prints one line per season count.

    .venv/bin/python benchmarks/bench_seasons.py --data-dir /tmp/seasons/data --seasons 1 4 [--months 6-10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
REGION = "lake_erie_western_basin"
LAST = 2024

CHILD = f"""
import json, sys, time
from spectm.cube.build import build_cube
from spectm.join import join
data, dates = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
res = build_cube("{REGION}", dates, data_dir=data, sensors=["pace"], months=sys.argv[3])
t1 = time.perf_counter()
j = join("bench", data_dir=data, unlabeled_per_date=4)
t2 = time.perf_counter()
print(json.dumps({{"slices": len(res.sensors["pace"].days_written), "cube_s": t1 - t0, "join_s": t2 - t1,
                  "matchups": int(len(j.matchups)), "chips": int(j.chips.sizes["chip"])}}))
"""


def measure(data_dir: Path, n: int, months: str, last: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        (scratch / "raw").symlink_to((data_dir / "raw").resolve())
        (scratch / "insitu").mkdir()
        shutil.copy(data_dir / "insitu" / "samples.parquet", scratch / "insitu" / "samples.parquet")
        dates = f"{last - n + 1}-01:{last}-12"
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(scratch), dates, months],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        ps = psutil.Process(proc.pid)
        peak = 0
        t0 = time.perf_counter()
        while proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, sum(p.memory_info().rss for p in [ps, *ps.children(recursive=True)]))
            time.sleep(0.2)
        out = proc.stdout.read() if proc.stdout else ""
        res = json.loads(out.strip().splitlines()[-1])
        res.update(
            seasons=n,
            dates=dates,
            wall_s=round(time.perf_counter() - t0, 1),
            peak_rss_gib=round(peak / 2**30, 3),
        )
        return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="data dir holding a multi-season twin raw/")
    ap.add_argument("--seasons", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--months", default="6-10", help="season months of the twin (M-N)")
    ap.add_argument("--last", type=int, default=LAST, help="last season (year); N seasons end with it")
    args = ap.parse_args()
    for n in args.seasons:
        print(
            json.dumps(
                {**measure(args.data_dir, n, args.months, args.last), "load_1min": round(psutil.getloadavg()[0], 2)}
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
