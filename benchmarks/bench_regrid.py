"""Swath → grid regridding: spectm's SwathResampler vs pyresample's kd-tree nearest.

Same granules, same valid pixels, same target grid (EPSG:32617), same radius, all 172
Rrs bands, in one run. Inputs are read into memory first so both sides time only the
resampling (neighbour search + gather). Agreement = fraction of (band, cell) values that
are identical (both NaN counts as identical) and the fraction within 1e-6 sr^-1.

    .venv/bin/python benchmarks/bench_regrid.py                # twin granules (generated if needed)
    .venv/bin/python benchmarks/bench_regrid.py --full-swath   # + a synthetic full-size 1710 × 1272 swath
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# one thread for both tools: pyresample's pykdtree uses OpenMP threads, SciPy's cKDTree runs
# with workers=1 in spectm; set before numpy/pykdtree are imported
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spectm.aoi import parse_bbox
from spectm.cube.flags import L3_MASK_DEFAULT, flagged, mask_bits
from spectm.cube.grid import region_geobox
from spectm.cube.pace_reader import granule_window, open_l2
from spectm.cube.regrid import SwathResampler


def area_def(gb):  # the same grid as a pyresample AreaDefinition
    from pyresample import geometry

    a, (ny, nx) = gb.affine, gb.shape
    return geometry.AreaDefinition(
        "grid", "grid", "grid", str(gb.crs), nx, ny, (a.c, a.f + a.e * ny, a.c + a.a * nx, a.f)
    )


def cases_from_twin(data_dir: Path, region: str) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    files = sorted((data_dir / "raw" / "pace").glob("*.nc"))
    if not files:
        from spectm.twin import generate_twin

        generate_twin(region, "2024-07-01:2024-07-10", data_dir=data_dir, use_samples_stage=False, include_s2=False)
        files = sorted((data_dir / "raw" / "pace").glob("*.nc"))
    out = []
    for f in files:
        g = open_l2(f)
        bits = mask_bits(L3_MASK_DEFAULT, g.flag_table)
        rrs = g.rrs.values
        valid = ~flagged(g.flags.values, bits) & np.isfinite(rrs).any(axis=2)
        out.append((f.name, g.lon.values.astype(np.float64), g.lat.values.astype(np.float64), valid, rrs))
    return out


def full_swath_case(seed: int = 0) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A synthetic swath of real granule size (1710 lines × 1272 pixels, ~1.2 km pixels,
    ~2000 km wide) over the Great Lakes, 172 bands; only the part over the grid is used by
    both tools (pyresample reduces the input to the area, spectm reads the row block)."""
    rng = np.random.default_rng(seed)
    lines, pixels = 1710, 1272
    li, pi = np.meshgrid(np.arange(lines), np.arange(pixels) - pixels / 2, indexing="ij")
    ang = np.radians(13.0)
    dy = li * 1.2 * np.cos(ang) - pi * 1.2 * np.sin(ang)
    dx = li * 1.2 * np.sin(ang) + pi * 1.2 * np.cos(ang)
    lat = 34.0 + dy / 111.0
    lon = -83.0 + dx / (111.0 * np.cos(np.radians(lat)))
    rrs = rng.standard_normal((lines, pixels, 172), dtype=np.float32)
    rrs *= np.float32(0.001)
    rrs += np.float32(0.004)
    valid = rng.random((lines, pixels)) > 0.2
    return ("synthetic full swath 1710x1272", lon, lat, valid, rrs)


