"""``raw/manifest.json``: what a fetch searched, downloaded, skipped and why things failed.

The manifest is the user's proof of what happened, so it must survive a killed
process: every write goes to a temporary file in the same directory followed by
``os.replace`` (atomic on POSIX and Windows), and :class:`Manifest` rewrites it as
items finish (at most every ``flush_interval`` seconds, and always at the end).
A fetch killed at any moment leaves either the previous or the next complete
manifest on disk, never a torn one.

Records are keyed by ``(source, id, asset)``. A rerun replaces the records it
touches and keeps the others, so fetching June and then July yields one manifest
describing both. The per-source counts in ``sources`` are recomputed from the
records on every write, so they can never disagree with the item list.

Counting units (documented in docs/fetch.md): ``searched`` is what the search
returned (granules or STAC items), ``found`` what survived the footprint, tile,
cloud and NRT filters; ``downloaded``/``skipped``/``failed``/``planned`` count files
and ``bytes`` sums the sizes of the local files.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from spectm._version import __version__
from spectm.errors import ConfigError
from spectm.provenance import atomic_write_json
from spectm.redact import redact

Status = Literal["downloaded", "skipped", "failed", "excluded", "planned"]
SizeCheck = Literal["ok", "mismatch", "unknown"]
STATUSES: tuple[str, ...] = ("downloaded", "skipped", "failed", "excluded", "planned")

MANIFEST_NAME = "manifest.json"
_OWN_KEYS = {"spectm_version", "created", "updated", "region", "dates", "generator", "sources", "runs", "items"}


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ManifestEntry:
    """One file (or one excluded search result) and what happened to it."""

    source: str
    collection: str
    id: str
    asset: str
    url: str | None
    path: str | None
    status: Status
    bytes: int = 0
    expected_bytes: int | None = None
    size_check: SizeCheck = "unknown"
    reason: str | None = None
    attempts: int = 0
    seconds: float = 0.0
    checksum: str | None = None  # the catalogue's checksum the file was verified against ("sha256:<hex>")
    quarantine: str | None = None  # where a file that arrived but failed verification was moved

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown manifest status {self.status!r}")
        if self.url is not None:
            self.url = redact(self.url)
        if self.reason is not None:
            self.reason = redact(self.reason)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.id, self.asset)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        return d


@dataclass
class SourceCounts:
    searched: int = 0
    found: int = 0


def save_manifest(path: Path, doc: dict[str, Any]) -> None:
    """Write a whole manifest document atomically: the one writer of ``raw/manifest.json``
    (a fetch through :class:`Manifest`, the twin with its own records)."""
    atomic_write_json(path, doc)


def read_manifest(path: Path) -> dict[str, Any] | None:
    """Read an existing manifest, or None when there is none."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path} is not a readable manifest: {exc}",
            "move it aside (spectm rebuilds it; files on disk are re-verified by size)",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ConfigError(f"{path} is not a spectm manifest (no 'items' list)", "move it aside and rerun")
    return data


@dataclass
class Manifest:
    """An incrementally written ``raw/manifest.json`` (thread-safe)."""

    path: Path
    region: dict[str, Any] = field(default_factory=dict)
    dates: dict[str, str] = field(default_factory=dict)
    generator: str = "fetch"
    flush_interval: float = 0.5
    write_enabled: bool = True

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._entries: dict[tuple[str, str, str], ManifestEntry] = {}
        self._counts: dict[str, SourceCounts] = {}
        self._created = utc_now()
        self._last_flush = 0.0
        self._runs: list[dict[str, Any]] = []
        self._extra: dict[str, Any] = {}  # top-level keys written by others (e.g. the twin's "twin" block)
        old = read_manifest(self.path)
        if old is not None:
            self._extra = {k: v for k, v in old.items() if k not in _OWN_KEYS}
            self._created = old.get("created", self._created)
            self._runs = list(old.get("runs", []))
            for raw in old["items"]:
                try:
                    e = ManifestEntry(**{k: raw.get(k) for k in ManifestEntry.__dataclass_fields__ if k in raw})
                except (TypeError, ValueError):
                    continue  # a record from an incompatible version: the rerun re-creates it
                self._entries[e.key] = e
            for name, c in (old.get("sources") or {}).items():
                self._counts[name] = SourceCounts(int(c.get("searched", 0)), int(c.get("found", 0)))

    # ----------------------------------------------------------------- updates
    def set_search_counts(self, source: str, searched: int, found: int) -> None:
        with self._lock:
            self._counts[source] = SourceCounts(searched, found)
        self.flush(force=True)

    def record(self, entry: ManifestEntry) -> None:
        with self._lock:
            self._entries[entry.key] = entry
        self.flush()

    def record_many(self, entries: Iterable[ManifestEntry]) -> None:
        with self._lock:
            for e in entries:
                self._entries[e.key] = e
        self.flush(force=True)

    def add_run(self, run: dict[str, Any]) -> None:
        with self._lock:
            self._runs.append(run)  # every run is kept: the manifest is the fetch history
        self.flush(force=True)

    def finish_run(self, update: dict[str, Any]) -> None:
        """Complete the latest run record (finish time, counts) and write the manifest."""
        with self._lock:
            if self._runs:
                self._runs[-1].update(update)
        self.flush(force=True)

    def entries(self, source: str | None = None) -> list[ManifestEntry]:
        with self._lock:
            return [e for e in self._entries.values() if source is None or e.source == source]

    # ----------------------------------------------------------------- output
    def summary(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for name in sorted({*self._counts, *(e.source for e in self._entries.values())}):
            c = self._counts.get(name, SourceCounts())
            row = {"searched": c.searched, "found": c.found}
            row.update({s: 0 for s in STATUSES})
            row["bytes"] = 0
            for e in self._entries.values():
                if e.source == name:
                    row[e.status] += 1
                    if e.status in ("downloaded", "skipped"):
                        row["bytes"] += e.bytes
            out[name] = row
        return out

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                **self._extra,
                "spectm_version": __version__,
                "created": self._created,
                "updated": utc_now(),
                "region": self.region,
                "dates": self.dates,
                "generator": self.generator,
                "sources": self.summary(),
                "runs": list(self._runs),
                "items": [e.to_dict() for e in sorted(self._entries.values(), key=lambda e: e.key)],
            }

    def flush(self, force: bool = False) -> None:
        """Write the manifest atomically (rate-limited unless ``force``)."""
        if not self.write_enabled:
            return
        now = time.monotonic()
        if not force and now - self._last_flush < self.flush_interval:
            return
        self._last_flush = now
        # Snapshot and write under one lock, so an older snapshot never overwrites a newer one.
        with self._write_lock:
            save_manifest(self.path, self.to_dict())
