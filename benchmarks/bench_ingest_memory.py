"""Benchmark: peak memory of ``samples ingest`` on a large junk CSV, streamed vs whole-file.

Usage:  .venv/bin/python benchmarks/bench_ingest_memory.py [--rows 1000000]

The input has the header of a real GLERL file (2024 weekly datashare, 25 columns) and
``--rows`` rows of junk (random short tokens, so every row is rejected at its date). Each
approach runs in its own fresh interpreter; the table shows its peak resident set size
(``ru_maxrss``) and wall time:

* ``spectm`` — :func:`spectm.samples.ingest_samples` (streams the file in blocks of
  ``CHUNK_ROWS`` rows); it refuses the file (no valid row), which is the expected outcome;
* ``whole-file`` (the peer: spectm's previous reader) — read all bytes, decode, parse the
  whole text with ``pd.read_csv(io.StringIO(text))`` and normalize every row in one call.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER_FILE = ROOT / "catalogs" / "insitu" / "glerl" / "2024_WLE_Weekly_Datashare_CSV.csv"

CHILD = r"""
import io, json, resource, sys, time
from pathlib import Path
mode, csv, data = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
t0 = time.perf_counter()
outcome = ""
if mode == "spectm":
    from spectm.errors import SchemaError
    from spectm.samples import ingest_samples
    try:
        ingest_samples([csv], data_dir=data)
        outcome = "written"
    except SchemaError as exc:
        outcome = "refused: " + exc.message[:60]
else:
    import pandas as pd
    from spectm.catalogs import load_stations
    from spectm.samples.ingest import GLERL_TIMEZONE, STATION_TABLE
    from spectm.samples.source_specs import spec_for_glerl
    from spectm.samples.normalize import normalize
    text = csv.read_bytes().decode("utf-8-sig")
    cells = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    spec = spec_for_glerl(csv, list(cells.columns), GLERL_TIMEZONE)
    out = normalize(cells, spec, csv.name, load_stations(STATION_TABLE, data))
    outcome = f"{out.rows_kept} kept, {out.rows_rejected} rejected"
print(json.dumps({"mode": mode, "seconds": time.perf_counter() - t0, "outcome": outcome,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def junk_csv(path: Path, rows: int, seed: int = 0) -> None:
    header = HEADER_FILE.read_text(encoding="utf-8-sig").splitlines()[0]
    n = header.count(",") + 1
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + ".-/"
    pool = ["".join(rng.choices(alphabet, k=rng.randint(1, 9))) for _ in range(5000)]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(header + "\n")
        for _ in range(rows):
            fh.write(",".join(rng.choices(pool, k=n)) + "\n")


def run(mode: str, csv: Path, data: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(csv), str(data)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if proc.returncode != 0:
        return {
            "mode": mode,
            "seconds": float("nan"),
            "peak_rss_mb": float("nan"),
            "outcome": proc.stderr.strip()[-200:],
        }
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "junk.csv"
        t0 = time.perf_counter()
        junk_csv(csv, args.rows)
        print(
            f"junk CSV: {args.rows} rows, {csv.stat().st_size / 1e6:.0f} MB (written in {time.perf_counter() - t0:.0f} s)"
        )
        print("| reader | peak RSS (MB) | wall (s) | outcome |")
        print("|---|---:|---:|---|")
        for mode in ("spectm", "whole-file"):
            r = run(mode, csv, Path(tmp) / f"data-{mode}")
            print(f"| {r['mode']} | {r['peak_rss_mb']:.0f} | {r['seconds']:.1f} | {r['outcome']} |")


if __name__ == "__main__":
    main()
