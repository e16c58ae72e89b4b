"""Season build in bounded memory: spectm build-cube vs a naive eager peer, 1 month vs 5 months.

Runs each build in a child process and samples the RSS of the whole process tree
(psutil, every 50 ms); prints wall time, peak RSS and the 5-month/1-month ratio.

* spectm: ``build_cube`` (default LocalCluster, 2 GB memory limit, one graph per slice),
  PACE at the region's 1 km grid and Sentinel-2 at ``--s2-resolution`` (default 60 m,
  the twin's native S2 resolution; 20 m costs ~9× the CPU, see benchmarks/results/cube.md).
* peer ("naive"): the common notebook pattern — every PACE granule regridded eagerly with
  pyresample's kd-tree nearest, all slices held in memory, ``xr.concat`` and one ``to_zarr``.

Input: the Lake Erie twin, western basin, June–October 2024 (generated on first use).

    .venv/bin/python benchmarks/bench_cube.py [--data-dir /tmp/spectm-bench-season]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
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
    print(f"twin: {r.n_granules} granules, {r.n_scenes} S2 scenes, {r.bytes_written / 1e6:.0f} MB in {time.perf_counter() - t0:.0f} s")


def child_spectm(data_dir: Path, dates: str, s2_res: float) -> None:
    from spectm.cube import build_cube

    build_cube(REGION, dates, data_dir=data_dir, sensors=["pace"], scheduler="local", memory_limit="2GB")
    build_cube(REGION, dates, data_dir=data_dir, sensors=["s2"], resolution=s2_res, scheduler="local", memory_limit="2GB")


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


def measure(cmd: list[str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        rss = 0
        try:
            for p in [proc, *proc.children(recursive=True)]:
                rss += p.memory_info().rss
        except psutil.Error:
            pass
        peak = max(peak, rss)
        time.sleep(0.05)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stderr.read().decode()[-3000:]}")
    return time.perf_counter() - t0, peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/spectm-bench-season"))
    ap.add_argument("--s2-resolution", type=float, default=60.0)
    ap.add_argument("--child", choices=["spectm", "naive"])
    ap.add_argument("--dates")
    ap.add_argument("--skip-naive", action="store_true")
    args = ap.parse_args()
    if args.child == "spectm":
        return child_spectm(args.data_dir, args.dates, args.s2_resolution)
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
            cmd = [sys.executable, __file__, "--child", tool, "--data-dir", str(run_dir), "--dates", dates,
                   "--s2-resolution", str(args.s2_resolution)]
            wall, peak = measure(cmd)
            size = sum(p.stat().st_size for p in (run_dir / "cubes").rglob("*") if p.is_file()) / 2**20
            rows.append((tool, months, dates, wall, peak, size))
            print(f"  {tool} {months} month(s): {wall:.1f} s, peak RSS {peak:.0f} MiB, cubes {size:.1f} MiB", flush=True)
    print(f"\nregion {REGION}, PACE 1000 m, S2 {args.s2_resolution:g} m (spectm only), twin season {SEASON}")
    print(f"{'tool':8s} {'months':>6s} {'dates':24s} {'wall s':>8s} {'peak RSS MiB':>12s} {'cubes MiB':>9s}")
    for tool, m, d, w, p, s in rows:
        print(f"{tool:8s} {m:6d} {d:24s} {w:8.1f} {p:12.0f} {s:9.1f}")
    for tool in tools:
        one = next(r for r in rows if r[0] == tool and r[1] == 1)
        five = next(r for r in rows if r[0] == tool and r[1] == 5)
        print(f"{tool}: peak RSS 5 months / 1 month = {five[4] / one[4]:.2f}; wall 5/1 = {five[3] / one[3]:.2f}")


if __name__ == "__main__":
    main()
