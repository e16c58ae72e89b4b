"""Wall time of ``spectm evaluate`` on a feature store: per fit, per model, per experiment, in total.

Runs the evaluation of a pipeline's ``evaluate:`` section (``--set key=value`` overrides, YAML
values, dotted keys) on a data directory that already holds the feature store and the pipeline's
pretrain run (``--fresh`` deletes this evaluation's run directory first, so every fit is made
again; complete ablation variant runs are still reused), and prints one table: fits and fit seconds per experiment × model (from each part's sidecar), the variant
pretraining time and the wall time of the whole call.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_evaluate.py --data-dir /tmp/ev \\
        --config pipelines/demo.yaml --set evaluate.seeds='[0, 1]' --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

from spectm.config import Pipeline, load_yaml


def _set(data: dict, dotted: str) -> None:
    key, _, value = dotted.partition("=")
    node = data
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = yaml.safe_load(value)


def summarise(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-fit seconds from the parts' sidecars, and their sums/means per experiment × model."""
    rows = []
    for meta_path in sorted((run_dir / "parts").glob("*.json")):
        meta = json.loads(meta_path.read_text())
        exp = next(e for e in ("label_efficiency", "main", "ablation") if meta["key"].startswith(e + "_"))
        model = meta["key"][len(exp) + 1 :].split("_")[0]
        rows.append(
            {
                "experiment": exp,
                "model": model,
                "seconds": meta["seconds"],
                "cpu_seconds": meta.get("cpu_seconds", float("nan")),
            }
        )
    df = pd.DataFrame(rows)
    table = (
        df.groupby(["experiment", "model"])
        .agg(
            fits=("seconds", "size"),
            wall_sum=("seconds", "sum"),
            wall_mean=("seconds", "mean"),
            cpu_sum=("cpu_seconds", "sum"),
            cpu_mean=("cpu_seconds", "mean"),
        )
        .round(2)
    )
    return df, table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--config", type=Path)
    ap.add_argument("--summary", type=Path, help="only print the per-fit table of an existing evaluate run dir")
    ap.add_argument("--set", action="append", default=[], help="override, e.g. evaluate.seeds=[0,1]")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fresh", action="store_true", help="delete this evaluation's run dir first")
    args = ap.parse_args()
    if args.summary:
        print(summarise(args.summary)[1].to_string())
        return
    if args.data_dir is None or args.config is None:
        ap.error("--data-dir and --config are needed to run an evaluation")
    torch.set_num_threads(args.threads)
    data = load_yaml(args.config)
    for s in args.set:
        _set(data, s)
    pipeline = Pipeline.model_validate(data)
    from spectm.evaluate.run import evaluate_plan, evaluate_run

    if args.fresh:
        old = args.data_dir / "runs" / evaluate_plan(pipeline, args.data_dir)[0]
        if old.exists():
            shutil.rmtree(old)
    t0, c0 = time.perf_counter(), time.process_time()
    res = evaluate_run(pipeline, data_dir=args.data_dir)
    wall = time.perf_counter() - t0
    df, table = summarise(res.run_dir)
    print(
        f"machine: {platform.processor() or platform.machine()}, torch threads {args.threads}, "
        f"torch {torch.__version__}"
    )
    print(f"run {res.run_dir.name} ({res.status}); {res.fitted} fits made, {res.reused} reused")
    print(table.to_string())
    print(
        f"fit seconds total {df['seconds'].sum():.1f} wall, {df['cpu_seconds'].sum():.1f} CPU (process, all "
        f"threads); call wall {wall:.1f} s, CPU {time.process_time() - c0:.1f} s; load average "
        f"{os.getloadavg()[0]:.1f} at the end "
        f"(the rest: variant pretraining, data loading outside fits, report)"
    )


if __name__ == "__main__":
    main()
