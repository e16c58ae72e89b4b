"""Run the slice jobs of a build a few at a time, so that every core has a slice to work on.

Why: a PACE day of the twin (and most real days over a lake) is one granule, so a slice's
dask graph is one read-and-regrid task and one combine: computed and written one after
another, a build keeps one core busy however many the cluster has. Each job here builds one
slice's lazy graph, computes it and writes it (on whatever dask scheduler is active), and at
most ``n`` jobs are in flight, so memory is bounded by ``n`` slices, never by the number of
days. The store's write protocol (:func:`spectm.cube.store.write_slice`) keeps concurrent
slice writes apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_bounded(fn: Callable[[T], R], jobs: Sequence[T], n: int) -> list[R]:
    """``[fn(j) for j in jobs]`` with at most ``n`` calls running at once, results in job order.

    A new job starts as soon as any running one finishes (not in lock-step), so one slow day
    does not idle the other threads. On the first failure no further job is started, the
    running ones are allowed to finish (their slices end complete, or incomplete for the next
    build to redo), and the exception is raised.
    """
    if n <= 1 or len(jobs) <= 1:
        return [fn(j) for j in jobs]
    results: dict[int, R] = {}
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="spectm-slice") as pool:
        running: dict[Future[R], int] = {}
        nxt = 0
        error: BaseException | None = None
        while running or (nxt < len(jobs) and error is None):
            while error is None and nxt < len(jobs) and len(running) < n:
                running[pool.submit(fn, jobs[nxt])] = nxt
                nxt += 1
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                i = running.pop(fut)
                exc = fut.exception()
                if exc is not None:
                    error = error or exc
                else:
                    results[i] = fut.result()
        if error is not None:
            raise error
    return [results[i] for i in range(len(jobs))]
