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

import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import requests

from spectm.console import log
from spectm.fetch.download_task import (
    PARTIAL_SUFFIX,
    DownloadOptions,
    DownloadOutcome,
    DownloadTask,
    Fail,
    Interrupted,
    Retry,
    discard_partial,
    partial_path,
    size_of,
    validators_path,
)
from spectm.fetch.http_request import ProgressCallback, attempt, remote_size, retry_after_seconds
from spectm.fetch.verify import checksum_problem, looks_like_html
from spectm.redact import redact

SessionFactory = Callable[[], requests.Session]


def backoff_delay(attempt: int, opts: DownloadOptions, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform(0, min(max, base * 2**(attempt-1)))."""
    cap = min(opts.backoff_max, opts.backoff * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(0.5 * cap, cap)


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
    out = DownloadOutcome(task=task, status="failed", expected_bytes=task.expected_bytes)
    task.dest.parent.mkdir(parents=True, exist_ok=True)
    expected, kept = _keep_existing(session, task, opts, out)
    if not kept:
        done, expected = _transfer(session, task, expected, opts, out, on_bytes, sleep, stop)
        if done:
            _move_into_place(task, expected, out)
    out.seconds = time.perf_counter() - t0
    return out


def _keep_existing(
    session: requests.Session, task: DownloadTask, opts: DownloadOptions, out: DownloadOutcome
) -> tuple[int | None, bool]:
    """(expected size, whether the file already in place is kept as it is). A file that fails
    its size or checksum check is removed so that it is downloaded again."""
    dest, expected = task.dest, task.expected_bytes
    if opts.force:
        dest.unlink(missing_ok=True)
        discard_partial(dest)
        return expected, False
    if not dest.exists():
        return expected, False
    have = size_of(dest)
    if expected is None:
        # No catalogue size: ask the server before trusting a file we may have cut short.
        remote = remote_size(session, task.url, opts)
        if remote is None and not task.checksum:
            out.status, out.bytes, out.size_check = "skipped", have, "unknown"
            out.reason = "exists; no expected size available to verify it"
            return expected, True
        if remote is not None:
            expected = out.expected_bytes = remote
    if expected is None or have == expected:
        problem = checksum_problem(dest, task.checksum) if task.checksum else None
        if problem is None:
            out.status, out.bytes, out.checksum = "skipped", have, task.checksum
            out.size_check = "ok" if expected is not None else "unknown"
            return expected, True
        log.warning("%s: %s: downloading it again", dest.name, problem)
    else:
        log.warning("%s has %d bytes, expected %s: downloading it again", dest.name, have, expected)
    dest.unlink()
    return expected, False


def _transfer(
    session: requests.Session,
    task: DownloadTask,
    expected: int | None,
    opts: DownloadOptions,
    out: DownloadOutcome,
    on_bytes: ProgressCallback | None,
    sleep: Callable[[float], None],
    stop: threading.Event | None,
) -> tuple[bool, int | None]:
    """Requests until the partial file is complete and verified (True) or the file failed
    (False, ``out.reason`` says why); returns the expected size as last known."""
    part = partial_path(task.dest)
    n = 0
    while True:
        n += 1
        out.attempts = n
        try:
            expected = attempt(session, task, part, expected, opts, out, on_bytes, stop)
            out.checksum = _verify_content(task, part, out)
            return True, expected
        except Fail as exc:
            out.reason, out.http_status = exc.reason, exc.status
            out.bytes = max(0, size_of(part))
            log.info("%s failed: %s", task.dest.name, redact(exc.reason))
            return False, expected
        except (Retry, requests.RequestException, OSError) as exc:
            delay = _retry_delay(exc, n, opts, out, part)
            if delay is None:
                return False, expected
            if stop is not None and stop.wait(delay):
                raise Interrupted(str(task.dest)) from None
            if stop is None:
                sleep(delay)


def _verify_content(task: DownloadTask, part: Path, out: DownloadOutcome) -> str | None:
    """The checksum the complete partial file matched; raises :class:`Retry` (a resumed file
    is fetched whole once) or :class:`Fail` (quarantined) when its content is wrong."""
    problem, verified = _content_problem(task, part, out.content_type)
    if problem is None:
        return verified
    if out.part_resumed:
        # The bytes kept from an earlier request may belong to an older file: start over whole.
        discard_partial(task.dest)
        out.part_resumed = False
        raise Retry(f"{problem} after resuming a partial file; fetching it whole")
    q = _quarantine(task, part)
    out.quarantine, out.size_check = q, "mismatch"
    raise Fail(f"{problem}; quarantined at {q}", out.http_status)


def _retry_delay(exc: BaseException, n: int, opts: DownloadOptions, out: DownloadOutcome, part: Path) -> float | None:
    """Seconds to wait before attempt ``n + 1``, or None when the file has failed (retries
    used up, or the server asks for a longer pause than :attr:`DownloadOptions.retry_after_max`)."""
    reason = redact(_describe(exc))
    if n > opts.retries:
        out.reason = f"gave up after {n} attempts: {reason}"
        out.bytes = max(0, size_of(part))
        log.info("%s failed: %s", out.task.dest.name, out.reason)
        return None
    delay = backoff_delay(n, opts)
    asked = exc.retry_after if isinstance(exc, Retry) else None
    if asked is not None:
        if asked > opts.retry_after_max:
            out.reason = (
                f"{reason}; the server asks to retry after {asked:.0f} s "
                f"(more than {opts.retry_after_max:.0f} s): rerun later"
            )
            out.bytes = max(0, size_of(part))
            return None
        delay = max(delay, asked)
    log.debug("%s: attempt %d failed (%s); retrying in %.2f s", out.task.dest.name, n, reason, delay)
    return delay


def _move_into_place(task: DownloadTask, expected: int | None, out: DownloadOutcome) -> None:
    """Rename the complete partial file to its final name (only at the expected size)."""
    part = partial_path(task.dest)
    size = size_of(part)
    out.expected_bytes = expected
    if expected is not None and size != expected:  # attempt() guarantees this; keep the invariant explicit
        out.size_check, out.reason, out.bytes = "mismatch", f"size {size} != expected {expected}", size
        return
    os.replace(part, task.dest)
    validators_path(task.dest).unlink(missing_ok=True)
    out.status = "downloaded"
    out.bytes = size
    out.size_check = "ok" if expected is not None else "unknown"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, requests.Timeout):
        return f"timeout ({type(exc).__name__})"
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return f"connection error ({type(exc).__name__}: {str(exc)[:120]})"
    return str(exc)[:200] or type(exc).__name__


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


__all__ = [
    "PARTIAL_SUFFIX",
    "BatchReport",
    "DownloadOptions",
    "DownloadOutcome",
    "DownloadTask",
    "Interrupted",
    "backoff_delay",
    "download_all",
    "download_one",
    "partial_path",
    "quarantine_path",
    "retry_after_seconds",
    "validators_path",
]
