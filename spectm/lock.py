"""An exclusive lock file next to a store, so two processes never write one store.

build-cube holds it on each cube store and fetch on ``raw/``; neither stage owns it, so it
sits with the leaf modules.

The lock is ``<store>.lock`` created with ``O_CREAT | O_EXCL`` (atomic on local and
NFSv3+ file systems) and holds the owner's PID, host and start time. A lock whose
owner is on this host and no longer running is stale (a killed build) and is taken
over with a log message; a live owner, or one on another host, makes the second
build fail with :class:`LockedError` naming the owner and how to proceed.

The takeover is atomic. Deleting a stale lock and creating one's own are two steps, so
two processes that both judged the old lock stale could each delete "it" — the second
deleting the first one's fresh lock — and both go on holding it. Takeovers therefore
run under an exclusive ``flock`` on ``<store>.lock.takeover`` (released by the kernel if
its holder dies, so it can never go stale itself), and, under it, the lock is read again
and removed only if its owner (perhaps another by now) is still dead; the new lock is then created
with ``O_EXCL`` as usual, so a process that creates it in between simply wins.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psutil

from spectm.console import log
from spectm.errors import LockedError


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


def _read(p: Path) -> dict:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _is_stale(info: dict) -> bool:
    if info.get("host") != socket.gethostname():
        return False
    pid = info.get("pid")
    if not isinstance(pid, int):
        return True
    if not psutil.pid_exists(pid):
        return True
    try:  # a recycled PID: the process started after the lock was taken
        started = psutil.Process(pid).create_time()
        return started > float(info.get("created_ts", 0)) + 1.0
    except psutil.Error:
        return True


def _take_over_stale(p: Path) -> bool:
    """Remove the stale lock ``p`` under the takeover guard, after reading it again.

    ``False`` when the lock changed meanwhile (another process took it over first, or its
    owner turned out to be alive): the caller then reports whoever holds it now.
    """
    guard = p.with_name(p.name + ".takeover")
    with open(guard, "a") as g:
        fcntl.flock(g.fileno(), fcntl.LOCK_EX)  # held only for a read and an unlink
        try:
            now = _read(p)  # only a takeover (under this guard) replaces a stale lock, so this is what we remove
            if not now:
                return not p.exists()  # vanished: its owner finished; try to create it again
            if not _is_stale(now):
                return False  # another process took it over first
            log.warning("removing stale lock %s (PID %s is not running)", p, now.get("pid"))
            p.unlink(missing_ok=True)
            return True
        finally:
            fcntl.flock(g.fileno(), fcntl.LOCK_UN)


BUILD_BUSY = (
    "{name} is being built by PID {pid} on {host} since {started}",
    "wait for that build to finish; if it is dead on another host, delete {lock}",
)


@contextmanager
def store_lock(store: Path, *, busy: tuple[str, str] = BUILD_BUSY) -> Iterator[Path]:
    """Hold the lock on ``store`` for the duration of the block.

    ``busy`` is the :class:`LockedError` message and remedy when another process holds it,
    formatted with the owner's ``pid``, ``host``, ``started`` and the store's ``name``,
    ``path`` and ``lock`` (the lock file)."""
    p = lock_path(store)
    p.parent.mkdir(parents=True, exist_ok=True)
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "created_ts": psutil.Process().create_time(),
    }
    for _attempt in range(3):
        try:
            fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _read(p)
            if _is_stale(owner) and _take_over_stale(p):
                continue
            owner = _read(p) or owner
            fields = {k: owner.get(k) for k in ("pid", "host", "started")}
            fields |= {"name": store.name, "path": store, "lock": p}
            raise LockedError(busy[0].format(**fields), busy[1].format(**fields)) from None
        with os.fdopen(fd, "w") as fh:
            json.dump(info, fh)
        break
    else:  # pragma: no cover - only when other processes win the race every time
        raise LockedError(f"could not take the lock {p}", "try again")
    try:
        yield p
    finally:
        if _read(p).get("pid") == os.getpid():
            p.unlink(missing_ok=True)
