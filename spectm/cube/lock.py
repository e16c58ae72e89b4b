"""An exclusive lock file next to a cube store, so two builds never write one store.

The lock is ``<store>.lock`` created with ``O_CREAT | O_EXCL`` (atomic on local and
NFSv3+ file systems) and holds the owner's PID, host and start time. A lock whose
owner is on this host and no longer running is stale (a killed build) and is taken
over with a log message; a live owner, or one on another host, makes the second
build fail with :class:`LockedError` naming the owner and how to proceed.
"""

from __future__ import annotations

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


@contextmanager
def store_lock(store: Path) -> Iterator[Path]:
    """Hold the lock on ``store`` for the duration of the block."""
    p = lock_path(store)
    p.parent.mkdir(parents=True, exist_ok=True)
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "created_ts": psutil.Process().create_time(),
    }
    for _attempt in range(2):
        try:
            fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _read(p)
            if _is_stale(owner):
                log.warning("removing stale lock %s (PID %s is not running)", p, owner.get("pid"))
                p.unlink(missing_ok=True)
                continue
            raise LockedError(
                f"{store.name} is being built by PID {owner.get('pid')} on {owner.get('host')} "
                f"since {owner.get('started')}",
                f"wait for that build to finish; if it is dead on another host, delete {p}",
            ) from None
        with os.fdopen(fd, "w") as fh:
            json.dump(info, fh)
        break
    else:  # pragma: no cover - only when another process races us twice
        raise LockedError(f"could not take the lock {p}", "try again")
    try:
        yield p
    finally:
        if _read(p).get("pid") == os.getpid():
            p.unlink(missing_ok=True)