def run_case(gb, radius: float, case, repeat: int) -> dict:
    from pyresample import geometry, kd_tree

    name, lon, lat, valid, rrs = case
    r = SwathResampler(gb, radius_m=radius)
    area = area_def(gb)
    ts, tp, tb = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        # what regrid_granule does after reading: cut the row block, search, gather
        win = granule_window_arrays(lon, lat, r.bounds_lonlat)
        if win is None:
            ours = np.full((172, *gb.shape), np.nan, np.float32)
        else:
            rows, cols = win
            idx, _ = r.neighbours(lon[rows, cols], lat[rows, cols], valid[rows, cols])
            ours = r.resample(rrs[rows, cols], idx)
        ts.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        swath = geometry.SwathDefinition(lons=lon[valid], lats=lat[valid])
        theirs = kd_tree.resample_nearest(swath, rrs[valid], area, radius_of_influence=radius, fill_value=np.nan)
        tp.append(time.perf_counter() - t0)
        # the stricter peer: pyresample handed the same row/column block spectm reads
        t0 = time.perf_counter()
        win = granule_window_arrays(lon, lat, r.bounds_lonlat)
        if win is not None:
            rows, cols = win
            v = valid[rows, cols]
            swath = geometry.SwathDefinition(lons=lon[rows, cols][v], lats=lat[rows, cols][v])
            block = kd_tree.resample_nearest(
                swath, rrs[rows, cols][v], area, radius_of_influence=radius, fill_value=np.nan
            )
        tb.append(time.perf_counter() - t0)
    assert win is None or np.array_equal(block, theirs, equal_nan=True)  # cropping changes nothing
    theirs = np.moveaxis(theirs, -1, 0)
    same = (ours == theirs) | (np.isnan(ours) & np.isnan(theirs))
    close = np.isclose(ours, theirs, atol=1e-6, rtol=0, equal_nan=True)
    both = np.isfinite(ours[0]) | np.isfinite(theirs[0])
    fin = np.isfinite(ours) & np.isfinite(theirs)
    return {
        "case": name,
        "spectm_s": min(ts),
        "pyresample_s": min(tp),
        "ratio": min(tp) / min(ts),
        "pyresample_block_s": min(tb),
        "ratio_block": min(tb) / min(ts),
        "identical": float(same.mean()),
        "close": float(close.mean()),
        "identical_observed": float(same[:, both].mean()) if both.any() else float("nan"),
        "cells_with_data": int(both.sum()),
        "cells_only_one": int((np.isfinite(ours[0]) != np.isfinite(theirs[0])).sum()),
        "values": int(same.size),
        "values_identical": int(same.sum()),
        "max_abs_diff": float(np.abs(ours[fin] - theirs[fin]).max()) if fin.any() else 0.0,
    }


def granule_window_arrays(lon, lat, bounds):
    class _G:  # granule_window only needs .lon/.lat with .values
        pass

    g = _G()
    g.lon = type("A", (), {"values": lon})()
    g.lat = type("A", (), {"values": lat})()
    return granule_window(g, bounds)  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/spectm-bench-regrid"))
    ap.add_argument("--region", default="lake_erie_western_basin")
    ap.add_argument("--resolution", type=float, default=1000.0)
    ap.add_argument("--radius", type=float, default=2000.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--full-swath", action="store_true")
    ap.add_argument("--max-granules", type=int, default=0, help="use only the first N twin granules (0: all)")
    args = ap.parse_args()
    gb = region_geobox(parse_bbox(args.region), args.resolution)
    cases = cases_from_twin(args.data_dir, args.region)
    if args.max_granules:
        cases = cases[: args.max_granules]
    if args.full_swath:
        cases.append(full_swath_case())
    skipped = [c[0] for c in cases if c[3].sum() < 10]  # pyresample refuses an empty input
    rows = [run_case(gb, args.radius, c, args.repeat) for c in cases if c[0] not in skipped]
    print(
        f"grid {gb.shape[1]}x{gb.shape[0]} cells @ {args.resolution:g} m, radius {args.radius:g} m, 172 bands, "
        f"best of {args.repeat}, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, load {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'case':48s} {'spectm s':>9s} {'pyresample s':>12s} {'ratio':>6s} {'pyr. block s':>12s} {'ratio':>6s} "
        f"{'identical':>9s} {'|d|<1e-6':>9s} {'ident. obs':>10s} {'max|d|':>8s} {'1-sided':>7s}"
    )
    for r in rows:
        print(
            f"{r['case'][:48]:48s} {r['spectm_s']:9.4f} {r['pyresample_s']:12.4f} {r['ratio']:6.2f} "
            f"{r['pyresample_block_s']:12.4f} {r['ratio_block']:6.2f} "
            f"{r['identical']:9.4f} {r['close']:9.4f} {r['identical_observed']:10.4f} {r['max_abs_diff']:8.2g} "
            f"{r['cells_only_one']:7d}"
        )
    for name in skipped:
        print(f"{name[:48]:48s} skipped: no valid pixel (cloud-covered granule)")
    tw = [r for r in rows if not r["case"].startswith("synthetic")]
    if tw:
        s, p = sum(r["spectm_s"] for r in tw), sum(r["pyresample_s"] for r in tw)
        pb = sum(r["pyresample_block_s"] for r in tw)
        vals, same = sum(r["values"] for r in tw), sum(r["values_identical"] for r in tw)
        print(
            f"{'twin granules total (' + str(len(tw)) + ')':48s} {s:9.4f} {p:12.4f} {p / s:6.2f} {pb:12.4f} {pb / s:6.2f} "
            f"{same / vals:9.4f} {'':9s} {'':10s} {max(r['max_abs_diff'] for r in tw):8.2g} "
            f"{sum(r['cells_only_one'] for r in tw):7d}"
        )
        print(f"load at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
