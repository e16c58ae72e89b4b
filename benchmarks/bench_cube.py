"""Season build in bounded memory: spectm build-cube vs a naive eager peer, 1 month vs 5 months;
and (``--chunking CUBE``) the cube's chunk layout against three others.

Each build runs in a fresh child process; its peak RSS is the child's ``ru_maxrss``
(``os.wait4``), with a psutil sample of the process tree every 50 ms as a cross-check.
Prints wall time (and per sensor), peak RSS and the 5-month/1-month ratios.

* spectm: ``build_cube`` (``--scheduler``, default the LocalCluster, 2 GB memory limit, one
  graph per slice), PACE at the region's 1 km grid and Sentinel-2 at ``--s2-resolution``
  (default 60 m, the twin's native S2 resolution; 20 m is far slower, docs/cube.md).
* peer ("naive"): the common notebook pattern — every PACE granule regridded eagerly with
  pyresample's kd-tree nearest, all slices held in memory, ``xr.concat`` and one ``to_zarr``.

Input: the Lake Erie twin, western basin, June–October 2024, in ``<data-dir>/season/raw``
(generated on first use). Results: benchmarks/results/cube.md.

    .venv/bin/python benchmarks/bench_cube.py --data-dir /tmp/cube-bench [--skip-naive] [--scheduler threads]
    .venv/bin/python benchmarks/bench_cube.py --data-dir /tmp/work --chunking <5-month>/cubes/<region>_pace.zarr
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REGION = "lake_erie_western_basin"
SEASON = "2024-06:2024-10"
RANGES = {1: "2024-06-01:2024-06-30", 5: "2024-06-01:2024-10-31"}


def ensure_twin(data_dir: Path) -> None:
    if (data_dir / "raw" / "catalog" / "catalog.json").exists():
        return
    from spectm.twin import generate_twin

    t0 = time.perf_counter()
    r = generate_twin(REGION, SEASON, data_dir=data_dir, use_samples_stage=False)
    print(
        f"twin: {r.n_granules} granules, {r.n_scenes} S2 scenes, {r.bytes_written / 1e6:.0f} MB in {time.perf_counter() - t0:.0f} s"
    )


def child_spectm(
    data_dir: Path, dates: str, s2_res: float, scheduler: str = "local", log_length: int | None = None
) -> None:
    from spectm.cube import build_cube
    from spectm.cube.scheduler import LEAN_DISTRIBUTED

    if log_length is not None:  # ablation: distributed's own default is 1000
        LEAN_DISTRIBUTED["distributed.admin.low-level-log-length"] = log_length

    for sensor, res in (("pace", None), ("s2", s2_res)):
        t0 = time.perf_counter()
        r = build_cube(
            REGION, dates, data_dir=data_dir, sensors=[sensor], resolution=res, scheduler=scheduler, memory_limit="2GB"
        ).sensors[sensor]
        report(f"{sensor}_s", time.perf_counter() - t0)
        report(f"{sensor}_days", len(r.days_written))
        report(f"{sensor}_items", r.items_used)


def report(key: str, value: float) -> None:
    """One ``key=value`` line on stdout for the parent (the child's own figures)."""
    print(f"{key}={value}", flush=True)


def child_naive(data_dir: Path, dates: str) -> None:
    import numpy as np
    import xarray as xr
    from pyresample import geometry, kd_tree

    from spectm.aoi import parse_bbox
    from spectm.cube import catalog
    from spectm.cube.flags import L3_MASK_DEFAULT, flagged, mask_bits
    from spectm.cube.grid import region_geobox
    from spectm.cube.pace_reader import open_l2
    from spectm.dates import parse_dates

    aoi = parse_bbox(REGION)
    gb = region_geobox(aoi, 1000)
    a, (ny, nx) = gb.affine, gb.shape
    area = geometry.AreaDefinition("g", "g", "g", str(gb.crs), nx, ny, (a.c, a.f + a.e * ny, a.c + a.a * nx, a.f))
    scan = catalog.scan(data_dir, "pace", aoi, parse_dates(dates))
    slices = []
    for _day, items in scan.by_day.items():
        g = open_l2(catalog.asset_path(items[0], "data"))
        rrs = g.rrs.values
        valid = ~flagged(g.flags.values, mask_bits(L3_MASK_DEFAULT, g.flag_table)) & np.isfinite(rrs).any(axis=2)
        out = np.full((ny, nx, rrs.shape[2]), np.nan, np.float32)
        if valid.sum() >= 10:
            sw = geometry.SwathDefinition(lons=g.lon.values[valid], lats=g.lat.values[valid])
            out = kd_tree.resample_nearest(sw, rrs[valid], area, radius_of_influence=2000, fill_value=np.nan)
        slices.append(xr.DataArray(out, dims=("y", "x", "wavelength")))
    cube = xr.concat(slices, dim="time").to_dataset(name="rrs")
    cube.to_zarr(data_dir / "cubes" / "naive_pace.zarr", mode="w", zarr_format=3, consolidated=False)
    report("pace_days", len(slices))


def measure(cmd: list[str]) -> tuple[float, float, float, dict[str, float]]:
    """Run ``cmd`` as a fresh process: (wall s, kernel peak RSS MiB, sampled tree peak MiB, child figures).

    The kernel figure is the child's ``ru_maxrss`` from ``os.wait4`` (exact, this child only);
    the sampled one adds any grandchildren (psutil every 50 ms) as a cross-check. Output goes
    to files, not pipes, so a chatty child can never block.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, env=env)
        ps = psutil.Process(proc.pid)
        peak = 0
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            rss = 0
            try:
                for p in [ps, *ps.children(recursive=True)]:
                    rss += p.memory_info().rss
            except psutil.Error:
                pass
            peak = max(peak, rss)
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{cmd} failed:\n{err.read().decode()[-3000:]}")
        figures = {}
        for line in out.read().decode().splitlines():
            m = re.fullmatch(r"([a-z0-9_]+)=([-+0-9.eE]+)", line.strip())
            if m:
                figures[m.group(1)] = float(m.group(2))
    return wall, ru.ru_maxrss / 1024, peak / 2**20, figures


CHUNKINGS = {
    # name: (time, wavelength, y, x); -1 = the whole axis
    "spectm (1, all, 64, 64)": (1, -1, 64, 64),
    "per band image (1, 1, all, all)": (1, 1, -1, -1),
    "time series (all, all, 8, 8)": (-1, -1, 8, 8),
    "compromise (16, all, 32, 32)": (16, -1, 32, 32),
}


def touched(extent: list[tuple[int, int]], chunks: tuple[int, ...]) -> int:
    """How many stored chunks a read of ``[start, stop)`` per axis touches."""
    n = 1
    for (a, b), k in zip(extent, chunks, strict=True):
        n *= (b - 1) // k - a // k + 1
    return n


def bench_chunking(cube: Path, work: Path, n: int, seed: int = 0) -> None:
    """Re-store ``rrs`` of a season cube under other chunkings; time a pixel's season and 8×8 chips.

    Reads go through zarr (decompression included, xarray overhead excluded), on a warm page
    cache; ``chunks`` is how many stored chunks one read touches, ``MB`` the bytes they hold
    uncompressed (machine-independent; mean over the random chip positions).
    """
    import numpy as np
    import xarray as xr
    import zarr

    src = xr.open_zarr(cube, consolidated=False)["rrs"]
    nt, nb, ny, nx = src.shape
    rng = np.random.default_rng(seed)
    cells = [(int(rng.integers(0, ny)), int(rng.integers(0, nx))) for _ in range(n)]
    chips = [(int(rng.integers(0, nt)), int(rng.integers(0, ny - 8)), int(rng.integers(0, nx - 8))) for _ in range(n)]
    print(f"\nchunking: rrs {nt} days x {nb} bands x {ny} x {nx} (float32, zstd); {n} random reads each, median")
    print(
        f"{'layout':34s} {'MiB disk':>8s} {'write s':>7s} | {'series ms':>9s} {'chunks':>6s} {'MB':>6s} | "
        f"{'chip ms':>7s} {'chunks':>6s} {'MB':>6s}"
    )
    for name, c in CHUNKINGS.items():
        chunks = tuple(full if k == -1 else min(k, full) for k, full in zip(c, (nt, nb, ny, nx), strict=True))
        path = work / (name.split(" ")[0] + ".zarr")
        shutil.rmtree(path, ignore_errors=True)
        t0 = time.perf_counter()
        ds = src.chunk(dict(zip(src.dims, chunks, strict=True))).to_dataset()
        ds["rrs"].encoding = {"chunks": chunks}
        ds.drop_vars([v for v in ds.coords if v not in ds.dims]).to_zarr(
            path, mode="w", zarr_format=3, consolidated=False
        )
        wsec = time.perf_counter() - t0
        arr = zarr.open_array(path / "rrs", mode="r")
        disk = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20
        chunk_mb = float(np.prod(chunks)) * 4 / 1e6
        ts, tc = [], []
        for (y, x), (t, cy, cx) in zip(cells, chips, strict=True):
            t0 = time.perf_counter()
            arr[:, :, y, x]
            ts.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            arr[t, :, cy : cy + 8, cx : cx + 8]
            tc.append(time.perf_counter() - t0)
        n_series = touched([(0, nt), (0, nb), (0, 1), (0, 1)], chunks)
        n_chip = float(
            np.mean([touched([(t, t + 1), (0, nb), (cy, cy + 8), (cx, cx + 8)], chunks) for t, cy, cx in chips])
        )
        print(
            f"{name:34s} {disk:8.1f} {wsec:7.1f} | {np.median(ts) * 1e3:9.1f} {n_series:6d} "
            f"{n_series * chunk_mb:6.1f} | {np.median(tc) * 1e3:7.1f} {n_chip:6.2f} {n_chip * chunk_mb:6.1f}"
        )
        shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/spectm-bench-season"))
    ap.add_argument("--s2-resolution", type=float, default=60.0)
    ap.add_argument("--child", choices=["spectm", "naive"])
    ap.add_argument("--dates")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--scheduler", default="local", help="spectm's dask scheduler: local (default), threads, ...")
    ap.add_argument(
        "--log-length",
        type=int,
        default=None,
        help="ablation: distributed.admin.low-level-log-length of spectm's cluster (default: spectm's)",
    )
    ap.add_argument(
        "--chunking",
        type=Path,
        metavar="CUBE",
        help="only the chunking benchmark, on this PACE cube (e.g. the 5-month one)",
    )
    ap.add_argument("--reads", type=int, default=30, help="random reads per layout (--chunking)")
    args = ap.parse_args()
    if args.chunking:
        return bench_chunking(args.chunking, args.data_dir, args.reads)
    if args.child == "spectm":
        return child_spectm(args.data_dir, args.dates, args.s2_resolution, args.scheduler, args.log_length)
    if args.child == "naive":
        return child_naive(args.data_dir, args.dates)
    season = args.data_dir / "season"
    ensure_twin(season)
    rows = []
    tools = ["spectm"] + ([] if args.skip_naive else ["naive"])
    for tool in tools:
        for months, dates in RANGES.items():
            run_dir = args.data_dir / f"{tool}_{months}m"
            shutil.rmtree(run_dir, ignore_errors=True)
            run_dir.mkdir(parents=True)
            os.symlink(season / "raw", run_dir / "raw")
            cmd = [
                sys.executable,
                __file__,
                "--child",
                tool,
                "--data-dir",
                str(run_dir),
                "--dates",
                dates,
                "--s2-resolution",
                str(args.s2_resolution),
                "--scheduler",
                args.scheduler,
            ]
            if args.log_length is not None and tool == "spectm":
                cmd += ["--log-length", str(args.log_length)]
            print(f"  {tool} {months} month(s) ... (load {os.getloadavg()[0]:.2f})", flush=True)
            wall, peak, sampled, fig = measure(cmd)
            size = sum(p.stat().st_size for p in (run_dir / "cubes").rglob("*") if p.is_file()) / 2**20
            rows.append((tool, months, dates, wall, peak, sampled, size, fig))
            print(
                f"  {tool} {months} month(s): {wall:.1f} s, peak RSS {peak:.0f} MiB (sampled {sampled:.0f}), "
                f"cubes {size:.1f} MiB, {fig}, load after {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    print(
        f"\nregion {REGION}, PACE 1000 m, S2 {args.s2_resolution:g} m (spectm only), twin season {SEASON}, "
        f"spectm scheduler {args.scheduler}"
        + (f", log length {args.log_length}" if args.log_length is not None else "")
    )
    print(
        f"{'tool':7s} {'months':>6s} {'dates':22s} {'wall s':>7s} {'PACE s':>7s} {'S2 s':>7s} {'days P/S2':>9s} "
        f"{'peak RSS MiB':>12s} {'sampled':>7s} {'cubes MiB':>9s}"
    )
    for tool, m, d, w, p, sp, s, f in rows:
        days = f"{f.get('pace_days', 0):.0f}/{f.get('s2_days', 0):.0f}"
        print(
            f"{tool:7s} {m:6d} {d:22s} {w:7.1f} {f.get('pace_s', float('nan')):7.1f} {f.get('s2_s', float('nan')):7.1f} "
            f"{days:>9s} {p:12.0f} {sp:7.0f} {s:9.1f}"
        )
    for tool in tools:
        one = next(r for r in rows if r[0] == tool and r[1] == 1)
        five = next(r for r in rows if r[0] == tool and r[1] == 5)
        print(f"{tool}: peak RSS 5 months / 1 month = {five[4] / one[4]:.2f}; wall 5/1 = {five[3] / one[3]:.2f}")


if __name__ == "__main__":
    main()
