"""Benchmark: ingest the bundled GLERL files with spectm vs a naive pandas load.

Usage:  .venv/bin/python benchmarks/bench_samples.py [--repeat 5]

The peer is what public loaders do (e.g. HAB-F-Capstone): ``pd.read_csv`` each file
(latin-1 fallback) and ``pd.to_numeric(errors="coerce")`` on particulate microcystin.
The table shows wall time (median of --repeat runs, same process, warm file cache) and
what each approach keeps: rows, PMC values detected, PMC censored cells kept as censored,
and PMC cells turned into NaN without a trace.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from spectm.samples import bundled_files, ingest_samples

PMC = ("Particulate Microcystin (µg/L)", "particulate_microcystin", "Particulate_Microcystin_ugL-1")


def naive() -> dict[str, int]:
    rows = det = lost = 0
    for f in bundled_files():
        try:
            df = pd.read_csv(f)
        except UnicodeDecodeError:
            df = pd.read_csv(f, encoding="latin-1")
        col = next(c for c in df.columns if c in PMC)
        raw = df[col]
        num = pd.to_numeric(raw, errors="coerce")
        rows += len(df)
        det += int(num.notna().sum())
        lost += int((num.isna() & raw.notna()).sum())
    return {"rows": rows, "detected": det, "censored": 0, "lost": lost}


def spectm_ingest(d: Path) -> dict[str, int]:
    r = ingest_samples(data_dir=d, force=True)
    t = r.totals
    return {"rows": t.rows_kept, "detected": t.pmc_detected, "censored": t.pmc_censored, "lost": 0}


def timed(fn, repeat: int) -> tuple[float, dict[str, int]]:  # type: ignore[no-untyped-def]
    times, out = [], {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t_s, s = timed(lambda: spectm_ingest(Path(tmp)), args.repeat)
    t_n, n = timed(naive, args.repeat)
    print(f"{len(bundled_files())} bundled GLERL files, median of {args.repeat} runs")
    print(f"{'loader':<34}{'seconds':>9}{'rows':>7}{'PMC detected':>14}{'PMC censored':>14}{'PMC lost to NaN':>17}")
    print(
        f"{'spectm ingest_samples (+ writes)':<34}{t_s:>9.3f}{s['rows']:>7}{s['detected']:>14}{s['censored']:>14}{s['lost']:>17}"
    )
    print(
        f"{'pandas read_csv + to_numeric':<34}{t_n:>9.3f}{n['rows']:>7}{n['detected']:>14}{n['censored']:>14}{n['lost']:>17}"
    )


if __name__ == "__main__":
    main()
