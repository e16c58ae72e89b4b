"""Benchmark: generate the demo twin (full season, western basin) and measure time, memory, disk.

Usage:  .venv/bin/python benchmarks/bench_twin.py [--dates 2024-06:2024-10] [--out DIR] [--peer-granules 15]

Prints a table: spectm's wall time, peak RSS (resource.getrusage, whole process), bytes on
disk, against the budget (< 180 s, < 2 GB, < 1 GB); and a peer: the same PACE granules
re-written with plain xarray ``to_netcdf`` defaults (decoded float32, no compression),
time and bytes for the first N granules, next to the twin's own files for those granules.
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

import xarray as xr

from spectm.twin import generate_twin


def _dir_bytes(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--region", default="lake_erie_western_basin")
    ap.add_argument("--dates", default="2024-06:2024-10")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--peer-granules", type=int, default=15)
    a = ap.parse_args()
    out = a.out or Path(tempfile.mkdtemp(prefix="bench_twin_"))
    load0 = tuple(round(x, 2) for x in os.getloadavg())
    t0 = time.perf_counter()
    res = generate_twin(a.region, a.dates, data_dir=out, seed=0, force=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    disk = _dir_bytes(out)
    rows = [
        (
            "spectm twin generate (full run)",
            f"{wall:.1f} s",
            f"{peak / 2**30:.2f} GiB",
            f"{disk / 1e6:.0f} MB",
            f"{res.n_granules} granules, {res.n_scenes} S2 scenes; drivers: {res.drivers_source}",
        ),
        ("budget", "< 180 s", "< 2 GiB", "< 1000 MB", ""),
    ]
    n = min(a.peer_granules, len(res.granules))
    peer_dir = Path(tempfile.mkdtemp(prefix="bench_twin_peer_"))
    t1 = time.perf_counter()
    for g in res.granules[:n]:
        tree = xr.open_datatree(g).map_over_datasets(lambda ds: ds.drop_encoding())
        tree.to_netcdf(peer_dir / g.name)
    peer_t = time.perf_counter() - t1
    twin_b = sum(g.stat().st_size for g in res.granules[:n])
    rows.append((f"twin PACE files, first {n}", "(in full run)", "", f"{twin_b / 1e6:.1f} MB", "int16 + deflate 4"))
    rows.append(
        (
            f"peer: xarray to_netcdf defaults, same {n}",
            f"{peer_t:.1f} s (read + write)",
            "",
            f"{_dir_bytes(peer_dir) / 1e6:.1f} MB",
            "decoded float32, no compression",
        )
    )
    w = [max(len(str(r[i])) for r in rows) for i in range(5)]
    hdr = ("what", "time", "peak RSS", "disk", "notes")
    w = [max(w[i], len(hdr[i])) for i in range(5)]
    print(" | ".join(h.ljust(w[i]) for i, h in enumerate(hdr)))
    print("-|-".join("-" * x for x in w))
    for r in rows:
        print(" | ".join(str(c).ljust(w[i]) for i, c in enumerate(r)))
    print(f"phases (s): {res.phase_seconds}")
    print(f"python {sys.version.split()[0]}; cpus {os.cpu_count()}; load avg before {load0}; output in {out}")
    shutil.rmtree(peer_dir)


if __name__ == "__main__":
    main()
