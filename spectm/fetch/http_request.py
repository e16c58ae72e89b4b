"""One HTTP request of the downloader: resume or start the partial file, check the reply, write the body.

The rules (see :mod:`spectm.fetch.download` for the whole picture): a partial file is resumed
with ``Range`` and ``If-Range`` only when its validator record exists, and the reply is
trusted only if it is a 206 whose ``Content-Range`` starts at the offset and whose
validators are unchanged; 404/410 and 401/403 fail at once, 429/5xx and short bodies are
retried (:class:`Retry`), one size that disagrees with the catalogue is asked again.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import requests

from spectm.console import log
from spectm.fetch.download_task import (
    DownloadOptions,
    DownloadOutcome,
    DownloadTask,
    Fail,
    Interrupted,
    Retry,
    discard_partial,
    read_validators,
    size_of,
    validators_path,
)
from spectm.fetch.verify import looks_like_html
from spectm.provenance import atomic_write_json

ProgressCallback = Callable[[int], None]

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
_GONE_STATUS = {404, 410}
_AUTH_STATUS = {401, 403}


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or an HTTP date; RFC 9110 §10.2.3)."""
    if not value:
        return None
    v = value.strip()
    if v.isdigit():
        return float(v)
    try:
        when = parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    if not value:
        return None
    m = _CONTENT_RANGE.match(value)
    if not m:
        return None
    total = None if m[3] == "*" else int(m[3])
    return int(m[1]), int(m[2]), total


def remote_size(session: requests.Session, url: str, opts: DownloadOptions) -> int | None:
    """The server's ``Content-Length`` from a HEAD request, or None."""
    try:
        r = session.head(url, allow_redirects=True, timeout=(opts.connect_timeout, opts.read_timeout))
    except requests.RequestException:
        return None
    if r.status_code != 200:
        return None
    cl = r.headers.get("Content-Length")
    return int(cl) if cl and cl.isdigit() else None


def _validators_of(r: requests.Response) -> dict[str, str]:
    out = {}
    if r.headers.get("ETag"):
        out["etag"] = r.headers["ETag"]
    if r.headers.get("Last-Modified"):
        out["last_modified"] = r.headers["Last-Modified"]
    return out


def _changed(old: dict[str, str], new: dict[str, str]) -> str | None:
    """How the server's file differs from the one the partial file was started from, or None."""
    for k in ("etag", "last_modified"):
        if old.get(k) and new.get(k) and old[k] != new[k]:
            return f"{k.replace('_', '-')} changed from {old[k]} to {new[k]}"
    return None


def _resume_point(task: DownloadTask, part: Path, expected: int | None) -> tuple[int, dict[str, str] | None]:
    """(offset to resume from, the validators the partial file was started with)."""
    offset = max(0, size_of(part))
    saved = read_validators(task.dest) if offset > 0 else None
    if offset > 0 and saved is None:
        # Nothing records which version of the file these bytes came from: they cannot be trusted.
        log.info("%s has no record of the server's file version: starting over", part.name)
        discard_partial(task.dest)
        offset = 0
    if expected is not None and offset > expected:
        log.warning("%s is longer than expected (%d > %d): starting over", part.name, offset, expected)
        discard_partial(task.dest)
        offset = 0
    return offset, saved


def _request_headers(offset: int, saved: dict[str, str] | None) -> dict[str, str]:
    headers = {"Accept-Encoding": "identity"}
    if offset > 0:
        headers["Range"] = f"bytes={offset}-"
        # If-Range: a server whose file changed answers 200 with the whole new file instead (RFC 9110 §13.1.5).
        etag = (saved or {}).get("etag")
        last_modified = (saved or {}).get("last_modified")
        if etag and not etag.startswith("W/"):
            headers["If-Range"] = etag
        elif last_modified:
            headers["If-Range"] = last_modified
    return headers


def _refuse_status(
    r: requests.Response, offset: int, expected: int | None, task: DownloadTask, out: DownloadOutcome
) -> int | None:
    """Raise for a status that carries no body to keep; a 416 at a complete partial file
    returns its total (the bytes are all there)."""
    status = r.status_code
    if status in _GONE_STATUS:
        raise Fail(f"gone (HTTP {status}): the server no longer has this file", status)
    if status in _AUTH_STATUS:
        raise Fail(
            f"not authorised (HTTP {status}): check Earthdata credentials "
            "(EARTHDATA_TOKEN or EARTHDATA_USERNAME/EARTHDATA_PASSWORD or ~/.netrc) and accepted EULAs",
            status,
        )
    if status == 416 and offset > 0:
        cr = _parse_content_range(r.headers.get("Content-Range"))
        total = cr[2] if cr else None
        if total is not None and total == offset and (expected is None or expected == total):
            out.part_resumed = True
            return total
        discard_partial(task.dest)
        raise Retry(f"range not satisfiable at offset {offset}: restarting")
    if status in _RETRY_STATUS:
        raise Retry(f"HTTP {status} from server", retry_after_seconds(r.headers.get("Retry-After")))
    if status >= 400:
        raise Fail(f"HTTP {status} {r.reason or ''}".strip(), status)
    return None


