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
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster:
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
    code, _, err = spectm(capsys, d, "build-cube", f"--bbox={BBOX}", "--dates", "2024-07-15", "--sensor", "pace",
                          "--scheduler", "no-port-here")
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
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                      host="127.0.0.1", protocol="tcp://") as cluster, \
            Client(cluster) as client:
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
