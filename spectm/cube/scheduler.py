"""Where the dask graphs run.

* ``"local"`` (the CLI default): a ``distributed.LocalCluster`` in this process
  (``processes=False``: the work is NumPy/GDAL/netCDF code that releases the GIL,
  and threads avoid pickling granules between processes) with a memory limit, so a
  runaway graph is paused and spilled instead of exhausting the machine.
* ``"threads"`` / ``"synchronous"``: dask's local schedulers without a cluster (tests,
  notebooks, tiny jobs).
* ``"client"`` (Python API only): the ``distributed.Client`` already active in this
  process, e.g. ``cluster.get_client()`` of a Coiled or dask-gateway cluster, whose
  TLS/proxy connections a bare address cannot carry. It is used, never closed.
* anything else is a scheduler address (``tcp://host:8786``) of an existing cluster,
  e.g. dask-jobqueue on HPC (docs/cube.md "Scaling out"); only this connection is closed
  afterwards, the cluster keeps running.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dask

from spectm.console import log
from spectm.errors import BadInputError

CONNECT_TIMEOUT = "10s"
"""How long ``--scheduler ADDR`` waits for the scheduler before failing with exit code 2."""

LEAN_DISTRIBUTED = {
    # distributed keeps its last 1000 messages per stream (and transitions, events) for
    # debugging; each per-slice graph message is ~0.5 MB, so the log grew with the number of
    # slices built (5-month / 1-month peak RSS 1.25-1.28 with 1000, 1.03-1.06 with 16: benchmarks/results/cube.md §2)
    "distributed.admin.low-level-log-length": 16,
    # the statistical profiler samples worker threads every 10 ms and keeps the history for
    # the dashboard, which spectm's own cluster does not start
    "distributed.worker.profile.enabled": False,
}
"""Settings for the clusters and connections spectm creates (never for a user's own client)."""


@contextmanager
def dask_context(scheduler: str | None, workers: int | None = None, memory_limit: str = "2GB") -> Iterator[str]:
    """Run the enclosed block's dask computations on the chosen scheduler."""
    name = scheduler or "local"
    if name in ("threads", "synchronous", "sync"):
        with dask.config.set(scheduler="synchronous" if name != "threads" else "threads", num_workers=workers):
            yield name
        return
    from distributed import Client

    if name == "client":
        from distributed import default_client

        try:
            active = default_client()
        except ValueError:
            active = None
        if active is None or active.status != "running":
            raise BadInputError("scheduler='client' but no running dask distributed Client is active in this process",
                                "create one first (e.g. client = cluster.get_client()) or pass a scheduler address")
        log.info("dask: using the active client %s", active)
        with dask.config.set(scheduler=active):
            yield "client"
        return
    if name == "local":
        from distributed import LocalCluster

        with dask.config.set(LEAN_DISTRIBUTED):
            cluster = LocalCluster(
                n_workers=1, threads_per_worker=workers or 2, processes=False,
                memory_limit=memory_limit, dashboard_address=None,
            )
            client = Client(cluster)
        log.info("dask LocalCluster: %s threads, memory limit %s", workers or 2, memory_limit)
        try:
            yield "local"
        finally:
            client.close()
            cluster.close()
        return
    try:
        # not set as the process-wide default: a failed or finished connection must never
        # linger as the scheduler of later dask work in this process
        with dask.config.set(LEAN_DISTRIBUTED):  # only our connection's own message log
            client = Client(name, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BadInputError(f"cannot connect to dask scheduler {name}: {exc}",
                            "check --scheduler ADDR (e.g. tcp://host:8786) and that the cluster is running") from None
    try:
        n_workers = len(client.scheduler_info().get("workers", {}))
        if n_workers:
            log.info("dask scheduler %s: %d worker(s)", name, n_workers)
        else:  # dask-jobqueue workers may still be queued: the build waits for them
            log.warning("dask scheduler %s has no workers yet; the build waits until one joins", name)
        with dask.config.set(scheduler=client):
            yield name
    finally:
        client.close()  # only our connection: the cluster belongs to the user and keeps running
