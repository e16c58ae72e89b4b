"""Where the dask graphs run.

* ``"local"`` (the CLI default): a ``distributed.LocalCluster`` in this process
  (``processes=False``: the work is NumPy/GDAL/netCDF code that releases the GIL,
  and threads avoid pickling granules between processes) with a memory limit, so a
  runaway graph is paused and spilled instead of exhausting the machine. Nothing of
  it is reachable from the network: the scheduler and worker listen on 127.0.0.1
  only (``tcp://``; distributed's in-process transport cannot be bound to an address
  and leaves the HTTP servers on every interface), and the HTTP servers that
  distributed always starts serve no route, unless ``dashboard=True`` asks for the
  dashboard (then on ``127.0.0.1:8787``, or the next free port).
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

import os
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

NO_HTTP_ROUTES = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}
"""distributed opens an HTTP server per scheduler and worker whatever the options
(health, Prometheus metrics, task info); with no routes it answers nothing but 404."""

LOOPBACK = "127.0.0.1"


@contextmanager
def dask_context(
    scheduler: str | None, workers: int | None = None, memory_limit: str = "2GB", *, dashboard: bool = False
) -> Iterator[str]:
    """Run the enclosed block's dask computations on the chosen scheduler.

    ``dashboard`` serves the LocalCluster's dashboard on 127.0.0.1 (ignored otherwise).
    """
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
            raise BadInputError(
                "scheduler='client' but no running dask distributed Client is active in this process",
                "create one first (e.g. client = cluster.get_client()) or pass a scheduler address",
            )
        log.info("dask: using the active client %s", active)
        with dask.config.set(scheduler=active):
            yield "client"
        return
    if name == "local":
        from distributed import LocalCluster

        with dask.config.set(LEAN_DISTRIBUTED | ({} if dashboard else NO_HTTP_ROUTES)):
            cluster = LocalCluster(
                n_workers=1,
                threads_per_worker=workers or 2,
                processes=False,
                memory_limit=memory_limit,
                host=LOOPBACK,
                protocol="tcp://",
                dashboard_address=f"{LOOPBACK}:8787" if dashboard else None,
                # without a dashboard the route-less HTTP server takes a free port, not 8787
                scheduler_kwargs=None if dashboard else {"dashboard_address": f"{LOOPBACK}:0"},
            )
            client = Client(cluster)
        log.info(
            "dask LocalCluster: %s threads, memory limit %s%s",
            workers or 2,
            memory_limit,
            f"; dashboard {client.dashboard_link}" if dashboard else "",
        )
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
        raise BadInputError(
            f"cannot connect to dask scheduler {name}: {exc}",
            "check --scheduler ADDR (e.g. tcp://host:8786) and that the cluster is running",
        ) from None
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


def slice_threads(name: str, workers: int | None) -> int:
    """How many slices a build writes at once on the scheduler ``dask_context`` set up.

    One per thread spectm's own scheduler offers: ``--workers`` (default 2) for its in-process
    LocalCluster, ``--workers`` or the CPU count for ``threads``, 1 for ``synchronous``. On an
    existing cluster (``--scheduler ADDR``) one slice at a time, its graph spread over the
    cluster: concurrent slices compute in local threads (:func:`spectm.cube.build`), which
    would leave a remote cluster idle.
    """
    if name in ("synchronous", "sync"):
        return 1
    if name == "threads":
        return workers or os.cpu_count() or 1
    if name == "local":
        return workers or 2
    return 1


def check_memory_limit(value: str | int | float | None) -> str | int | float | None:
    """``value`` if dask can parse it as a LocalCluster memory limit ("2GB", "512 MiB",
    "auto", a byte count, or a fraction of RAM ≤ 1), else a one-line :class:`BadInputError`."""
    from dask.utils import parse_bytes

    if value is None or value == "auto":
        return value
    try:
        n = float(value) if isinstance(value, (int, float)) else parse_bytes(str(value))
    except (TypeError, ValueError, OverflowError):
        n = float("nan")
    if not 0 < n < float("inf"):
        raise BadInputError(
            f"--memory-limit {value!r} is not a memory size", "pass e.g. --memory-limit 2GB, 4GiB or auto"
        )
    return value
