"""spectm's downloader: resumable, size-checked, bounded, and honest about failures.

earthaccess's ``download`` (0.17) streams with no read timeout, skips existing files
by name only, has no HTTP Range resume and aborts a batch on the first error
(docs/fetch.md). This module is the replacement, built on a plain ``requests``
session (earthaccess's authenticated session for Earthdata, a plain one for STAC):

* one file = one :class:`DownloadTask`; a batch runs on a bounded thread pool with
  one ``requests.Session`` per thread (sessions are not guaranteed thread-safe);
* every request has a connect and a read timeout, so a stalled server becomes a
  retry instead of a hang (earthaccess#1128);
* timeouts, connection resets, short bodies, 429 and 5xx are retried with capped
  exponential backoff and full jitter; 404/410 ("gone": deleted NRT granules,
  earthaccess#1142) and 401/403 fail at once with a reason;
* bytes go to ``<name>.partial``; the server's ``ETag``/``Last-Modified`` at the start of
  the transfer go to ``<name>.partial.json``. An interrupted transfer resumes with
  ``Range: bytes=<have>-`` and ``If-Range``; the reply is trusted only if it is a 206
  whose ``Content-Range`` starts at ``<have>`` and whose validators are unchanged (else the
  partial file is discarded: bytes of an older file must never be glued to a newer one).
  A partial with no validator record is not trusted either;
* ``Retry-After`` (429/503) is honoured; one reply whose size disagrees with the catalogue
  is retried before the file fails;
* a file is renamed into place (atomic ``os.replace``) only after its size equals the
  expected size (UMM-G ``SizeInBytes`` / STAC ``file:size``, else the server's
  ``Content-Length``/``Content-Range`` total), it is not a web page, and it matches the
  catalogue checksum and the caller's format check where there are any
  (:mod:`spectm.fetch.verify`). A file that arrived but fails is quarantined, never kept;
* an existing final file is skipped only when its size (and checksum) match
  (``force=True`` downloads again).
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Literal

import requests

from spectm.console import log
from spectm.fetch.manifest import atomic_write_json
from spectm.fetch.verify import checksum_problem, looks_like_html
from spectm.redact import redact

SessionFactory = Callable[[], requests.Session]
ProgressCallback = Callable[[int], None]

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
_GONE_STATUS = {404, 410}
_AUTH_STATUS = {401, 403}

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


class _Retry(Exception):
    """A transient failure: wait and try again (the partial file is kept unless the raiser removed it)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Interrupted(Exception):
    """The batch is being cancelled (Ctrl-C): stop now, keep the partial file for a resume."""


class _Fail(Exception):
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


def backoff_delay(attempt: int, opts: DownloadOptions, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform(0, min(max, base * 2**(attempt-1)))."""
    cap = min(opts.backoff_max, opts.backoff * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(0.5 * cap, cap)


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


def _size_of(p: Path) -> int:
    try:
        return p.stat().st_size
    except FileNotFoundError:
        return -1


def _read_validators(dest: Path) -> dict[str, str] | None:
    try:
        d = json.loads(validators_path(dest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {k: str(v) for k, v in d.items() if k in ("etag", "last_modified") and v} if isinstance(d, dict) else None


def _discard_partial(dest: Path) -> None:
    partial_path(dest).unlink(missing_ok=True)
    validators_path(dest).unlink(missing_ok=True)


def _content_problem(task: DownloadTask, path: Path, content_type: str | None) -> tuple[str | None, str | None]:
    """(why ``path`` is not the file, checksum verified) — checksum first, then format checks."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as exc:
        return f"cannot read the downloaded file: {exc}", None
    if looks_like_html(head, content_type):
        return "the server sent a web page (a login or error page?) instead of the file", None
    if task.checksum:
        problem = checksum_problem(path, task.checksum)
        if problem:
            return problem, None
    if task.validate is not None:
        problem = task.validate(path)
        if problem:
            return problem, None
    return None, task.checksum


def quarantine_path(task: DownloadTask) -> Path:
    return task.quarantine or task.dest.parent / "quarantine" / task.dest.name


def _quarantine(task: DownloadTask, part: Path) -> Path:
    """Move a file that arrived but failed verification aside, for the user to inspect."""
    q = quarantine_path(task)
    q.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, q)
    validators_path(task.dest).unlink(missing_ok=True)
    return q


