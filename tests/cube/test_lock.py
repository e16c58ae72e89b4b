"""The store lock: taking over a stale lock is atomic (never two holders)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import spectm.lock as lock
from spectm.errors import LockedError

ROOT = Path(__file__).resolve().parents[2]

HOLDER = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from spectm.lock import store_lock
with store_lock(Path({store!r})):
    Path({marker!r}).write_text("held")
    time.sleep(60)
"""


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert not psutil.pid_exists(p.pid)
    return p.pid


def _stale_lock(store: Path) -> None:
    lock.lock_path(store).write_text(
        json.dumps({"pid": _dead_pid(), "host": socket.gethostname(), "started": "earlier", "created_ts": 0.0})
    )


def test_two_takers_of_one_stale_lock_never_both_hold_it(tmp_path, monkeypatch):
    """Process A judges the lock stale; before A acts, process B takes the same stale lock
    over and holds it. A must then be refused — not delete B's fresh lock and hold it too."""
    store = tmp_path / "cube.zarr"
    _stale_lock(store)
    marker = tmp_path / "held"
    procs: list[subprocess.Popen] = []
    real = lock._is_stale

    def slow_judgement(info: dict) -> bool:
        stale = real(info)
        if stale and not procs:  # B runs its whole takeover between A's read and A's action
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", HOLDER.format(root=str(ROOT), store=str(store), marker=str(marker))]
                )
            )
            t0 = time.time()
            while not marker.exists():
                assert procs[0].poll() is None, "B could not take the stale lock"
                assert time.time() - t0 < 30
                time.sleep(0.05)
        return stale

    monkeypatch.setattr(lock, "_is_stale", slow_judgement)
    try:
        with pytest.raises(LockedError) as exc, lock.store_lock(store):
            pass
        assert procs and f"PID {procs[0].pid}" in str(exc.value)
        assert json.loads(lock.lock_path(store).read_text())["pid"] == procs[0].pid  # B still holds it
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_stale_lock_is_taken_over_and_released(tmp_path):
    store = tmp_path / "cube.zarr"
    _stale_lock(store)
    with lock.store_lock(store) as p:
        assert json.loads(p.read_text())["pid"] == os.getpid()
    assert not lock.lock_path(store).exists()


def test_live_owner_is_never_taken_over(tmp_path):
    store = tmp_path / "cube.zarr"
    lock.lock_path(store).write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": "now",
                "created_ts": psutil.Process().create_time(),
            }
        )
    )
    with pytest.raises(LockedError, match=f"PID {os.getpid()}"), lock.store_lock(store):
        pass
    assert lock.lock_path(store).exists()
