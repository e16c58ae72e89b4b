"""``spectm join``: in-situ match-ups and the feature store (``features/<name>/``).

Public API::

    from spectm.join import join, load_matchups, load_chips
    res = join("default", data_dir="spectm-data", sensor="pace", time_window_days=1, pixel_window=3)
    res.matchups        # GeoDataFrame: one row per matched sample × horizon
    res.chips           # xarray Dataset: chips (chip, time, band, y, x) + dates, splits

See docs/features.md for the match-up rules, horizons, chip sampling and splits.
"""

from __future__ import annotations

from spectm._lazy import lazy_getattr

# imported on first use: `spectm --help` imports this package for its CLI, and reading a feature
# store (``spectm.join.store``) must not load the join's geospatial stack
_EXPORTS = {
    "join": "spectm.join.run",
    "resolve_params": "spectm.join.run",
    "JoinResult": "spectm.join.join_result",
    "find_leaks": "spectm.join.splits",
    "list_stores": "spectm.join.store",
    "load_chips": "spectm.join.store",
    "load_matchups": "spectm.join.store",
    "load_unmatched": "spectm.join.store",
    "read_manifest": "spectm.join.store",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
