"""What the downloader works on: one task, its options, its outcome, and its partial file.

Shared by :mod:`spectm.fetch.download` (the retry loop and the batch) and
:mod:`spectm.fetch.http_request` (one HTTP request), so neither imports the other's
internals: the partial file ``<name>.partial`` and its validator record
``<name>.partial.json`` are named here, once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PARTIAL_SUFFIX = ".partial"


@dataclass
class DownloadOptions:
    """Knobs of the downloader (CLI: ``--threads``, ``--timeout``, ``--retries``, ``--force``)."""

    threads: int = 4
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 5
    backoff: float = 1.0
    backoff_max: float = 30.0
    retry_after_max: float = 300.0  # a server asking for a longer pause fails the file ("rerun later")
    chunk_size: int = 64 << 10  # small enough that a kill loses little, large enough to be fast
    force: bool = False

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ValueError("threads must be >= 1")
        if self.retries < 0:
            raise ValueError("retries must be >= 0")


ContentCheck = Callable[[Path], "str | None"]


@dataclass
class DownloadTask:
    """One remote file to bring to ``dest``.

    ``checksum`` (``"sha256:<hex>"``, see :mod:`spectm.fetch.verify`) and ``validate``
    (a format check returning why the file is wrong, or None) are applied to every
    finished file; one that fails is moved to ``quarantine`` (default
    ``<dest dir>/quarantine/<name>``), never to ``dest``.
    """

    url: str
    dest: Path
    expected_bytes: int | None = None
    key: object = None  # caller's handle (e.g. the manifest key)
    checksum: str | None = None
    validate: ContentCheck | None = None
    quarantine: Path | None = None


@dataclass
class DownloadOutcome:
    task: DownloadTask
    status: Literal["downloaded", "skipped", "failed"]
    bytes: int = 0
    expected_bytes: int | None = None
    size_check: Literal["ok", "mismatch", "unknown"] = "unknown"
    reason: str | None = None
    attempts: int = 0
    seconds: float = 0.0
    transferred: int = 0  # bytes received over the wire in this run
    resumed_from: int = 0  # offset of the first resume in this run (0 = none)
    http_status: int | None = None
    checksum: str | None = None  # the catalogue checksum the file matched
    quarantine: Path | None = None  # where a file that failed verification was moved
    part_resumed: bool = False  # the partial file holds bytes from an earlier request
    size_mismatches: int = 0  # responses whose size disagreed with the catalogue
    content_type: str | None = None


class Retry(Exception):
    """A transient failure: wait and try again (the partial file is kept unless the raiser removed it)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Interrupted(Exception):
    """The batch is being cancelled (Ctrl-C): stop now, keep the partial file for a resume."""


class Fail(Exception):
    """A permanent failure for this file."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def partial_path(dest: Path) -> Path:
    return dest.with_name(dest.name + PARTIAL_SUFFIX)


def validators_path(dest: Path) -> Path:
    """``<name>.partial.json``: the server's ETag/Last-Modified when the partial file was started."""
    return dest.with_name(dest.name + PARTIAL_SUFFIX + ".json")


def size_of(p: Path) -> int:
    """Bytes in ``p``; -1 when it does not exist."""
    try:
        return p.stat().st_size
    except FileNotFoundError:
        return -1


def read_validators(dest: Path) -> dict[str, str] | None:
    try:
        d = json.loads(validators_path(dest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {k: str(v) for k, v in d.items() if k in ("etag", "last_modified") and v} if isinstance(d, dict) else None


def discard_partial(dest: Path) -> None:
    partial_path(dest).unlink(missing_ok=True)
    validators_path(dest).unlink(missing_ok=True)


__all__ = [
    "PARTIAL_SUFFIX",
    "ContentCheck",
    "DownloadOptions",
    "DownloadOutcome",
    "DownloadTask",
    "Fail",
    "Interrupted",
    "Retry",
    "discard_partial",
    "partial_path",
    "read_validators",
    "size_of",
    "validators_path",
]
