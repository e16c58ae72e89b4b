"""``spectm features list`` / ``show``: what a feature store holds, and a quick scatter plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spectm.errors import BadInputError
from spectm.join import store
from spectm.join.splits import Items, find_leaks


def _strs(var: object) -> np.ndarray:
    """Zarr v3 strings come back as NumPy StringDType, which does not cast to ``str``."""
    return np.array([str(v) for v in var.values.tolist()], dtype=object)  # type: ignore[attr-defined]


def list_rows(data_dir: Path | str) -> list[tuple]:
    rows = []
    for name in store.list_stores(data_dir):
        m = store.read_manifest(data_dir, name) or {}
        c = m.get("counts", {})
        h = c.get("horizons", {})
        rows.append(
            (
                name,
                m.get("params", {}).get("sensor", "?"),
                m.get("inputs", {}).get("cube", {}).get("region", "?"),
                h.get("current", {}).get("matched", 0),
                h.get("ahead", {}).get("matched", 0),
                c.get("chips", {}).get("total", 0),
                m.get("params", {}).get("split", "?"),
                m.get("created", ""),
            )
        )
    return rows


def tables(data_dir: Path | str, name: str) -> dict[str, pd.DataFrame]:
    """Counts per station, per month and per split (match-ups by horizon), and chips per split."""
    m = store.load_matchups(data_dir, name)
    df = pd.DataFrame(m.drop(columns="geometry"))
    df["month"] = df["date"].astype(str).str[:7]
    out = {}
    for key in ("station", "month", "split"):
        t = df.pivot_table(index=key, columns="horizon", values="sample_id", aggfunc="count", fill_value=0)
        out[key] = t.reindex(columns=[c for c in ("current", "ahead") if c in t.columns]).reset_index()
    ch = store.load_chips(data_dir, name)
    cdf = pd.DataFrame({"split": _strs(ch["split"]), "kind": _strs(ch["kind"])})
    out["chips"] = (
        cdf.pivot_table(index="split", columns="kind", aggfunc="size", fill_value=0).reset_index()
        if len(cdf)
        else pd.DataFrame(columns=["split"])
    )
    un = store.load_unmatched(data_dir, name)
    out["unmatched"] = (
        un.pivot_table(
            index="reason", columns="horizon", values="sample_id", aggfunc="count", fill_value=0
        ).reset_index()
        if len(un)
        else pd.DataFrame(columns=["reason"])
    )
    return out


def chip_leaks(data_dir: Path | str, name: str) -> list[tuple[int, int]]:
    """Pairs of chips in different splits that share pixels on a shared date (must be empty)."""
    ch = store.load_chips(data_dir, name)
    if ch.sizes["chip"] == 0:
        return []
    size = ch.sizes["x"] * float(ch.attrs["resolution_m"])
    x0, y0 = np.asarray(ch["x0"].values), np.asarray(ch["y0"].values)
    days = np.asarray(ch["chip_date"].values).astype("datetime64[D]").astype(np.int64)
    fut = np.asarray(ch["future_date"].values).astype("datetime64[D]")
    fdays = np.where(np.isnat(fut), days[:, -1], fut.astype(np.int64))
    boxes = np.stack([x0, y0 - size, x0 + size, y0], axis=1)
    items = Items.build(boxes, days.min(axis=1), np.maximum(days.max(axis=1), fdays), _strs(ch["split"]))
    return find_leaks(items)


def scatter_png(data_dir: Path | str, name: str, out: Path, index: str | None = None, horizon: str = "current") -> Path:
    """PNG: an index against the label (log axis); censored labels drawn open at their LOD."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    man = store.read_manifest(data_dir, name) or {}
    label = man.get("params", {}).get("label", "pmc_ugL")
    avail = man.get("indices", [])
    index = index or ("ci" if "ci" in avail else (avail[0] if avail else None))
    if index is None or index not in avail:
        raise BadInputError(f"index '{index}' is not in features/{name}", f"use one of: {', '.join(avail) or 'none'}")
    m = store.load_matchups(data_dir, name, horizon=horizon)
    cens = m.get(f"{label}_censored", pd.Series(False, index=m.index)).fillna(False).astype(bool).to_numpy()
    x, y = m[index].to_numpy(float), m[label].to_numpy(float)
    fig, ax = plt.subplots(figsize=(5.5, 4.2), dpi=110)
    ax.scatter(x[~cens], y[~cens], s=18, c="tab:green", label=f"detected (n={int((~cens).sum())})")
    ax.scatter(
        x[cens], y[cens], s=18, facecolors="none", edgecolors="tab:gray", label=f"censored at LOD (n={int(cens.sum())})"
    )
    ax.set_yscale("log")
    ax.set_xlabel(index)
    ax.set_ylabel(label.replace("_ugL", " (µg/L)"))
    ax.set_title(f"features/{name}: {index} vs {label}, {horizon} horizon", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def manifest_brief(man: dict[str, Any]) -> list[tuple[str, str]]:
    i = man.get("inputs", {})
    return [
        (
            "cube",
            f"{i.get('cube', {}).get('path')} ({i.get('cube', {}).get('slices')} slices, "
            f"{i.get('cube', {}).get('first', '')[:10]}..{i.get('cube', {}).get('last', '')[:10]})",
        ),
        ("samples", f"{i.get('samples', {}).get('path')} sha256 {i.get('samples', {}).get('sha256', '')[:12]}"),
        ("key", man.get("key", "")[:16]),
        ("created", man.get("created", "")),
        ("params", ", ".join(f"{k}={v}" for k, v in man.get("params", {}).items())),
    ]