def download_one(
    session: requests.Session,
    task: DownloadTask,
    opts: DownloadOptions,
    on_bytes: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
    stop: threading.Event | None = None,
) -> DownloadOutcome:
    """Bring one file to ``task.dest``: skip, resume or download, then verify its size and content.

    ``stop`` (set on Ctrl-C) makes the transfer end between chunks with
    :class:`Interrupted`; the partial file stays for the next run to resume.
    """
    t0 = time.perf_counter()
    dest = task.dest
    part = partial_path(dest)
    expected = task.expected_bytes
    out = DownloadOutcome(task=task, status="failed", expected_bytes=expected)
    dest.parent.mkdir(parents=True, exist_ok=True)

    def done() -> DownloadOutcome:
        out.seconds = time.perf_counter() - t0
        return out

    if opts.force:
        dest.unlink(missing_ok=True)
        _discard_partial(dest)
    elif dest.exists():
        have = _size_of(dest)
        if expected is None:
            # No catalogue size: ask the server before trusting a file we may have cut short.
            remote = _remote_size(session, task.url, opts)
            if remote is None and not task.checksum:
                out.status, out.bytes, out.size_check = "skipped", have, "unknown"
                out.reason = "exists; no expected size available to verify it"
                return done()
            if remote is not None:
                expected = out.expected_bytes = remote
        if expected is None or have == expected:
            problem = checksum_problem(dest, task.checksum) if task.checksum else None
            if problem is None:
                out.status, out.bytes, out.checksum = "skipped", have, task.checksum
                out.size_check = "ok" if expected is not None else "unknown"
                return done()
            log.warning("%s: %s: downloading it again", dest.name, problem)
        else:
            log.warning("%s has %d bytes, expected %s: downloading it again", dest.name, have, expected)
        dest.unlink()

    attempt = 0
    while True:
        attempt += 1
        out.attempts = attempt
        try:
            expected = _attempt(session, task, part, expected, opts, out, on_bytes, stop)
            problem, verified = _content_problem(task, part, out.content_type)
            if problem is not None:
                if out.part_resumed:
                    # The bytes kept from an earlier request may belong to an older file: start over whole.
                    _discard_partial(dest)
                    out.part_resumed = False
                    raise _Retry(f"{problem} after resuming a partial file; fetching it whole")
                q = _quarantine(task, part)
                out.quarantine, out.size_check = q, "mismatch"
                raise _Fail(f"{problem}; quarantined at {q}", out.http_status)
            out.checksum = verified
            break
        except _Fail as exc:
            out.reason, out.http_status = exc.reason, exc.status
            out.bytes = max(0, _size_of(part))
            log.info("%s failed: %s", dest.name, redact(exc.reason))
            return done()
        except (_Retry, requests.RequestException, OSError) as exc:
            reason = redact(_describe(exc))
            if attempt > opts.retries:
                out.reason = f"gave up after {attempt} attempts: {reason}"
                out.bytes = max(0, _size_of(part))
                log.info("%s failed: %s", dest.name, out.reason)
                return done()
            delay = backoff_delay(attempt, opts)
            asked = exc.retry_after if isinstance(exc, _Retry) else None
            if asked is not None:
                if asked > opts.retry_after_max:
                    out.reason = (
                        f"{reason}; the server asks to retry after {asked:.0f} s "
                        f"(more than {opts.retry_after_max:.0f} s): rerun later"
                    )
                    out.bytes = max(0, _size_of(part))
                    return done()
                delay = max(delay, asked)
            log.debug("%s: attempt %d failed (%s); retrying in %.2f s", dest.name, attempt, reason, delay)
            if stop is not None and stop.wait(delay):
                raise Interrupted(str(dest)) from None
            if stop is None:
                sleep(delay)

    size = _size_of(part)
    out.expected_bytes = expected
    if expected is not None and size != expected:  # _attempt guarantees this; keep the invariant explicit
        out.size_check, out.reason, out.bytes = "mismatch", f"size {size} != expected {expected}", size
        return done()
    os.replace(part, dest)
    validators_path(dest).unlink(missing_ok=True)
    out.status = "downloaded"
    out.bytes = size
    out.size_check = "ok" if expected is not None else "unknown"
    return done()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, requests.Timeout):
        return f"timeout ({type(exc).__name__})"
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return f"connection error ({type(exc).__name__}: {str(exc)[:120]})"
    return str(exc)[:200] or type(exc).__name__


