"""Test-wide fixtures and the network guard.

No test may reach the internet: every socket connection to an address outside
127.0.0.0/8 / ::1 fails unless the test is marked ``live`` (run with ``-m live``).
Unix sockets (used by dask/multiprocessing) are allowed.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address: object) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    if isinstance(address, tuple) and address:
        host = address[0]
        if host in ("localhost",):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return False


class NetworkBlocked(RuntimeError):
    pass


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address) and self.type == socket.SOCK_DGRAM:
        # a UDP connect sends nothing: it is a route lookup (distributed's get_ip() asks the
        # way to 8.8.8.8 to learn the local IP). Answer as an offline machine does.
        raise OSError(errno.ENETUNREACH, "Network is unreachable (tests are offline)")
    if not _is_local(address):
        raise NetworkBlocked(f"test tried to connect to {address!r}; tests must stay on 127.0.0.1 (mark it 'live')")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_local(address):
        raise NetworkBlocked(f"test tried to connect to {address!r}; tests must stay on 127.0.0.1 (mark it 'live')")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _block_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("live"):
        return
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh spectm data directory, also set as SPECTM_DATA."""
    d = tmp_path / "spectm-data"
    d.mkdir()
    monkeypatch.setenv("SPECTM_DATA", str(d))
    return d


@pytest.fixture
def test_data() -> Path:
    return DATA
