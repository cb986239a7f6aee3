"""The worker pool extraction runs in: a job past its time bound or a worker that dies
costs that one job, never the pool; a stopping run gives up on jobs after its grace."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from crawler.workers import Interrupted, JobTimeout, PoolUnavailable, WorkerDied, WorkerPool


# Jobs: module-level, so a worker process can import them by name.
def pid_after(seconds: float) -> tuple[int, float, float]:
    started = time.monotonic()
    time.sleep(seconds)
    return os.getpid(), started, time.monotonic()


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def fail() -> None:
    raise ValueError("a job's own error")


def on_pool(size: int, body):
    async def main():
        pool = WorkerPool(size)
        try:
            return await body(pool)
        finally:
            pool.close()

    return asyncio.run(main())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child not yet reaped is a zombie: dead for this purpose.
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_job_past_its_time_bound_is_killed_and_the_pool_goes_on():
    async def body(pool):
        (pid, _, _) = await pool.run(pid_after, 0)
        with pytest.raises(JobTimeout):
            await pool.run(pid_after, 30, timeout=0.5)
        after, _, _ = await pool.run(pid_after, 0)
        return pid, after, pool.replaced

    started = time.monotonic()
    before, after, replaced = on_pool(1, body)
    assert time.monotonic() - started < 20  # not the 30 s the job asked for
    assert replaced == 1 and after != before
    assert not alive(before)


def test_a_worker_that_dies_fails_its_job_only():
    async def body(pool):
        slow = asyncio.ensure_future(pool.run(pid_after, 1.0))
        with pytest.raises(WorkerDied):
            await pool.run(die)
        pid, _, _ = await slow  # the other worker's job, in flight meanwhile, completes
        with pytest.raises(ValueError, match="a job's own error"):
            await pool.run(fail)
        return pid, await pool.run(pid_after, 0), pool.replaced

    pid, (after, _, _), replaced = on_pool(2, body)
    assert replaced == 1 and pid > 0 and after > 0


def test_no_more_jobs_run_at_once_than_there_are_workers():
    async def body(pool):
        return await asyncio.gather(*(pool.run(pid_after, 0.3) for _ in range(6)))

    spans = on_pool(2, body)
    assert len({pid for pid, _, _ in spans}) == 2
    for _, start, _ in spans:
        running = sum(1 for _, s, e in spans if s <= start < e)
        assert running <= 2, spans


def test_a_stopping_run_gives_up_on_jobs_after_its_grace():
    stop = {"now": False}

    async def body(pool):
        jobs = [
            asyncio.ensure_future(pool.run(pid_after, 30, stopping=lambda: stop["now"], grace=0.5))
            for _ in range(2)  # one running, one waiting for the only worker
        ]
        await asyncio.sleep(0.5)
        stop["now"] = True
        started = time.monotonic()
        results = await asyncio.gather(*jobs, return_exceptions=True)
        return results, time.monotonic() - started

    results, took = on_pool(1, body)
    assert [type(r) for r in results] == [Interrupted, Interrupted], results
    assert took < 10


def test_workers_that_cannot_start_say_so_in_one_exception():
    async def body(pool):
        def refuse(index: int) -> None:
            raise OSError(38, "Function not implemented")  # no semaphores, as in some containers

        pool._launch = refuse
        with pytest.raises(PoolUnavailable, match=r"cannot start worker processes: .*implemented"):
            await pool.run(pid_after, 0)

    on_pool(1, body)
