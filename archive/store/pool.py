"""Work spread over processes, results back in the order it was handed out.

``reextract`` and ``verify`` cut an archive's records into chunks and send them
to worker processes; the caller (the single SQLite writer, or the report)
takes the results back in submission order, so what it writes or prints is the
same whatever the number of workers. Only a few chunks are in flight at once:
the tasks are read lazily and results are handed on as soon as they are next in
line, so memory holds a window of chunks, not the archive.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Chunks in flight per worker: enough that a worker never waits for the parent
# to hand it the next one, few enough that memory stays a handful of chunks.
IN_FLIGHT_PER_WORKER = 3


def default_workers() -> int:
    """The cores this process may use (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ordered_map(
    func: Callable[[T], R], tasks: Iterable[T], workers: int
) -> Iterator[tuple[T, R | Exception]]:
    """(task, func(task) or the exception it raised) for each task, in the order given.

    workers <= 1 runs everything in this process, one task at a time, so a
    single-core run pays for no process pool. func must be a module-level
    function and the tasks picklable.
    """
    if workers <= 1:
        for task in tasks:
            try:
                yield task, func(task)
            except Exception as e:  # reported by the caller with the task it belongs to
                yield task, e
        return
    window: deque[tuple[T, Future[R]]] = deque()
    limit = workers * IN_FLIGHT_PER_WORKER
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for task in tasks:
            window.append((task, pool.submit(func, task)))
            while len(window) >= limit or (window and window[0][1].done()):
                yield _result(*window.popleft())
        while window:
            yield _result(*window.popleft())


def _result(task: T, future: Future[R]) -> tuple[T, R | Exception]:
    try:
        return task, future.result()
    except Exception as e:
        return task, e
