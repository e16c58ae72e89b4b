"""``spectm fetch``: PACE OCI through earthaccess, Sentinel-2 through STAC, downloads that never lie.

Public API:

* :func:`fetch` — the whole stage as one call (mirrors ``spectm fetch``);
* :class:`FetchResult` — what it did (per-source counts, manifest records);
* :mod:`spectm.fetch.catalog` — local STAC catalog writers shared with the twin;
* :mod:`spectm.fetch.manifest` — the incremental, atomic ``raw/manifest.json``;
* :mod:`spectm.fetch.download` — the resumable, size-checked downloader.
"""

from __future__ import annotations

from spectm._lazy import lazy_getattr

# imported on first use, so that `spectm --help` (which imports this package for its CLI) stays light
_EXPORTS = {
    "FetchResult": "spectm.fetch.fetch_result",
    "SourceSummary": "spectm.fetch.fetch_result",
    "fetch": "spectm.fetch.api",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
