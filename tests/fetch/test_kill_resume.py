"""Kill `spectm fetch` mid-download (SIGKILL), run it again: nothing complete is fetched twice,
partial files resume with a Range request, and the manifest on disk is valid throughout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spectm.fetch.download import PARTIAL_SUFFIX

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_kill_then_rerun_resumes(stac_api, assets, tmp_path: Path) -> None:
    st = assets.server.state
    st.rate_bps = 150_000  # per connection: the ~1.7 MB fetch takes ~6 s with 2 threads
    data_dir = tmp_path / "data"
    args = [
        sys.executable,
        "-m",
        "spectm",
        "-q",
        "--data-dir",
        str(data_dir),
        "fetch",
        "--bbox",
        "lake_erie_western_basin",
        "--dates",
        "2024-07",
        "--source",
        "s2_earth_search",
        "--stac-url",
        stac_api.url,
        "--no-clip",
        "--max-cloud-cover",
        "50",
        "--threads",
        "2",
        "--timeout",
        "10",
    ]
    env = {**os.environ, "SPECTM_DATA": str(data_dir)}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    s2 = data_dir / "raw" / "s2"
    deadline = time.monotonic() + 60
    try:
        while True:
            done = list(s2.rglob("*.tif")) if s2.exists() else []
            partial = (
                [p for p in s2.rglob(f"*{PARTIAL_SUFFIX}") if 0 < _size(p) < _full_size(assets, p, s2)]
                if s2.exists()
                else []
            )
            if len(done) >= 3 and partial:
                break
            assert proc.poll() is None, f"fetch finished before it could be killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "fetch made no progress"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    done_before = {p.relative_to(s2).as_posix() for p in s2.rglob("*.tif")}
    partial_before = {
        p.relative_to(s2).as_posix().removesuffix(PARTIAL_SUFFIX): p.stat().st_size
        for p in s2.rglob(f"*{PARTIAL_SUFFIX}")
    }
    assert done_before and partial_before
    manifest = data_dir / "raw/manifest.json"
    if manifest.exists():  # never torn: atomic replace
        json.loads(manifest.read_text())

    st.rate_bps = None
    n_log = len(st.log)
    rerun = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    after = st.log[n_log:]
    fetched_paths = [r.path for r in after if r.method == "GET"]
    # 1. complete files were not downloaded again
    for rel in done_before:
        item_id, key_file = rel.split("/")
        server_path = _server_path(assets, item_id, key_file)
        assert server_path not in fetched_paths, f"{rel} was downloaded again"
    # 2. partial files resumed with a Range request from where they stopped
    for rel, size in partial_before.items():
        item_id, key_file = rel.split("/")
        spath = _server_path(assets, item_id, key_file)
        reqs = [r for r in after if r.path == spath and r.method == "GET"]
        if size == (assets.root / spath.lstrip("/")).stat().st_size:
            assert reqs == []  # all bytes were there, only the rename was missing: no request at all
            continue
        if size == 0:
            assert reqs and reqs[0].range is None  # nothing to resume from
            continue
        assert reqs and reqs[0].range == f"bytes={size}-" and reqs[0].status == 206, (rel, size, reqs)
    assert any(r.range for r in after), "no partial file was resumed"
    # 3. everything is complete, byte-identical and recorded
    m = json.loads(manifest.read_text())
    s2_items = [i for i in m["items"] if i["status"] in ("downloaded", "skipped")]
    assert len(s2_items) == 24 and all(i["size_check"] == "ok" for i in s2_items)
    for i in s2_items:
        rel = i["url"].split("127.0.0.1:", 1)[1].split("/", 1)[1]
        assert (data_dir / i["path"]).read_bytes() == (assets.root / rel).read_bytes()
    assert not list(s2.rglob(f"*{PARTIAL_SUFFIX}"))


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except FileNotFoundError:
        return 0


def _full_size(assets, partial: Path, s2: Path) -> int:
    item_id, key_file = partial.relative_to(s2).as_posix().removesuffix(PARTIAL_SUFFIX).split("/")
    return (assets.root / _server_path(assets, item_id, key_file).lstrip("/")).stat().st_size


def _server_path(assets, item_id: str, local_file: str) -> str:
    """Map raw/s2/<id>/<key>.tif back to the served /s2/<id>/<FILE>.tif."""
    key = local_file.removesuffix(".tif")
    for it in assets.items:
        if it["id"] == item_id:
            href = it["assets"][key]["href"]
            return "/" + href.split("127.0.0.1:", 1)[1].split("/", 1)[1]
    raise KeyError(item_id)
