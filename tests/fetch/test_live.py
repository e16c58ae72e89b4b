"""Live searches against NASA CMR and Earth Search (skipped by default; run with `-m live`).

Dry runs only: they need the internet but no credentials, and download nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spectm.fetch import fetch

pytestmark = pytest.mark.live


def test_live_pace_search_lake_erie(tmp_path: Path) -> None:
    res = fetch("lake_erie", "2024-08-01:2024-08-03", data_dir=tmp_path, sources=["pace_oci_l2_aop"], dry_run=True)
    s = res.sources["pace_oci_l2_aop"]
    assert s.searched >= s.found >= 1  # about one pass a day sees the lake (docs/pace.md § Search: CMR and earthaccess)
    assert all(e.expected_bytes for e in res.entries if e.status == "planned")


def test_live_earth_search_western_basin(tmp_path: Path) -> None:
    res = fetch(
        "lake_erie_western_basin",
        "2024-08",
        data_dir=tmp_path,
        sources=["s2_earth_search"],
        dry_run=True,
        max_cloud_cover=30,
        max_items=20,
    )
    s = res.sources["s2_earth_search"]
    assert s.searched >= 1 and s.planned == 12 * s.found
