"""``spectm fetch``: PACE OCI through earthaccess, Sentinel-2 through STAC, downloads that never lie.

Public API:

* :func:`fetch` — the whole stage as one call (mirrors ``spectm fetch``);
* :class:`FetchResult` — what it did (per-source counts, manifest records);
* :mod:`spectm.fetch.catalog` — local STAC catalog writers shared with the twin;
* :mod:`spectm.fetch.manifest` — the incremental, atomic ``raw/manifest.json``;
* :mod:`spectm.fetch.download` — the resumable, size-checked downloader.
"""

from spectm.fetch.api import FetchResult, SourceSummary, fetch

__all__ = ["FetchResult", "SourceSummary", "fetch"]
