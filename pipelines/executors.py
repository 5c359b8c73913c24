"""Where the per-SKU work runs: this process, local worker processes, or a Dask cluster.

All three are `concurrent.futures` executors (Dask's comes from `distributed.Client.get_executor()`), so the
pipeline has one code path; work is split into fixed chunks of SKUs, so results never depend on the executor.

Public interface: `executor_for(kind, workers, scheduler)` (a context manager), `map_ordered(executor, fn, items)`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class InlineExecutor(Executor):
    """Runs each task at submit time in this process (workers = 1)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:
            future.set_exception(err)
        return future


@contextmanager
def executor_for(kind: str = "local", workers: int = 2, scheduler: str | None = None) -> Iterator[Executor]:
    """An executor: `local` (processes, or inline when workers = 1) or `dask` (the cluster at `scheduler`)."""
    if kind == "dask":
        from distributed import Client

        if not scheduler:
            raise ValueError("the dask executor needs a scheduler address, e.g. tcp://host:8786")
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as err:
            raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
        log.info("running on Dask cluster %s (%d workers)", scheduler, len(client.scheduler_info()["workers"]))
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    if kind != "local":
        raise ValueError(f"unknown executor {kind!r}; use local or dask")
    if workers <= 1:
        yield InlineExecutor()
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield pool


def map_ordered(
    executor: Executor,
    fn: Callable[..., T],
    items: Iterable[tuple[Any, ...]],
    progress: Callable[[int], None] | None = None,
) -> list[T]:
    """Submit `fn(*item)` for every item and return the results in item order, reporting each completion."""
    futures = [executor.submit(fn, *item) for item in items]
    results: list[T] = []
    for future in futures:
        results.append(future.result())
        if progress:
            progress(1)
    return results
