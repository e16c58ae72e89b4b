"""``--scheduler ADDR``: a build on an existing dask cluster, reached by its address."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr

import spectm.cube.scheduler as scheduler
from spectm.cube import build_cube
from spectm.errors import BadInputError
from tests.cube.helpers import BBOX, JUL16A, JUL16B, V31, add_pace
from tests.cube.test_cli import spectm

DATES = "2024-07-15:2024-07-16"


def test_build_on_an_existing_cluster_equals_local_build(tmp_path):
    """Worker *processes* (not threads) of a cluster started here: the per-granule tasks are
    pickled, run and write their Zarr chunks in another process, as on dask-jobqueue/Coiled."""
    from distributed import LocalCluster

    ref_dir, dist_dir = tmp_path / "ref", tmp_path / "dist"
    for d in (ref_dir, dist_dir):
        add_pace(d, [V31, JUL16A, JUL16B])
    ref = build_cube(BBOX, DATES, data_dir=ref_dir, sensors=["pace"], scheduler="synchronous").sensors["pace"]
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        before = cluster.scheduler.transition_counter
        res = build_cube(BBOX, DATES, data_dir=dist_dir, sensors=["pace"], scheduler=cluster.scheduler_address)
        ran = cluster.scheduler.transition_counter - before
        assert cluster.status.name == "running"  # the user's cluster is left running
        workers = list(cluster.scheduler.workers.values())
    r = res.sensors["pace"]
    assert ran > 20, "the build's tasks did not go through the given scheduler"
    assert dask.base.get_scheduler() is None  # no client of ours lingers as the process default
    assert len(workers) == 1 and workers[0].pid is not None
    assert r.days_written == ref.days_written and not r.items_failed
    got, want = (xr.open_zarr(p, consolidated=False).load() for p in (r.path, ref.path))
    for v in ("rrs", "rrs_unc", "valid_count", "source_ids", "slice_complete"):
        np.testing.assert_array_equal(got[v].values, want[v].values)


def test_unreachable_scheduler_is_bad_input(tmp_path, monkeypatch, capsys):
    from distributed import default_client

    monkeypatch.setattr(scheduler, "CONNECT_TIMEOUT", "1s")
    d = tmp_path / "data"
    add_pace(d, [V31])
    with pytest.raises(BadInputError, match=r"cannot connect to dask scheduler tcp://127\.0\.0\.1:9"):
        build_cube(BBOX, "2024-07-15", data_dir=d, sensors=["pace"], scheduler="tcp://127.0.0.1:9")
    code, _, err = spectm(
        capsys,
        d,
        "build-cube",
        f"--bbox={BBOX}",
        "--dates",
        "2024-07-15",
        "--sensor",
        "pace",
        "--scheduler",
        "no-port-here",
    )
    assert code == 2 and "--scheduler ADDR" in err and "Traceback" not in err
    assert not (d / "cubes" / "bbox_pace.zarr").exists()
    with pytest.raises(ValueError):  # the failed connection did not become the default client
        default_client()


def test_the_active_client_is_used_and_left_open(tmp_path):
    """``scheduler="client"``: the Python API path for Coiled/dask-gateway clients."""
    from distributed import Client, LocalCluster

    d = tmp_path / "data"
    add_pace(d, [V31])
    with pytest.raises(BadInputError, match="no running dask distributed Client is active"):
        build_cube(BBOX, "2024-07-15", data_dir=d, sensors=["pace"], scheduler="client")
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
            host="127.0.0.1",
            protocol="tcp://",
        ) as cluster,
        Client(cluster) as client,
    ):
        before = cluster.scheduler.transition_counter
        r = build_cube(BBOX, "2024-07-15", data_dir=d, sensors=["pace"], scheduler="client").sensors["pace"]
        assert cluster.scheduler.transition_counter - before > 10
        assert client.status == "running"
    assert r.days_written and not r.items_failed


def test_own_local_cluster_keeps_no_growing_message_log():
    """distributed's debug log of recent messages kept ~0.5 MB per slice graph (1000 messages),
    so peak memory grew with season length; spectm's own cluster keeps a short log, and the
    setting does not leak into the user's later dask work."""
    from distributed import default_client

    default_len = dask.config.get("distributed.admin.low-level-log-length")
    with scheduler.dask_context("local"):
        client = default_client()
        for i in range(40):  # many small graphs, as a season of slices sends
            dask.array.full((64, 64), i, chunks=32).sum().compute()
        kept = client.scheduler_comm.recent_message_log  # the stream that carries every graph
        assert kept.maxlen == scheduler.LEAN_DISTRIBUTED["distributed.admin.low-level-log-length"]
        assert len(kept) <= kept.maxlen < 40
        worker = next(iter(client.cluster.workers.values()))
        assert worker.profile_recent["count"] == 0  # the statistical profiler is off
    assert dask.config.get("distributed.admin.low-level-log-length") == default_len


def _listening() -> list[tuple[str, int]]:
    import psutil

    return sorted(
        {
            (c.laddr.ip, c.laddr.port)
            for c in psutil.Process().net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        }
    )


def test_default_local_cluster_listens_on_loopback_only_and_serves_no_http(tmp_path, monkeypatch):
    """During a build with the default LocalCluster, every listening socket of the process is
    on 127.0.0.1 and none answers an HTTP request (no dashboard, /health or /metrics)."""
    import urllib.error
    import urllib.request

    import spectm.cube.build as build_mod

    add_pace(tmp_path, [V31])
    seen: list[list[tuple[str, int]]] = []
    real = build_mod.write_slice

    def spy(*a, **kw):  # sampled while the cluster runs, between compute and write
        seen.append(_listening())
        return real(*a, **kw)

    monkeypatch.setattr(build_mod, "write_slice", spy)
    before = set(_listening())
    r = build_cube(BBOX, "2024-07-15", data_dir=tmp_path, sensors=["pace"], scheduler="local").sensors["pace"]
    assert r.days_written and seen
    socks = [s for s in seen[0] if s not in before]
    assert socks, "the cluster opened no socket at all: the check would pass vacuously"
    assert all(ip == "127.0.0.1" for ip, _ in socks), socks
    monkeypatch.undo()
    from distributed import get_client

    with scheduler.dask_context("local", 1, "1GB"):
        client = get_client()
        comm = {client.scheduler.address, *client.scheduler_info()["workers"]}  # dask's own protocol, not HTTP
        http = [
            (ip, port) for ip, port in _listening() if (ip, port) not in before and f"tcp://{ip}:{port}" not in comm
        ]
        assert len(http) == 2, http  # distributed always opens one per scheduler and worker
        for ip, port in http:
            for route in ("/health", "/metrics", "/status", "/info/main/workers.html"):
                try:
                    with urllib.request.urlopen(f"http://{ip}:{port}{route}", timeout=5) as resp:
                        status = resp.status
                except urllib.error.HTTPError as exc:
                    status = exc.code
                assert status != 200, f"{route} is served on port {port}"


def test_memory_limit_that_is_not_a_size_is_bad_input():
    for bad in ("lots", "-1GB", "0", "nan", "1e400"):
        with pytest.raises(BadInputError, match="is not a memory size"):
            scheduler.check_memory_limit(bad)
    assert scheduler.check_memory_limit("4 GiB") == "4 GiB" and scheduler.check_memory_limit("auto") == "auto"
