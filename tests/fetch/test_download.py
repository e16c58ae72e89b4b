"""The downloader against a real range-capable HTTP server on 127.0.0.1 with injected faults.

Invariant checked after every fault: each file is either complete and size-verified
(bytes identical to the source) or reported failed with a reason — never a corrupt
file marked done.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests

from spectm.fetch.download import (
    DownloadOptions,
    DownloadTask,
    download_all,
    download_one,
    partial_path,
    validators_path,
)
from spectm.fetch.testserver import Fault, RangeServer

SIZE = 300_000


def _opts(**kw: object) -> DownloadOptions:
    base = dict(
        threads=2, connect_timeout=2.0, read_timeout=1.0, retries=4, backoff=0.01, backoff_max=0.05, chunk_size=16384
    )
    base.update(kw)
    return DownloadOptions(**base)  # type: ignore[arg-type]


@pytest.fixture
def served(tmp_path: Path):
    root = tmp_path / "srv"
    root.mkdir()
    rng = __import__("random").Random(7)
    files = {}
    for i in range(3):
        data = rng.randbytes(SIZE + i * 1000)
        (root / f"f{i}.nc").write_bytes(data)
        files[f"f{i}.nc"] = data
    with RangeServer(root, seed=3) as srv:
        yield srv, files


def _task(srv: RangeServer, name: str, dest_dir: Path, size: int | None) -> DownloadTask:
    return DownloadTask(url=srv.url_for(name), dest=dest_dir / name, expected_bytes=size)


def _assert_invariant(outcomes, files) -> None:
    for o in outcomes:
        if o.status in ("downloaded", "skipped"):
            assert o.task.dest.read_bytes() == files[o.task.dest.name], "a file marked done is corrupt"
            assert o.size_check == "ok"
            assert not partial_path(o.task.dest).exists()
        else:
            assert o.reason
            assert not o.task.dest.exists(), "a failed file must not sit at its final name"


def test_plain_download_and_skip_existing(served, tmp_path: Path) -> None:
    srv, files = served
    out = tmp_path / "out"
    tasks = [_task(srv, n, out, len(d)) for n, d in files.items()]
    rep = download_all(tasks, requests.Session, _opts())
    assert [o.status for o in rep.outcomes] == ["downloaded"] * 3
    _assert_invariant(rep.outcomes, files)
    n_get = len([r for r in srv.state.log if r.method == "GET"])
    rep2 = download_all([_task(srv, n, out, len(d)) for n, d in files.items()], requests.Session, _opts())
    assert [o.status for o in rep2.outcomes] == ["skipped"] * 3
    assert len([r for r in srv.state.log if r.method == "GET"]) == n_get  # nothing fetched again


@pytest.mark.parametrize("kind", ["reset", "short", "stall", "503"])
def test_faults_recover_and_verify(served, tmp_path: Path, kind: str) -> None:
    srv, files = served
    srv.state.add_fault("/f0.nc", Fault(kind, times=3 if kind == "503" else 1, stall_s=3.0))
    srv.state.add_fault("/f1.nc", Fault(kind, times=2 if kind == "503" else 1, stall_s=3.0))
    out = tmp_path / "out"
    rep = download_all([_task(srv, n, out, len(d)) for n, d in files.items()], requests.Session, _opts())
    assert all(o.status == "downloaded" for o in rep.outcomes), [(o.status, o.reason) for o in rep.outcomes]
    _assert_invariant(rep.outcomes, files)
    o0 = rep.outcomes[0]
    assert o0.attempts >= 2
    if kind in ("reset", "short", "stall"):
        # the retry resumed from the bytes already on disk rather than starting over
        ranged = [r for r in srv.state.requests_for("/f0.nc") if r.range]
        assert ranged and ranged[0].status == 206, srv.state.requests_for("/f0.nc")
        assert o0.resumed_from > 0
        assert o0.transferred < 2 * SIZE


def test_persistent_faults_fail_without_corrupt_file(served, tmp_path: Path) -> None:
    srv, files = served
    srv.state.add_fault("/f0.nc", Fault("short", times=100))
    srv.state.add_fault("/f1.nc", Fault("503", times=100))
    out = tmp_path / "out"
    rep = download_all([_task(srv, n, out, len(d)) for n, d in files.items()], requests.Session, _opts(retries=2))
    st = [o.status for o in rep.outcomes]
    assert st == ["failed", "failed", "downloaded"]
    assert "gave up after 3 attempts" in rep.outcomes[0].reason
    assert "503" in rep.outcomes[1].reason
    _assert_invariant(rep.outcomes, files)
    # the short bodies left a partial file that a later run can resume
    assert partial_path(out / "f0.nc").exists()


def test_gone_and_unauthorised_fail_fast(served, tmp_path: Path) -> None:
    srv, _files = served
    srv.state.add_fault("/f0.nc", Fault("401", times=5))
    out = tmp_path / "out"
    tasks = [_task(srv, "f0.nc", out, None), _task(srv, "missing.nc", out, 10)]
    rep = download_all(tasks, requests.Session, _opts())
    assert [o.status for o in rep.outcomes] == ["failed", "failed"]
    assert "not authorised (HTTP 401)" in rep.outcomes[0].reason and "EARTHDATA_TOKEN" in rep.outcomes[0].reason
    assert rep.outcomes[1].reason.startswith("gone (HTTP 404)")
    assert rep.outcomes[0].attempts == 1 and rep.outcomes[1].attempts == 1


def test_resume_partial_with_range(served, tmp_path: Path) -> None:
    srv, files = served
    out = tmp_path / "out"
    out.mkdir()
    data = files["f0.nc"]
    partial_path(out / "f0.nc").write_bytes(data[:123_456])
    head = requests.head(srv.url_for("f0.nc"), timeout=5).headers  # the version the partial came from
    validators_path(out / "f0.nc").write_text(
        json.dumps({"etag": head["ETag"], "last_modified": head["Last-Modified"]})
    )
    o = download_one(requests.Session(), _task(srv, "f0.nc", out, len(data)), _opts())
    assert o.status == "downloaded" and (out / "f0.nc").read_bytes() == data
    [req] = srv.state.requests_for("/f0.nc", "GET")
    assert req.range == "bytes=123456-" and req.status == 206
    assert o.transferred == len(data) - 123_456


def test_server_ignoring_range_restarts_cleanly(served, tmp_path: Path) -> None:
    srv, files = served
    out = tmp_path / "out"
    out.mkdir()
    data = files["f1.nc"]
    partial_path(out / "f1.nc").write_bytes(b"x" * 5000)  # garbage that must not survive
    srv.state.add_fault("/f1.nc", Fault("ignore_range"))
    o = download_one(requests.Session(), _task(srv, "f1.nc", out, len(data)), _opts())
    assert o.status == "downloaded" and (out / "f1.nc").read_bytes() == data


def test_wrong_size_existing_file_is_replaced_and_catalogue_mismatch_fails(served, tmp_path: Path) -> None:
    srv, files = served
    out = tmp_path / "out"
    out.mkdir()
    (out / "f0.nc").write_bytes(b"truncated")
    o = download_one(requests.Session(), _task(srv, "f0.nc", out, len(files["f0.nc"])), _opts())
    assert o.status == "downloaded" and (out / "f0.nc").read_bytes() == files["f0.nc"]
    bad = download_one(requests.Session(), _task(srv, "f1.nc", out, 42), _opts())
    assert bad.status == "failed" and "size mismatch" in bad.reason and "42" in bad.reason
    assert not (out / "f1.nc").exists()


def test_unknown_expected_size_uses_content_length_and_head(served, tmp_path: Path) -> None:
    srv, files = served
    out = tmp_path / "out"
    o = download_one(requests.Session(), _task(srv, "f2.nc", out, None), _opts())
    assert o.status == "downloaded" and o.size_check == "ok" and o.expected_bytes == len(files["f2.nc"])
    again = download_one(requests.Session(), _task(srv, "f2.nc", out, None), _opts())
    assert again.status == "skipped" and again.size_check == "ok"
    assert srv.state.requests_for("/f2.nc", "HEAD")


def test_force_downloads_again(served, tmp_path: Path) -> None:
    srv, files = served
    out = tmp_path / "out"
    t = _task(srv, "f0.nc", out, len(files["f0.nc"]))
    download_one(requests.Session(), t, _opts())
    os.utime(out / "f0.nc", (0, 0))
    o = download_one(requests.Session(), t, _opts(force=True))
    assert o.status == "downloaded" and len(srv.state.requests_for("/f0.nc")) == 2


def test_stop_event_interrupts_between_chunks_and_keeps_partial(served, tmp_path: Path) -> None:
    import threading

    from spectm.fetch.download import Interrupted

    srv, files = served
    srv.state.rate_bps = 200_000
    stop = threading.Event()
    seen = []

    def on_bytes(n: int) -> None:
        seen.append(n)
        if sum(seen) > 50_000:
            stop.set()

    t = _task(srv, "f0.nc", tmp_path / "out", len(files["f0.nc"]))
    with pytest.raises(Interrupted):
        download_one(requests.Session(), t, _opts(), on_bytes, stop=stop)
    part = partial_path(t.dest)
    assert 50_000 < part.stat().st_size < SIZE and not t.dest.exists()
    assert files["f0.nc"].startswith(part.read_bytes())
