"""Memory after every written slice of one build: find *where* a season build's memory grows.

``bench_cube.py`` gives one peak per process (1 month vs 5 months); this probe prints, after
each slice is written, the process's current RSS and its peak so far (``ru_maxrss``), so a
steady climb (something retained per slice) can be told apart from a one-off spike (the
worst slice). ``--log-length`` overrides distributed's message-log length that spectm sets
for its own LocalCluster (``spectm.cube.scheduler.LEAN_DISTRIBUTED``); distributed's default,
1000, reproduces the per-slice growth described in benchmarks/results/cube.md §2.

    .venv/bin/python benchmarks/probe_cube_slices.py --data-dir /tmp/cube-bench --sensor s2
    .venv/bin/python benchmarks/probe_cube_slices.py --data-dir /tmp/cube-bench --sensor s2 --log-length 1000
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_cube import REGION, ensure_twin  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=Path("/tmp/spectm-bench-season"),
        help="as for bench_cube.py: the twin season is in <data-dir>/season/raw",
    )
    ap.add_argument("--sensor", choices=["pace", "s2"], default="s2")
    ap.add_argument("--dates", default="2024-06-01:2024-10-31")
    ap.add_argument("--scheduler", default="local")
    ap.add_argument("--s2-resolution", type=float, default=60.0)
    ap.add_argument("--s2-chunk", type=int, default=None, help="dask chunk of the S2 reads (default: spectm's)")
    ap.add_argument(
        "--log-length",
        type=int,
        default=None,
        help="distributed.admin.low-level-log-length for spectm's cluster (default: spectm's setting)",
    )
    args = ap.parse_args()

    season = args.data_dir / "season"
    ensure_twin(season)
    import spectm.cube.build as build
    import spectm.cube.scheduler as scheduler

    if args.log_length is not None:
        scheduler.LEAN_DISTRIBUTED["distributed.admin.low-level-log-length"] = args.log_length
    proc, t0, n = psutil.Process(), time.perf_counter(), [0]
    write = build.write_slice

    def write_and_report(path: Path, index: int, ds: object) -> None:
        write(path, index, ds)
        n[0] += 1
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
        print(
            f"slice {n[0]:3d}  rss {proc.memory_info().rss >> 20:5d} MiB  peak {peak:5d} MiB  "
            f"t {time.perf_counter() - t0:6.1f} s",
            flush=True,
        )

    build.write_slice = write_and_report  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        run = Path(tmp)
        os.symlink(season / "raw", run / "raw")
        print(
            f"{args.sensor} {args.dates} scheduler={args.scheduler} "
            f"log-length={scheduler.LEAN_DISTRIBUTED['distributed.admin.low-level-log-length']} "
            f"load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        build.build_cube(
            REGION,
            args.dates,
            data_dir=run,
            sensors=[args.sensor],
            scheduler=args.scheduler,
            resolution=args.s2_resolution if args.sensor == "s2" else None,
            s2_chunk=args.s2_chunk,
        )
        shutil.rmtree(run / "cubes", ignore_errors=True)
    print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
