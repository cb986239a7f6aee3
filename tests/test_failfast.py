"""Fail fast: a full disk or one SIGTERM ends `arshif crawl` cleanly, in one line, with
the lock released and every run row closed."""

from __future__ import annotations

import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from archive.store.writer import Archive
from tests.conftest import BIN, ROOT, crawl_env

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0"]

# `arshif crawl` with the WARC writer failing as on a full disk after a few records:
# the disk cannot be filled in a test, so the write is made to fail where it happens.
ENOSPC_CRAWL = """
import errno, sys
from archive.capture.warc import WarcFileWriter
from archive.cli import main

real = WarcFileWriter._write
count = 0

def full(self, record):
    global count
    count += 1
    if count > 12:
        raise OSError(errno.ENOSPC, "No space left on device", str(self.directory))
    return real(self, record)

WarcFileWriter._write = full
sys.argv = ["arshif", *sys.argv[1:]]
main()
"""


def _small_files(limit: int):
    """A preexec_fn: no file of the child may grow past `limit` bytes, as on a full disk.
    SIGXFSZ ignored, so a write past it fails with an OSError (EFBIG) instead of killing."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _runs(data: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(data / "archive.db") as db:
        return db.execute("SELECT site, status, message FROM crawl_runs ORDER BY id").fetchall()


def _wait_for_runs(data: Path, crawl: subprocess.Popen, count: int) -> None:
    """Until `count` run rows exist (a bounded wait): archive.db may not exist yet, or not
    its tables, while the crawl starts."""
    deadline = time.monotonic() + 60
    while True:
        assert crawl.poll() is None, "the crawl ended before the signal"
        assert time.monotonic() < deadline, f"{count} run(s) did not begin within a minute"
        try:
            if (data / "archive.db").exists() and len(_runs(data)) >= count:
                return
        except sqlite3.OperationalError:  # no such table yet, or a write under way
            pass
        time.sleep(0.1)


def _end_with_one_sigterm(crawl: subprocess.Popen) -> tuple[str, str]:
    crawl.send_signal(signal.SIGTERM)
    try:
        stdout, stderr = crawl.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        crawl.kill()
        raise AssertionError("one SIGTERM did not end the crawl within 30 s") from None
    return stdout, stderr


def _crawl(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = subprocess.run(
        args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, **kwargs
    )
    assert time.monotonic() - started < 60, "the crawl did not stop within a minute"
    return result


def _assert_verifies(data: Path, env: dict[str, str]) -> None:
    """What the stopped run left is an archive, not a half-written one."""
    verify = subprocess.run(
        [str(BIN / "arshif"), "verify", "--data", str(data)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _assert_lock_released(data: Path, env: dict[str, str]) -> None:
    again = _crawl([str(BIN / "arshif"), "crawl", "--data", str(data), *FAST, "hafryat"], env)
    assert "locked" not in again.stderr.lower(), again.stderr
    assert again.returncode == 0, again.stderr[-3000:]


def test_a_full_disk_under_the_archive_db_ends_the_crawl_in_one_line(mirror_proxy, tmp_path):
    data = tmp_path / "data"
    Archive.open(data).close()  # with no limit: only the crawl's own writes meet it
    env = crawl_env(mirror_proxy, ARSHIF_CONTACT="test@example.org")
    # Files stop growing at 400 kB: the database's write-ahead log meets it first.
    result = _crawl(
        [str(BIN / "arshif"), "crawl", "--data", str(data), *FAST],
        env,
        preexec_fn=_small_files(400_000),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output[-3000:]
    summary = result.stdout.splitlines()[1:]
    assert len(summary) == 3 and all(line.split()[1] == "failed" for line in summary), output
    assert all(f"cannot write {data / 'archive.db'}: " in line for line in summary), output
    _assert_verifies(data, env)
    _assert_lock_released(data, env)
    # The rows the full disk left 'running' are closed by the next run, never left open.
    statuses = [status for _, status, _ in _runs(data)]
    assert "running" not in statuses and statuses[:3] != ["ok"] * 3, statuses


def test_a_warc_write_failing_ends_every_site_failed_naming_the_cause(mirror_proxy, tmp_path):
    data = tmp_path / "data"
    env = crawl_env(mirror_proxy, ARSHIF_CONTACT="test@example.org")
    result = _crawl([sys.executable, "-c", ENOSPC_CRAWL, "crawl", "--data", str(data), *FAST], env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output[-3000:]
    runs = _runs(data)
    assert [status for _, status, _ in runs] == ["failed"] * 3, runs
    causes = [m for _, _, m in runs if m and m.startswith("cannot write WARC ")]
    assert causes and all(m.endswith(": No space left on device") for m in causes), runs
    # The disk is shared: the sites that could still write were stopped too, saying why.
    assert all(m.startswith(("cannot write WARC", "stopped: ")) for _, _, m in runs), runs
    assert "No space left on device" in result.stdout
    _assert_verifies(data, env)
    _assert_lock_released(data, env)


def test_one_sigterm_ends_the_crawl_cleanly_with_every_run_closed(mirror_proxy, tmp_path):
    data = tmp_path / "data"
    env = crawl_env(mirror_proxy, ARSHIF_CONTACT="test@example.org")
    slow = ["-s", "DOWNLOAD_DELAY=0.5", "-s", "AUTOTHROTTLE_ENABLED=False"]
    crawl = subprocess.Popen(
        [str(BIN / "arshif"), "crawl", "--data", str(data), *slow],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Signalled once every site's run has begun (3 s sufficed, until a loaded machine
    # took longer than that to start Scrapy and the signal came before any run).
    _wait_for_runs(data, crawl, 3)
    time.sleep(1)
    assert crawl.poll() is None, "the crawl ended before the signal"
    stdout, stderr = _end_with_one_sigterm(crawl)
    output = stdout + stderr
    assert crawl.returncode not in (0, None), output
    assert "Traceback" not in output, output[-3000:]
    runs = _runs(data)
    assert len(runs) == 3 and {status for _, status, _ in runs} == {"interrupted"}, runs
    assert "3 of 3 site(s) failed" in stderr, stderr
    _assert_verifies(data, env)
    _assert_lock_released(data, env)


@pytest.mark.parametrize("moment", ["lock", "first-run"])
def test_a_sigterm_as_the_crawl_starts_ends_it_cleanly(mirror_proxy, tmp_path, moment):
    # Signalled as soon as the lock is taken (before Scrapy and its reactor run), or as
    # the first site's run row is written (the others opening): the default handler
    # killed the process then, or the stop was lost and a site crawled on, 'running'.
    data = tmp_path / "data"
    env = crawl_env(mirror_proxy, ARSHIF_CONTACT="test@example.org")
    crawl = subprocess.Popen(
        [str(BIN / "arshif"), "crawl", "--data", str(data), *FAST],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if moment == "lock":
        deadline = time.monotonic() + 60
        while not (data / "crawl.lock").exists():
            assert crawl.poll() is None, "the crawl ended before the signal"
            assert time.monotonic() < deadline, "the crawl did not take its lock within a minute"
            time.sleep(0.01)
    else:
        _wait_for_runs(data, crawl, 1)
    started = time.monotonic()
    stdout, stderr = _end_with_one_sigterm(crawl)
    output = stdout + stderr
    assert crawl.returncode == 1, f"exit {crawl.returncode}: {output[-3000:]}"
    assert time.monotonic() - started < 30, "the stop took longer than ARSHIF_STOP_TIMEOUT"
    assert "Traceback" not in output, output[-3000:]
    statuses = [status for _, status, _ in _runs(data)] if (data / "archive.db").exists() else []
    assert set(statuses) <= {"interrupted"}, statuses
    if moment == "first-run":
        assert statuses, "the run that had begun was not recorded"
    assert "arshif: stopped by SIGTERM" in stderr, stderr[-3000:]
    _assert_lock_released(data, env)


def test_a_sigterm_during_a_long_retry_wait_still_ends_the_crawl_at_once(mirror_proxy, tmp_path):
    # A host the mirror does not hold answers 502 to all; a back-off of 100 s is a wait
    # (like a Retry-After of minutes) that a graceful shutdown would otherwise sit out.
    sites = tmp_path / "sites.toml"
    sites.write_text(
        '[sites.down]\ncms = "wordpress"\ndomains = ["www.down.example"]\n', encoding="utf-8"
    )
    data = tmp_path / "data"
    env = crawl_env(mirror_proxy, ARSHIF_CONTACT="test@example.org")
    args = ["--data", str(data), "--sites", str(sites), *FAST, "-s", "ARSHIF_RETRY_BACKOFF=100"]
    crawl = subprocess.Popen(
        [str(BIN / "arshif"), "crawl", *args, "down"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_runs(data, crawl, 1)
    time.sleep(2)  # into the retry wait
    assert crawl.poll() is None, "the crawl ended before the signal"
    crawl.send_signal(signal.SIGTERM)
    started = time.monotonic()
    try:
        stdout, stderr = crawl.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        crawl.kill()
        raise AssertionError("one SIGTERM did not end the crawl within a minute") from None
    assert time.monotonic() - started < 30, "the shutdown sat out the retry wait"
    assert crawl.returncode == 1, stdout + stderr
    assert "Traceback" not in stdout + stderr, stderr[-3000:]
    assert [status for _, status, _ in _runs(data)] == ["interrupted"]


def test_a_log_file_on_a_full_disk_is_one_line_not_a_traceback_per_record(tmp_path, capsys):
    import errno
    import logging

    from crawler.failure import log_file_failures

    class FullDisk(logging.FileHandler):
        def flush(self) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    log_file = tmp_path / "crawl.log"
    handler = FullDisk(log_file)
    logger = logging.getLogger("arshif.test.fulldisk")
    logger.addHandler(handler)
    try:
        with log_file_failures(log_file):
            for n in range(3):
                logger.warning("record %d", n)
        assert logging.FileHandler.handleError is logging.Handler.handleError  # put back
    finally:
        logger.removeHandler(handler)
        handler.close = lambda: None  # type: ignore[method-assign]
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Logging error" not in err, err
    assert err.splitlines() == [
        f"arshif: cannot write the log {log_file}: No space left on device;"
        " its lines are lost from here"
    ]


def _scheduler_with_a_jobdir(tmp_path: Path) -> tuple[Any, Any]:
    """A crawler and its open StorageAwareScheduler keeping its queues in tmp_path/job."""
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from crawler import failure
    from crawler.scheduler import StorageAwareScheduler

    crawler = get_crawler(
        settings_dict={
            "JOBDIR": str(tmp_path / "job"),
            "SCHEDULER": StorageAwareScheduler,
            # The default queue asks the engine about downloader slots: no engine here.
            "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue",
        }
    )
    failure.register(crawler)
    scheduler = StorageAwareScheduler.from_crawler(crawler)
    scheduler.open(Spider.from_crawler(crawler, "site"))
    return crawler, scheduler


def test_a_full_disk_under_the_request_queue_stops_the_run_in_one_line(tmp_path):
    import errno

    from scrapy import Request

    from crawler import failure

    crawler, scheduler = _scheduler_with_a_jobdir(tmp_path)

    def full(request: Request) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    assert scheduler.dqs is not None
    scheduler.dqs.push = full  # type: ignore[method-assign]
    scheduler.dqs.pop = lambda: full(None)  # type: ignore[method-assign]
    assert scheduler.enqueue_request(Request("https://a.example/1"))  # kept in memory
    assert crawler.stats.get_value(failure.MESSAGE_STAT) == (
        f"cannot write request queue {tmp_path / 'job' / 'requests.queue'}: No space left on device"
    )
    assert scheduler._dqpop() is None


def test_a_seen_requests_file_on_a_full_disk_keeps_the_request_and_stops_the_run(tmp_path):
    # Scrapy's dupefilter writes each fingerprint to JOBDIR/requests.seen from
    # engine.crawl: raised there, each error killed one of the scraper's 100 output
    # workers, a big sitemap's output was never consumed and the close hung for ever.
    import errno

    from scrapy import Request

    from crawler import failure

    crawler, scheduler = _scheduler_with_a_jobdir(tmp_path)

    class FullFile:
        name = str(tmp_path / "job" / "requests.seen")

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    scheduler.df.file = FullFile()  # type: ignore[attr-defined]
    for n in range(150):  # more than the scraper's 100 workers
        assert scheduler.enqueue_request(Request(f"https://a.example/{n}"))
    assert not scheduler.enqueue_request(Request("https://a.example/7"))  # still deduplicated
    assert crawler.stats.get_value(failure.MESSAGE_STAT) == (
        f"cannot write seen-requests file {FullFile.name}: No space left on device"
    )
    assert len(scheduler) == 150  # none lost: all wait to be fetched or dropped at the stop
