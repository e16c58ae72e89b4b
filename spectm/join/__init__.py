"""``spectm join``: in-situ match-ups and the feature store (``features/<name>/``).

Public API::

    from spectm.join import join, load_matchups, load_chips
    res = join("default", data_dir="spectm-data", sensor="pace", time_window_days=1, pixel_window=3)
    res.matchups        # GeoDataFrame: one row per matched sample × horizon
    res.chips           # xarray Dataset: chips (chip, time, band, y, x) + dates, splits

See docs/features.md for the match-up rules, horizons, chip sampling and splits.
"""

from __future__ import annotations

from spectm.join.join import join, resolve_params
from spectm.join.join_result import JoinResult
from spectm.join.splits import find_leaks
from spectm.join.store import (
    list_stores,
    load_chips,
    load_matchups,
    load_unmatched,
    read_manifest,
)

__all__ = [
    "JoinResult",
    "find_leaks",
    "join",
    "list_stores",
    "load_chips",
    "load_matchups",
    "load_unmatched",
    "read_manifest",
    "resolve_params",
]
