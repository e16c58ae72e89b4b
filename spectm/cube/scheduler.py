"""Where the dask graphs run.

* ``"local"`` (the CLI default): a ``distributed.LocalCluster`` in this process
  (``processes=False``: the work is NumPy/GDAL/netCDF code that releases the GIL,
  and threads avoid pickling granules between processes) with a memory limit, so a
  runaway graph is paused and spilled instead of exhausting the machine.
* ``"threads"`` / ``"synchronous"``: dask's local schedulers without a cluster (tests,
  notebooks, tiny jobs).
* anything else is a scheduler address (``tcp://host:8786``) of an existing cluster:
  dask-jobqueue on HPC, Coiled/dask-gateway in the cloud (docs/cube.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dask

from spectm.console import log
from spectm.errors import BadInputError


@contextmanager
def dask_context(scheduler: str | None, workers: int | None = None, memory_limit: str = "2GB") -> Iterator[str]:
    """Run the enclosed block's dask computations on the chosen scheduler."""
    name = scheduler or "local"
    if name in ("threads", "synchronous", "sync"):
        with dask.config.set(scheduler="synchronous" if name != "threads" else "threads", num_workers=workers):
            yield name
        return
    from distributed import Client, LocalCluster

    if name == "local":
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
        client = Client(name, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise BadInputError(f"cannot connect to dask scheduler {name}: {exc}", "check --scheduler ADDR (e.g. tcp://host:8786) and that the cluster is running") from None
    try:
        yield name
    finally:
        client.close()
