"""A range-capable HTTP file server on 127.0.0.1 with fault injection.

Used by spectm's tests and ``benchmarks/bench_fetch.py`` to run the *real* download
code against a *real* server without the internet (tests never touch the network).
It serves the files under ``root`` with ``GET``/``HEAD``, single ``Range: bytes=a-b``
requests (206 + ``Content-Range``; 416 when unsatisfiable), ``Content-Length`` on
every reply, and an optional bandwidth limit. Faults are injected per path for a
given number of requests:

``reset``        send the headers and a random part of the body, then RST the connection
``503``          answer ``503 Service Unavailable`` (a burst: ``times`` requests in a row)
``short``        promise ``Content-Length`` N, send fewer bytes, close
``stall``        send part of the body, then stop sending for ``stall_s`` seconds
``ignore_range`` answer a ranged request with ``200`` and the whole file
``stale``        answer as if the file were half its size (a replica not yet updated)
``404`` / ``401`` answer that status; ``503`` / ``429`` may carry ``Retry-After: retry_after``

Every file reply carries an ``ETag`` and ``Last-Modified`` derived from the file's
mtime and size (``validators=False`` turns them off), and ``If-Range`` is honoured
(``honour_if_range=False`` imitates a server that ignores it), so tests can change a
file between two requests and see what a resuming client does.

Every request is logged (path, method, Range header, status, bytes sent) so tests can
prove which bytes were sent, e.g. that a resumed download asked for ``bytes=N-``.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class Fault:
    kind: str  # reset | 503 | 429 | short | stall | ignore_range | stale | 404 | 401
    times: int = 1
    stall_s: float = 5.0
    fraction: tuple[float, float] = (0.1, 0.9)  # where in the body reset/short/stall happen
    retry_after: str | None = None  # Retry-After header value sent with 503/429
    methods: tuple[str, ...] = ("GET",)  # the requests it applies to (HEAD too: a failed probe)


@dataclass
class RequestRecord:
    method: str
    path: str
    range: str | None
    status: int
    sent: int
    fault: str | None = None
    authorization: str | None = None  # the Authorization header as received (tests check tokens)


@dataclass
class ServerState:
    root: Path
    rate_bps: float | None = None  # bytes per second per connection; None = unlimited
    seed: int = 0
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    log: list[RequestRecord] = field(default_factory=list)
    validators: bool = True  # send ETag / Last-Modified
    honour_if_range: bool = True

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.rng = random.Random(self.seed)

    def add_fault(self, path: str, fault: Fault) -> None:
        """Inject ``fault`` for the next ``fault.times`` requests of ``path`` ('*' = any path)."""
        with self.lock:
            self.faults.setdefault(path, []).append(fault)

    def take_fault(self, path: str, method: str = "GET") -> Fault | None:
        with self.lock:
            for key in (path, "*"):
                queue = self.faults.get(key)
                if queue and method in queue[0].methods:
                    f = queue[0]
                    f.times -= 1
                    if f.times <= 0:
                        queue.pop(0)
                    return Fault(f.kind, 1, f.stall_s, f.fraction, f.retry_after, f.methods)
        return None

    def requests_for(self, path: str, method: str = "GET") -> list[RequestRecord]:
        with self.lock:
            return [r for r in self.log if r.path == path and r.method == method]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # silence stderr
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _record(self, status: int, sent: int, fault: str | None) -> RequestRecord:
        """Log a request *before* its body goes out, so a client never finishes first."""
        st = self.server.state
        rec = RequestRecord(
            self.command, self._path, self.headers.get("Range"), status, sent, fault, self.headers.get("Authorization")
        )
        with st.lock:
            st.log.append(rec)
        return rec

    def _simple(self, status: int, fault: str | None = None, retry_after: str | None = None) -> None:
        body = f"{status}\n".encode()
        self._record(status, 0, fault)
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self, head: bool) -> None:
        st = self.server.state
        self._path = unquote(urlsplit(self.path).path)
        rel = self._path.lstrip("/")
        target = (st.root / rel).resolve()
        if st.root.resolve() not in target.parents or not target.is_file():
            self._simple(404)
            return
        fault = st.take_fault(self._path, self.command)
        if fault and fault.kind in ("503", "429", "404", "401"):
            self._simple(int(fault.kind), fault.kind, fault.retry_after)
            return
        stat = target.stat()
        size = stat.st_size if not (fault and fault.kind == "stale") else stat.st_size // 2
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        last_modified = formatdate(stat.st_mtime, usegmt=True)
        start, end = 0, size - 1
        status = 200
        rng_header = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if if_range and st.honour_if_range and if_range not in (etag, last_modified):
            rng_header = None  # the file changed: send all of it (RFC 9110 §13.1.5)
        if rng_header and not (fault and fault.kind == "ignore_range"):
            m = _RANGE.match(rng_header.strip())
            if m and (m[1] or m[2]):
                if m[1]:
                    start = int(m[1])
                    end = min(int(m[2]), size - 1) if m[2] else size - 1
                else:  # suffix range: last N bytes
                    start, end = max(0, size - int(m[2])), size - 1
                if start >= size or start > end:
                    self._record(416, 0, None)
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
        length = end - start + 1
        rec = self._record(status, 0, fault.kind if fault else None)
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        if st.validators:
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head:
            return
        cut = length
        if fault and fault.kind in ("reset", "short", "stall"):
            lo, hi = fault.fraction
            with st.lock:
                cut = int(length * st.rng.uniform(lo, hi))
        self._send_body(target, start, cut, rec)
        if fault is None or fault.kind == "ignore_range":
            return
        if fault.kind == "stall":
            time.sleep(fault.stall_s)
        if fault.kind == "reset":
            # SO_LINGER 0 makes close() send RST: the client sees "connection reset by peer".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR) if fault.kind != "reset" else None

    def _send_body(self, target: Path, start: int, length: int, rec: RequestRecord) -> int:
        st = self.server.state
        sent = 0
        # Throttled: small blocks so the limit holds within a file, not just between files.
        block = min(256 * 1024, max(4096, int(st.rate_bps / 20))) if st.rate_bps else 256 * 1024
        t0 = time.perf_counter()
        try:
            with open(target, "rb") as f:
                f.seek(start)
                while sent < length:
                    chunk = f.read(min(block, length - sent))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    rec.sent = sent  # kept current, so a killed client's bytes are counted
                    if st.rate_bps:
                        ahead = sent / st.rate_bps - (time.perf_counter() - t0)
                        if ahead > 0:
                            time.sleep(ahead)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return sent


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: ServerState


class RangeServer:
    """A running server; use as a context manager or call :meth:`stop`."""

    def __init__(self, root: Path, *, port: int = 0, rate_bps: float | None = None, seed: int = 0) -> None:
        self.state = ServerState(root=Path(root), rate_bps=rate_bps, seed=seed)
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.state = self.state
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, rel: str) -> str:
        return f"{self.url}/{rel.lstrip('/')}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> RangeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
