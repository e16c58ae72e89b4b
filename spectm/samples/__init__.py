"""The samples stage: in-situ lake samples (NOAA GLERL CSVs or a user's CSV) to one tidy table.

``ingest_samples`` writes ``insitu/samples.parquet`` (GeoParquet, EPSG:4326) with censoring
made explicit (value = detection limit, ``<var>_censored``, ``<var>_lod``), plus a
rejected-rows report and an ingest report; ``load_samples`` reads the table back.
See docs/samples.md.
"""

from __future__ import annotations

from spectm.samples.ingest import (
    FileSummary,
    IngestResult,
    bundled_files,
    ingest_samples,
    load_samples,
)

__all__ = ["FileSummary", "IngestResult", "bundled_files", "ingest_samples", "load_samples"]
