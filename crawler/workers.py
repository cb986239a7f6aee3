"""Worker processes for extraction, awaited from the reactor's event loop.

Extraction is CPU work (decoding, cleanup, trafilatura, dates, metadata); on the
reactor thread it held every download of every site while it ran, and the crawl used
one core. Here each job runs in a worker process while the reactor goes on
downloading and storing.

The pool is N single-process executors rather than one executor of N processes: a job
that outlasts its time bound, or that must be abandoned at shutdown, is ended by
killing the one process that runs it, and only that slot is replaced. A
ProcessPoolExecutor of N processes can only be broken whole, failing every job in it.

Workers start from a fork server (spawn where there is none): forking the crawl
process itself, with the reactor's threads and open SQLite and WARC files, is unsafe.
The fork server imports the extraction modules once, so a replacement worker starts
in milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from typing import Any

logger = logging.getLogger(__name__)

# How often a job in flight checks its time bound and whether the run is stopping.
POLL = 0.25


class JobTimeout(Exception):
    """The job ran longer than its time bound; its worker was killed."""


class WorkerDied(Exception):
    """The worker running the job died (killed, out of memory, a crash in C code)."""


class Interrupted(Exception):
    """The run stopped and the job did not finish within the grace period."""


class PoolUnavailable(Exception):
    """The worker processes could not be started (no fork server, no semaphores)."""


def _context(preload: Sequence[str]) -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(preload))
        return context
    return multiprocessing.get_context("spawn")


class WorkerPool:
    """Runs jobs in `size` worker processes, at most one job per worker at a time.

    A job waits for a free worker: no queue of bodies builds up beyond the callers
    awaiting, which Scrapy already bounds (its scraper holds a response until its item
    is processed, and stops downloading past SCRAPER_SLOT_MAX_ACTIVE_SIZE).
    """

    def __init__(
        self,
        size: int,
        *,
        initializer: Callable[..., Any] | None = None,
        initargs: tuple[Any, ...] = (),
        warm_up: Callable[[], Any] | None = None,
        preload: Sequence[str] = (),
    ) -> None:
        if size < 1:
            raise ValueError(f"a worker pool needs at least one worker, not {size}")
        self.size = size
        self.initializer = initializer
        self.initargs = initargs
        self.warm_up = warm_up
        self.context = _context(preload)
        self.executors: list[ProcessPoolExecutor | None] = [None] * size
        self.warming: list[Future[Any] | None] = [None] * size
        self.free = list(range(size))
        self.freed = asyncio.Event()
        self.replaced = 0  # workers killed or found dead, and started afresh
        self.starting: asyncio.Future[None] | None = None
        self.closed = False

    def _launch(self, index: int) -> None:
        executor = ProcessPoolExecutor(
            1, mp_context=self.context, initializer=self.initializer, initargs=self.initargs
        )
        if self.warm_up is not None:
            # Starts the process now, not at the first page.
            self.warming[index] = executor.submit(self.warm_up)
        self.executors[index] = executor

    def start(self) -> None:
        """Start the workers in a thread: the first one starts the fork server, which
        imports the extraction modules, and the reactor must not wait for that."""
        if self.starting is None:
            loop = asyncio.get_running_loop()
            self.starting = loop.run_in_executor(
                None, lambda: [self._launch(i) for i in range(self.size)]
            )

    async def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        timeout: float | None = None,
        stopping: Callable[[], bool] = lambda: False,
        grace: float = 10.0,
    ) -> Any:
        """fn(*args) in a worker. Raises what fn raised, or JobTimeout after `timeout`
        seconds of running, WorkerDied, or Interrupted when `stopping()` has been true
        for `grace` seconds and the job has not finished (waiting for a worker included)."""
        self.start()
        assert self.starting is not None
        try:
            await self.starting
        except Exception as e:
            raise PoolUnavailable(f"cannot start worker processes: {e}") from e
        stop_seen: float | None = None

        def given_up(now: float) -> bool:
            nonlocal stop_seen
            if stop_seen is None and stopping():
                stop_seen = now
            return stop_seen is not None and now - stop_seen >= grace

        while not self.free:
            self.freed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self.freed.wait(), POLL)
            if given_up(time.monotonic()):
                raise Interrupted(f"not started within {grace:g} s of the run stopping")
        index = self.free.pop()
        try:
            if (warming := self.warming[index]) is not None:
                # A fresh worker's start is not the job's time: a replacement started
                # under load must not time out the next page too.
                self.warming[index] = None
                with suppress(Exception):
                    await asyncio.wrap_future(warming)
            executor = self.executors[index]
            assert executor is not None and not self.closed
            try:
                future = asyncio.wrap_future(executor.submit(fn, *args))
            except BrokenProcessPool:  # it died idle (or warming up)
                self._replace(index, kill=False)
                raise WorkerDied("the worker process died") from None
            begun = time.monotonic()
            while True:
                done, _ = await asyncio.wait({future}, timeout=POLL)
                if done:
                    try:
                        return future.result()
                    except BrokenProcessPool:
                        self._replace(index, kill=False)
                        raise WorkerDied("the worker process died") from None
                now = time.monotonic()
                if timeout is not None and now - begun >= timeout:
                    future.cancel()
                    self._replace(index, kill=True)
                    raise JobTimeout(f"still running after {timeout:g} s")
                if given_up(now):
                    future.cancel()
                    self._replace(index, kill=True)
                    raise Interrupted(f"not finished within {grace:g} s of the run stopping")
        finally:
            self.free.append(index)
            self.freed.set()

    def _replace(self, index: int, *, kill: bool) -> None:
        old = self.executors[index]
        if old is not None:
            if kill:
                # ProcessPoolExecutor offers no way to end one job; its process map is
                # the only handle on the process that runs it (stable since 3.3).
                for process in list(getattr(old, "_processes", {}).values()):
                    process.kill()
            old.shutdown(wait=False, cancel_futures=True)
        self.replaced += 1
        if not self.closed:
            self._launch(index)

    def close(self) -> None:
        """Let the workers go. Called when no job is in flight (every spider using the
        pool has closed, and Scrapy closes a spider only once its items are done)."""
        self.closed = True
        if self.starting is not None and not self.starting.done():
            # A run stopped while its workers were starting: end them once started.
            self.starting.add_done_callback(lambda _: self._shut_down())
        self._shut_down()

    def kill(self) -> None:
        """End every worker now, jobs in flight included: the run is being abandoned."""
        self.closed = True
        for executor in self.executors:
            # As in _replace: the process map is the only handle on a job's process.
            for process in list((getattr(executor, "_processes", None) or {}).values()):
                process.kill()
        for executor in self.executors:
            if executor is not None:
                # Waited for (the processes are dead, it is quick): an executor left
                # to the interpreter's exit wrote to its closed wake-up pipe, a traceback.
                executor.shutdown(wait=True, cancel_futures=True)

    def _shut_down(self) -> None:
        for executor in self.executors:
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)


class SharedPool:
    """One pool per process, whatever the number of sites crawled in it: the cores are
    shared, so the workers are. Opened by each spider, closed with the last one."""

    def __init__(self) -> None:
        self.pool: WorkerPool | None = None
        self.users = 0

    def open(self, make: Callable[[], WorkerPool]) -> WorkerPool:
        if self.pool is None:
            self.pool = make()
        self.users += 1
        return self.pool

    def release(self) -> None:
        self.users -= 1
        if self.users <= 0 and self.pool is not None:
            self.pool.close()
            self.pool, self.users = None, 0
