"""``join --dry-run``: what ``spectm join`` would build, from metadata alone.

The cube's valid-cell counts, the samples file and the grid tell, for each sample and
horizon, whether it can be matched at all (inside the grid, on water, labelled, a slice
within the time window). Whether a candidate survives the pixel check (cloud, too few
valid cells) needs the reflectance and is what the real join measures; so the plan gives
an upper bound on match-ups and the reasons the others would fail, plus the store's fate
(new, up to date, refused without ``--force``) and the chips it would cut.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spectm.config import JoinSection
from spectm.join import store
from spectm.join.inputs import load_samples_for_join, open_cube
from spectm.join.matchup import HORIZONS, place_samples
from spectm.join.run import is_up_to_date, resolve_params


@dataclass
class JoinPlan:
    name: str
    path: Path
    store_status: str  # "new", "up to date (skipped)", "replaced (--force)", "refused: ..."
    cube: Path
    cube_slices: int
    samples: int  # considered (after the depth filter)
    filtered: dict[str, int]
    candidates: dict[str, int]  # horizon -> samples with a slice in the window (upper bound on match-ups)
    reasons: dict[str, dict[str, int]] = field(default_factory=dict)  # horizon -> reason -> samples
    unlabeled_chips: int = 0


def plan_join(
    name: str | None = None,
    *,
    data_dir: Path | str,
    params: JoinSection | None = None,
    force: bool = False,
    **overrides: Any,
) -> JoinPlan:
    """The plan for :func:`spectm.join.join` with the same arguments; nothing is written."""
    data_dir = Path(data_dir)
    p = resolve_params(params, name=name, **overrides)
    cube = open_cube(data_dir, p.sensor, p.cube)
    samples = load_samples_for_join(data_dir, include_scum=p.include_scum, label=p.label)
    old = store.read_manifest(data_dir, p.name)
    final = store.store_dir(data_dir, p.name)
    if old is None:
        status = "new"
    elif not force and is_up_to_date(old, final, p, cube, samples.sha256):
        status = "up to date (would be skipped)"
    elif force:
        status = "would be replaced (--force)"
    else:
        status = "refused: built from other inputs or parameters (pass --force or another --name)"
    df = samples.frame
    at = place_samples(cube, df, p)
    ldays = cube.local_days
    w = p.time_window_days
    candidates: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    for horizon in HORIZONS:
        why: Counter[str] = Counter()
        n = 0
        for i in range(len(df)):
            reason, _ = at.pre[i]
            target = at.days[i] - (p.lead_days if horizon == "ahead" else 0)
            if reason is None and not (np.abs(ldays - target) <= w).any():
                reason = "no_overpass"
            if reason is None:
                n += 1
            else:
                why[reason] += 1
        candidates[horizon] = n
        reasons[horizon] = dict(sorted(why.items()))
    return JoinPlan(
        name=p.name,
        path=final,
        store_status=status,
        cube=cube.path,
        cube_slices=int(cube.times.size),
        samples=len(df),
        filtered=samples.filtered,
        candidates=candidates,
        reasons=reasons,
        unlabeled_chips=int(p.unlabeled_per_date) * int(cube.times.size),
    )


def plan_rows(plan: JoinPlan) -> list[tuple[str, str]]:
    """(what, would be) rows for the CLI."""
    rows = [
        ("store", str(plan.path)),
        ("store status", plan.store_status),
        ("cube", str(plan.cube)),
        ("cube slices (complete)", str(plan.cube_slices)),
        ("samples considered", str(plan.samples)),
    ]
    if plan.filtered:
        rows.append(("samples left out", ", ".join(f"{k} {v}" for k, v in plan.filtered.items())))
    for h in HORIZONS:
        rows.append((f"{h}: match-up candidates (at most)", str(plan.candidates[h])))
        if plan.reasons[h]:
            rows.append(
                (
                    f"{h}: unmatched before the pixel check",
                    ", ".join(f"{k} {v}" for k, v in plan.reasons[h].items()),
                )
            )
    rows.append(("unlabeled chips (at most)", str(plan.unlabeled_chips)))
    return rows
