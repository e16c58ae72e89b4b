"""The region and dates of what the last ``spectm fetch`` (or ``spectm twin generate``) wrote.

``spectm build-cube`` and ``spectm train`` run without ``--bbox``/``--dates`` when the data
directory holds exactly one region: the one ``raw/manifest.json`` describes. The manifest's
top-level ``region``/``dates`` are those of the last run; its ``runs`` list keeps one record
per fetch, so fetching June and then July of the same lake gives June to July, and two lakes
fetched into one data directory are a one-line error listing them (the user must choose).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spectm.catalogs import get_region
from spectm.errors import BadInputError, DataNotFoundError, RegionError
from spectm.fetch.manifest import MANIFEST_NAME, read_manifest


def _region_value(region: dict[str, Any], data_dir: Path) -> str:
    """A ``--bbox`` value for a manifest region: its catalog name when it has one, else W,S,E,N."""
    name = str(region.get("name") or "")
    if name:
        try:
            get_region(name, data_dir)
            return name
        except RegionError:
            pass
    bbox = region.get("bbox")
    if not bbox:
        raise DataNotFoundError("raw/manifest.json names no region", "pass --bbox and --dates explicitly")
    return ",".join(f"{float(v):g}" for v in bbox)


def last_fetch(data_dir: Path) -> tuple[str, str]:
    """``(bbox value, dates value)`` of the data in ``<data_dir>/raw`` (see the module docstring).

    Raises:
        DataNotFoundError: no manifest (nothing fetched or generated yet).
        BadInputError: the manifest covers several regions.
    """
    path = Path(data_dir) / "raw" / MANIFEST_NAME
    m = read_manifest(path)
    if m is None:
        raise DataNotFoundError(
            f"{path} does not exist, so there is no region to default to",
            "run 'spectm fetch --bbox REGION --dates RANGE' (or 'spectm twin generate') first, or pass --bbox and --dates",
        )
    region = m.get("region") or {}
    names: dict[str, None] = {}
    spans: list[tuple[str, str]] = []
    for run in m.get("runs") or []:
        rname = str(run.get("region") or "")
        if rname:
            names[rname] = None
        if rname == region.get("name") and ":" in str(run.get("dates", "")):
            a, b = str(run["dates"]).split(":", 1)
            spans.append((a, b))
    if region.get("name"):
        names[str(region["name"])] = None
    if len(names) > 1:
        raise BadInputError(
            f"{path} holds data of several regions ({', '.join(names)})",
            "pass --bbox NAME --dates RANGE for the one to use",
        )
    dates = m.get("dates") or {}
    if dates.get("start") and dates.get("end"):
        spans.append((str(dates["start"]), str(dates["end"])))
    if not spans:
        raise DataNotFoundError(f"{path} names no dates", "pass --dates explicitly")
    start, end = min(a for a, _ in spans), max(b for _, b in spans)
    return _region_value(region, data_dir), f"{start}:{end}"
