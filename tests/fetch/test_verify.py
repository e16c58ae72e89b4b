"""Content verification, resume safety and retry policy of the downloader (real server on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
import requests

from spectm.fetch.download import (
    DownloadOptions,
    DownloadTask,
    Interrupted,
    download_one,
    partial_path,
    retry_after_seconds,
    validators_path,
)
from spectm.fetch.testserver import Fault, RangeServer
from spectm.fetch.verify import parse_multihash, stac_checksum, to_multihash, umm_checksum

SIZE = 200_000


def _opts(**kw: object) -> DownloadOptions:
    base = dict(
        threads=1,
        connect_timeout=2.0,
        read_timeout=2.0,
        retries=3,
        backoff=0.01,
        backoff_max=0.05,
        chunk_size=8192,
    )
    base.update(kw)
    return DownloadOptions(**base)  # type: ignore[arg-type]


@pytest.fixture
def srv(tmp_path: Path):
    root = tmp_path / "srv"
    root.mkdir()
    (root / "a.nc").write_bytes(os.urandom(SIZE))
    with RangeServer(root, seed=5) as s:
        yield s


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _interrupt(srv: RangeServer, task: DownloadTask, after: int = 40_000) -> None:
    """Leave a partial file the way a Ctrl-C does (stop between chunks)."""
    srv.state.rate_bps = 400_000
    stop = threading.Event()
    got: list[int] = []

    def on_bytes(n: int) -> None:
        got.append(n)
        if sum(got) > after:
            stop.set()

    with pytest.raises(Interrupted):
        download_one(requests.Session(), task, _opts(), on_bytes, stop=stop)
    srv.state.rate_bps = None
    assert partial_path(task.dest).exists() and validators_path(task.dest).exists()


def _replace_on_server(srv: RangeServer, name: str) -> bytes:
    """The provider replaces the file: same size, new bytes, new mtime."""
    new = os.urandom(SIZE)
    p = srv.state.root / name
    p.write_bytes(new)
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    return new


def test_interrupted_download_resumes_with_range(srv: RangeServer, tmp_path: Path) -> None:
    data = (srv.state.root / "a.nc").read_bytes()
    t = DownloadTask(srv.url_for("a.nc"), tmp_path / "a.nc", SIZE, checksum=_sha(data))
    _interrupt(srv, t)
    have = partial_path(t.dest).stat().st_size
    o = download_one(requests.Session(), t, _opts())
    assert o.status == "downloaded" and t.dest.read_bytes() == data and o.checksum == _sha(data)
    last = srv.state.requests_for("/a.nc")[-1]
    assert last.range == f"bytes={have}-" and last.status == 206 and o.resumed_from == have
    assert not validators_path(t.dest).exists()


@pytest.mark.parametrize("honour_if_range", [True, False])
def test_partial_of_a_replaced_file_is_not_resumed(srv: RangeServer, tmp_path: Path, honour_if_range: bool) -> None:
    t = DownloadTask(srv.url_for("a.nc"), tmp_path / "a.nc", SIZE)  # no checksum: the validators must catch it
    _interrupt(srv, t)
    new = _replace_on_server(srv, "a.nc")
    srv.state.honour_if_range = honour_if_range
    o = download_one(requests.Session(), t, _opts())
    assert o.status == "downloaded"
    assert t.dest.read_bytes() == new, "old first bytes glued to the new file's tail"


def test_partial_with_no_version_record_is_fetched_whole(srv: RangeServer, tmp_path: Path) -> None:
    data = (srv.state.root / "a.nc").read_bytes()
    dest = tmp_path / "a.nc"
    partial_path(dest).write_bytes(b"\0" * 50_000)  # e.g. left by an older spectm, or another program
    o = download_one(requests.Session(), DownloadTask(srv.url_for("a.nc"), dest, SIZE), _opts())
    assert o.status == "downloaded" and dest.read_bytes() == data
    assert srv.state.requests_for("/a.nc")[-1].range is None


def test_resumed_partial_failing_the_checksum_is_refetched_whole(srv: RangeServer, tmp_path: Path) -> None:
    """A server without ETag/Last-Modified cannot tell a changed file; the catalogue checksum does."""
    srv.state.validators = False
    t = DownloadTask(srv.url_for("a.nc"), tmp_path / "a.nc", SIZE)
    _interrupt(srv, t)
    new = _replace_on_server(srv, "a.nc")
    t.checksum = _sha(new)
    o = download_one(requests.Session(), t, _opts())
    assert o.status == "downloaded" and t.dest.read_bytes() == new and o.checksum == _sha(new)
    ranges = [r.range for r in srv.state.requests_for("/a.nc")]
    assert ranges[-2] is not None and ranges[-1] is None  # resumed, failed the checksum, fetched whole


def test_checksum_mismatch_is_quarantined_never_kept(srv: RangeServer, tmp_path: Path) -> None:
    dest = tmp_path / "pace" / "a.nc"
    q = tmp_path / "quarantine" / "pace" / "a.nc"
    o = download_one(
        requests.Session(),
        DownloadTask(srv.url_for("a.nc"), dest, SIZE, checksum=_sha(b"other"), quarantine=q),
        _opts(),
    )
    assert o.status == "failed" and "sha256 checksum" in o.reason and "quarantined at" in o.reason
    assert o.quarantine == q and q.read_bytes() == (srv.state.root / "a.nc").read_bytes()
    assert not dest.exists() and not partial_path(dest).exists()


def test_existing_file_failing_its_checksum_is_downloaded_again(srv: RangeServer, tmp_path: Path) -> None:
    data = (srv.state.root / "a.nc").read_bytes()
    dest = tmp_path / "a.nc"
    dest.write_bytes(bytes(SIZE))  # right size, wrong bytes
    o = download_one(
        requests.Session(),
        DownloadTask(srv.url_for("a.nc"), dest, SIZE, checksum=_sha(data)),
        _opts(),
    )
    assert o.status == "downloaded" and dest.read_bytes() == data
    again = download_one(
        requests.Session(),
        DownloadTask(srv.url_for("a.nc"), dest, SIZE, checksum=_sha(data)),
        _opts(),
    )
    assert again.status == "skipped" and again.checksum == _sha(data)


@pytest.mark.parametrize(
    "body", [b"<!DOCTYPE html><html><body>Earthdata Login</body></html>", b"\n  <html>error</html>"]
)
def test_html_page_without_catalogue_size_is_a_failure(srv: RangeServer, tmp_path: Path, body: bytes) -> None:
    (srv.state.root / "login.nc").write_bytes(body)
    dest = tmp_path / "login.nc"
    o = download_one(requests.Session(), DownloadTask(srv.url_for("login.nc"), dest, None), _opts())
    assert o.status == "failed" and "web page" in o.reason
    assert not dest.exists() and o.quarantine is not None and o.quarantine.read_bytes() == body


def test_body_shorter_than_content_length_without_catalogue_size_fails(srv: RangeServer, tmp_path: Path) -> None:
    srv.state.add_fault("/a.nc", Fault("short", times=100))
    dest = tmp_path / "a.nc"
    o = download_one(requests.Session(), DownloadTask(srv.url_for("a.nc"), dest, None), _opts(retries=2))
    assert o.status == "failed" and o.attempts == 3 and not dest.exists()


def test_retry_after_is_honoured(srv: RangeServer, tmp_path: Path) -> None:
    srv.state.add_fault("/a.nc", Fault("503", times=1, retry_after="1"))
    o = download_one(requests.Session(), DownloadTask(srv.url_for("a.nc"), tmp_path / "a.nc", SIZE), _opts())
    assert o.status == "downloaded" and o.attempts == 2
    # backoff alone would wait <= 0.05 s; the server asked for 1 s
    assert o.seconds >= 0.95


def test_retry_after_beyond_the_limit_fails_with_advice(srv: RangeServer, tmp_path: Path) -> None:
    srv.state.add_fault("/a.nc", Fault("429", times=1, retry_after="3600"))
    t0 = time.perf_counter()
    o = download_one(requests.Session(), DownloadTask(srv.url_for("a.nc"), tmp_path / "a.nc", SIZE), _opts())
    assert o.status == "failed" and "3600 s" in o.reason and "rerun later" in o.reason
    assert time.perf_counter() - t0 < 2


def test_retry_after_http_date() -> None:
    from datetime import UTC, datetime

    now = datetime(2025, 3, 5, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Wed, 05 Mar 2025 12:00:30 GMT", now) == 30
    assert (
        retry_after_seconds("120") == 120 and retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    )


def test_one_off_wrong_size_reply_is_retried(srv: RangeServer, tmp_path: Path) -> None:
    data = (srv.state.root / "a.nc").read_bytes()
    srv.state.add_fault("/a.nc", Fault("stale", times=1))
    o = download_one(requests.Session(), DownloadTask(srv.url_for("a.nc"), tmp_path / "a.nc", SIZE), _opts())
    assert o.status == "downloaded" and (tmp_path / "a.nc").read_bytes() == data and o.attempts == 2


def test_persistent_size_mismatch_fails_with_advice_that_can_fix_it(srv: RangeServer, tmp_path: Path) -> None:
    o = download_one(requests.Session(), DownloadTask(srv.url_for("a.nc"), tmp_path / "a.nc", 42), _opts())
    assert o.status == "failed" and "size mismatch" in o.reason and "42" in o.reason
    assert "--force" not in o.reason and "rerun later" in o.reason  # --force cannot change the catalogue's size
    assert len(srv.state.requests_for("/a.nc")) == 2


def test_multihash_and_umm_checksums() -> None:
    real = "12200e483d24491874006d1e3d34a1f0b98acd6b11e409b0c8855268ef4206b5d13f"  # Earth Search file:checksum
    assert parse_multihash(real) == "sha256:0e483d24491874006d1e3d34a1f0b98acd6b11e409b0c8855268ef4206b5d13f"
    assert to_multihash(parse_multihash(real)) == real
    assert stac_checksum({"file:checksum": "1220abcd"}) is None  # length byte says 32, 2 bytes follow
    assert parse_multihash("d50110" + "ab" * 16) == "md5:" + "ab" * 16
    umm = {
        "DataGranule": {
            "ArchiveAndDistributionInformation": [
                {
                    "Name": "x.nc",
                    "SizeInBytes": 3,
                    "Checksum": {"Value": "ABC123", "Algorithm": "SHA-256"},
                }
            ]
        }
    }
    assert umm_checksum(umm, "x.nc") == "sha256:abc123"
    umm["DataGranule"]["ArchiveAndDistributionInformation"][0]["Checksum"]["Algorithm"] = "Adler-32"
    assert umm_checksum(umm, "x.nc") is None  # not a hash spectm can compute: size check only
    assert umm_checksum({"DataGranule": {"ArchiveAndDistributionInformation": [{"Name": "x.nc"}]}}, "x.nc") is None