def _body_kind(
    r: requests.Response, offset: int, saved: dict[str, str] | None, task: DownloadTask, out: DownloadOutcome
) -> tuple[int | None, str]:
    """(total size the reply announces, file mode): a trusted 206 appends, a 200 starts over."""
    status = r.status_code
    if offset > 0 and status == 206:
        cr = _parse_content_range(r.headers.get("Content-Range"))
        if cr is None or cr[0] != offset:
            discard_partial(task.dest)
            raise Retry(f"bad Content-Range {r.headers.get('Content-Range')!r} for offset {offset}: restarting")
        changed = _changed(saved or {}, _validators_of(r))
        if changed:
            discard_partial(task.dest)
            raise Retry(f"the file on the server changed since the partial download began ({changed}): restarting")
        out.part_resumed = True
        if not out.resumed_from:
            out.resumed_from = offset
        return cr[2], "ab"
    if status == 200:
        if offset > 0:
            log.info("%s: server sent the whole file instead of a range; restarting from byte 0", task.dest.name)
        cl = r.headers.get("Content-Length")
        out.part_resumed = False
        return (int(cl) if cl and cl.isdigit() else None), "wb"
    raise Retry(f"unexpected HTTP {status}")


def _check_total(total: int | None, expected: int | None, out: DownloadOutcome) -> None:
    """One reply whose size disagrees with the catalogue is asked again; a second one fails."""
    if total is None or expected is None or total == expected or looks_like_html(b"", out.content_type):
        return
    out.size_mismatches += 1
    if out.size_mismatches == 1:  # one odd reply (a proxy, a replica being replaced): ask again
        raise Retry(f"the server reported {total} bytes, the catalogue {expected}: asking again")
    raise Fail(
        f"size mismatch: the server reports {total} bytes, the catalogue says {expected} "
        "(the provider replaced the file and the catalogue record is not updated yet): "
        "rerun later; if it persists, report the granule to the data provider",
        out.http_status,
    )


def _write_body(
    r: requests.Response,
    part: Path,
    mode: str,
    opts: DownloadOptions,
    out: DownloadOutcome,
    on_bytes: ProgressCallback | None,
    stop: threading.Event | None,
    dest: Path,
) -> None:
    """Stream the body into the partial file, ending between chunks when ``stop`` is set."""
    with open(part, mode) as f:
        for chunk in r.iter_content(chunk_size=opts.chunk_size):
            if stop is not None and stop.is_set():
                raise Interrupted(str(dest))
            if chunk:
                f.write(chunk)
                out.transferred += len(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
        f.flush()
        os.fsync(f.fileno())


def _complete_size(part: Path, expected: int | None, dest: Path) -> int | None:
    size = size_of(part)
    if expected is None:
        # Neither the catalogue nor the server gave a size (chunked transfer): the content checks decide.
        return None
    if size < expected:
        raise Retry(f"short body: have {size} of {expected} bytes")
    if size > expected:
        discard_partial(dest)
        raise Retry(f"too many bytes: have {size}, expected {expected}; restarting")
    return expected


def attempt(
    session: requests.Session,
    task: DownloadTask,
    part: Path,
    expected: int | None,
    opts: DownloadOptions,
    out: DownloadOutcome,
    on_bytes: ProgressCallback | None,
    stop: threading.Event | None = None,
) -> int | None:
    """One HTTP request; on return the partial file is complete. Returns the known total."""
    offset, saved = _resume_point(task, part, expected)
    if expected is not None and offset == expected and offset > 0:
        out.part_resumed = True
        return expected  # a previous run finished the bytes but was killed before the rename
    timeout = (opts.connect_timeout, opts.read_timeout)
    headers = _request_headers(offset, saved)
    with session.get(task.url, headers=headers, stream=True, timeout=timeout, allow_redirects=True) as r:
        out.http_status = r.status_code
        finished = _refuse_status(r, offset, expected, task, out)
        if finished is not None:
            return finished
        total, mode = _body_kind(r, offset, saved, task, out)
        out.content_type = r.headers.get("Content-Type")
        _check_total(total, expected, out)
        if mode == "wb":
            atomic_write_json(validators_path(task.dest), _validators_of(r))
        if expected is None or looks_like_html(b"", out.content_type):
            expected = total
        _write_body(r, part, mode, opts, out, on_bytes, stop, task.dest)
    return _complete_size(part, expected, task.dest)


__all__ = ["ProgressCallback", "attempt", "remote_size", "retry_after_seconds"]