def _remote_size(session: requests.Session, url: str, opts: DownloadOptions) -> int | None:
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


def _attempt(
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
    offset = max(0, _size_of(part))
    saved = _read_validators(task.dest) if offset > 0 else None
    if offset > 0 and saved is None:
        # Nothing records which version of the file these bytes came from: they cannot be trusted.
        log.info("%s has no record of the server's file version: starting over", part.name)
        _discard_partial(task.dest)
        offset = 0
    if expected is not None and offset > expected:
        log.warning("%s is longer than expected (%d > %d): starting over", part.name, offset, expected)
        _discard_partial(task.dest)
        offset = 0
    if expected is not None and offset == expected and offset > 0:
        out.part_resumed = True
        return expected  # a previous run finished the bytes but was killed before the rename
    headers = {"Accept-Encoding": "identity"}
    if offset > 0:
        headers["Range"] = f"bytes={offset}-"
        # If-Range: a server whose file changed answers 200 with the whole new file instead (RFC 9110 §13.1.5).
        etag = (saved or {}).get("etag")
        if etag and not etag.startswith("W/"):
            headers["If-Range"] = etag
        elif (saved or {}).get("last_modified"):
            headers["If-Range"] = saved["last_modified"]  # type: ignore[index]
    with session.get(
        task.url, headers=headers, stream=True, timeout=(opts.connect_timeout, opts.read_timeout), allow_redirects=True
    ) as r:
        status = r.status_code
        out.http_status = status
        if status in _GONE_STATUS:
            raise _Fail(f"gone (HTTP {status}): the server no longer has this file", status)
        if status in _AUTH_STATUS:
            raise _Fail(
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
            _discard_partial(task.dest)
            raise _Retry(f"range not satisfiable at offset {offset}: restarting")
        if status in _RETRY_STATUS:
            raise _Retry(f"HTTP {status} from server", retry_after_seconds(r.headers.get("Retry-After")))
        if status >= 400:
            raise _Fail(f"HTTP {status} {r.reason or ''}".strip(), status)

        now = _validators_of(r)
        if offset > 0 and status == 206:
            cr = _parse_content_range(r.headers.get("Content-Range"))
            if cr is None or cr[0] != offset:
                _discard_partial(task.dest)
                raise _Retry(f"bad Content-Range {r.headers.get('Content-Range')!r} for offset {offset}: restarting")
            changed = _changed(saved or {}, now)
            if changed:
                _discard_partial(task.dest)
                raise _Retry(f"the file on the server changed since the partial download began ({changed}): restarting")
            total = cr[2]
            mode = "ab"
            out.part_resumed = True
            if not out.resumed_from:
                out.resumed_from = offset
        elif status == 200:
            if offset > 0:
                log.info("%s: server sent the whole file instead of a range; restarting from byte 0", task.dest.name)
            offset = 0
            cl = r.headers.get("Content-Length")
            total = int(cl) if cl and cl.isdigit() else None
            mode = "wb"
            out.part_resumed = False
        else:
            raise _Retry(f"unexpected HTTP {status}")
        out.content_type = r.headers.get("Content-Type")

        if (
            total is not None
            and expected is not None
            and total != expected
            and not looks_like_html(b"", out.content_type)
        ):
            out.size_mismatches += 1
            if out.size_mismatches == 1:  # one odd reply (a proxy, a replica being replaced): ask again
                raise _Retry(f"the server reported {total} bytes, the catalogue {expected}: asking again")
            raise _Fail(
                f"size mismatch: the server reports {total} bytes, the catalogue says {expected} "
                "(the provider replaced the file and the catalogue record is not updated yet): "
                "rerun later; if it persists, report the granule to the data provider",
                status,
            )
        if mode == "wb":
            atomic_write_json(validators_path(task.dest), now)
        if expected is None or looks_like_html(b"", out.content_type):
            expected = total
        with open(part, mode) as f:
            for chunk in r.iter_content(chunk_size=opts.chunk_size):
                if stop is not None and stop.is_set():
                    raise Interrupted(str(task.dest))
                if chunk:
                    f.write(chunk)
                    out.transferred += len(chunk)
                    if on_bytes is not None:
                        on_bytes(len(chunk))
            f.flush()
            os.fsync(f.fileno())

    size = _size_of(part)
    if expected is None:
        # Neither the catalogue nor the server gave a size (chunked transfer): the content checks decide.
        return None
    if size < expected:
        raise _Retry(f"short body: have {size} of {expected} bytes")
    if size > expected:
        _discard_partial(task.dest)
        raise _Retry(f"too many bytes: have {size}, expected {expected}; restarting")
    return expected


@dataclass
class BatchReport:
    outcomes: list[DownloadOutcome]
    seconds: float

    @property
    def transferred(self) -> int:
        return sum(o.transferred for o in self.outcomes)


def download_all(
    tasks: Iterable[DownloadTask],
    session_factory: SessionFactory,
    opts: DownloadOptions | None = None,
    on_done: Callable[[DownloadOutcome], None] | None = None,
    on_bytes: ProgressCallback | None = None,
) -> BatchReport:
    """Download ``tasks`` on a bounded thread pool; every task yields exactly one outcome.

    ``on_done`` is called from worker threads as each file finishes (the manifest is
    updated there, so a killed run keeps what it completed).
    """
    opts = opts or DownloadOptions()
    tasks = list(tasks)
    local = threading.local()

    def session() -> requests.Session:
        s = getattr(local, "session", None)
        if s is None:
            s = session_factory()
            local.session = s
        return s

    stop = threading.Event()

    def work(task: DownloadTask) -> DownloadOutcome:
        try:
            o = download_one(session(), task, opts, on_bytes, stop=stop)
        except Interrupted:
            raise
        except Exception as exc:  # never lose a task to an unexpected error: report it
            log.debug("unexpected error for %s", redact(task.url), exc_info=True)
            o = DownloadOutcome(task=task, status="failed", reason=f"internal error: {type(exc).__name__}: {exc}")
        if on_done is not None:
            on_done(o)
        return o

    t0 = time.perf_counter()
    outcomes: list[DownloadOutcome] = []
    pool = ThreadPoolExecutor(max_workers=opts.threads, thread_name_prefix="spectm-dl")
    try:
        futures = [pool.submit(work, t) for t in tasks]
        for fut in as_completed(futures):
            outcomes.append(fut.result())
    except BaseException:
        # Ctrl-C (or any error here): stop the workers between chunks instead of waiting
        # for every running transfer to finish; their partial files stay for a resume.
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    order = {id(t): i for i, t in enumerate(tasks)}
    outcomes.sort(key=lambda o: order[id(o.task)])
    return BatchReport(outcomes=outcomes, seconds=time.perf_counter() - t0)
