"""The samples stage: in-situ lake samples (NOAA GLERL CSVs or a user's CSV) to one tidy table.

``ingest_samples`` writes ``insitu/samples.parquet`` (GeoParquet, EPSG:4326) with censoring
made explicit (value = detection limit, ``<var>_censored``, ``<var>_lod``), plus a
rejected-rows report and an ingest report; ``load_samples`` reads the table back.
See docs/samples.md.
"""

from __future__ import annotations

from spectm._lazy import lazy_getattr

# imported on first use, so that `spectm --help` (which imports this package for its CLI) stays light
_EXPORTS = {
    "FileSummary": "spectm.samples.ingest_result",
    "IngestResult": "spectm.samples.ingest_result",
    "bundled_files": "spectm.samples.ingest",
    "ingest_samples": "spectm.samples.ingest",
    "load_samples": "spectm.samples.ingest",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
