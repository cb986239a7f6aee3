"""A crawl that has decided to stop (a full disk, one SIGTERM) ends: the full-disk
hang of issue 11 (a failed write of requests.seen), and ARSHIF_STOP_TIMEOUT, which
ends a stop that hangs for any other reason."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT, crawl_env
from tests.test_failfast import FAST, _assert_lock_released, _crawl, _end_with_one_sigterm, _runs

# A WARC write failing as on a full disk, and every article's extraction awaiting a
# future that never completes: the close waits for the pages in progress for ever,
# as a full disk's did (a Deferred that never fires).
HANGING_CLOSE_CRAWL = """
import asyncio, errno, sys
from archive.capture.warc import WarcFileWriter
from archive.cli import main
from crawler.pipelines import ExtractPipeline

real = WarcFileWriter._write
stuck = []

def full(self, record):
    if stuck:  # once an article is held: the close has a page in progress to wait for
        raise OSError(errno.ENOSPC, "No space left on device", str(self.directory))
    return real(self, record)

async def never(self, item):
    # Held here: a future only its task refers to is collected with the task.
    stuck.append(asyncio.get_running_loop().create_future())
    await stuck[-1]

WarcFileWriter._write = full
ExtractPipeline.process_item = never
sys.argv = ["arshif", *sys.argv[1:]]
main()
"""


def test_a_stop_that_hangs_ends_the_crawl_within_the_bound_failed_in_one_line(
    mirror_proxy, tmp_path
):
    data = tmp_path / "data"
    env = crawl_env(mirror_proxy, ARSHIF_CONTACT="test@example.org")
    bound = ["-s", "ARSHIF_STOP_TIMEOUT=3"]
    started = time.monotonic()
    args = [sys.executable, "-c", HANGING_CLOSE_CRAWL, "crawl", "--data", str(data)]
    result = _crawl([*args, *FAST, *bound], env)
    took = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert took < 30, f"{took:.1f} s"  # the bound, 3 s, and Scrapy's start and stop
    assert "Traceback" not in output, output[-3000:]
    said = [line for line in result.stderr.splitlines() if "did not stop within 3 s" in line]
    assert len(said) == 1 and "cannot write WARC " in said[0], result.stderr
    assert "No space left on device" in said[0], said
    runs = _runs(data)
    assert [status for _, status, _ in runs] == ["failed"] * 3, runs
    assert all(m.startswith(("cannot write WARC", "stopped: ")) for _, _, m in runs), runs
    assert "3 of 3 site(s) failed" in result.stderr, result.stderr
    _assert_lock_released(data, env)


# Scrapy's dupefilter writing JOBDIR/requests.seen as on a full disk, from the 51st
# request on: through Scrapy's own request_seen, the file under it refusing writes.
SEEN_FULL_CRAWL = """
import errno, sys
from scrapy.dupefilters import RFPDupeFilter
from archive.cli import main

real = RFPDupeFilter.request_seen
count = 0

class Full:
    def __init__(self, file):
        self.file = file
    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    def __getattr__(self, name):
        return getattr(self.file, name)

def seen(self, request):
    global count
    count += 1
    if count > 50 and self.file and not isinstance(self.file, Full):
        self.file = Full(self.file)
    return real(self, request)

RFPDupeFilter.request_seen = seen
sys.argv = ["arshif", *sys.argv[1:]]
main()
"""


def test_a_full_disk_under_the_seen_requests_file_ends_a_big_sitemaps_crawl(tmp_path):
    # One sitemap of 300 articles: each request it yields meets the failing write.
    # Before, past 100 of them the scraper had no worker left, the sitemap's
    # output was never consumed, and the crawl sat idle for ever.
    from mirror.server import MirrorServer
    from tools.bench_crawl_memory import build_mirror

    build_mirror(tmp_path / "mirror", 300)
    server = MirrorServer(tmp_path / "mirror")
    proxy = server.start_in_thread()
    data = tmp_path / "data"
    sites = tmp_path / "mirror" / "sites.toml"
    try:
        env = crawl_env(proxy, ARSHIF_CONTACT="test@example.org")
        args = [sys.executable, "-c", SEEN_FULL_CRAWL, "crawl", "bench", "--sites", str(sites)]
        # No stop deadline: the crawl must end by itself, not be ended.
        result = _crawl([*args, "--data", str(data), *FAST, "-s", "ARSHIF_STOP_TIMEOUT=0"], env)
    finally:
        server.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output[-3000:]
    [(_, status, message)] = _runs(data)
    assert status == "failed", message
    assert message.startswith("cannot write seen-requests file ") and message.endswith(
        "requests.seen: No space left on device"
    ), message


# Every article's extraction awaits a future that never completes: a SIGTERM's
# graceful stop waits for them for ever.
HANGING_EXTRACTION_CRAWL = """
import asyncio, sys
from archive.cli import main
from crawler.pipelines import ExtractPipeline

held = []

async def never(self, item):
    # Held here: a future only its task refers to is collected with the task.
    held.append(asyncio.get_running_loop().create_future())
    await held[-1]

ExtractPipeline.process_item = never
sys.argv = ["arshif", *sys.argv[1:]]
main()
"""


def _run_begun(data: Path) -> bool:
    try:
        return (data / "archive.db").exists() and bool(_runs(data))
    except sqlite3.OperationalError:  # the crawl is creating the schema
        return False


def test_a_sigterm_whose_stop_hangs_ends_the_crawl_within_the_bound(mirror_proxy, tmp_path):
    data = tmp_path / "data"
    env = crawl_env(mirror_proxy, ARSHIF_CONTACT="test@example.org")
    args = [sys.executable, "-c", HANGING_EXTRACTION_CRAWL, "crawl", "--data", str(data)]
    crawl = subprocess.Popen(
        [*args, *FAST, "-s", "ARSHIF_STOP_TIMEOUT=3", "hafryat"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _run_begun(data):
        assert crawl.poll() is None, "the crawl ended before the signal"
        assert time.monotonic() < deadline, "the run did not begin within a minute"
        time.sleep(0.2)
    time.sleep(2)  # articles reach the extraction that never ends
    stdout, stderr = _end_with_one_sigterm(crawl)
    output = stdout + stderr
    assert crawl.returncode == 1, output
    assert "Traceback" not in output, output[-3000:]
    said = [line for line in stderr.splitlines() if "did not stop within 3 s" in line]
    assert len(said) == 1 and "stopped by a signal" in said[0], stderr
    _assert_lock_released(data, env)
    # Recorded interrupted by the stop, or (one run in five under pytest, not yet
    # understood: the row still said running) closed so by the next run.
    assert _runs(data)[0][1] == "interrupted"
