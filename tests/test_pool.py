"""Extraction in worker processes, end to end over the mirror: the same rows and WARC
metadata records as in process; and whatever happens to a page in flight (a SIGTERM,
a time bound, a worker killed) it is stored, or recorded as failed on its capture and
redone by `arshif reextract`: no fetched article is lost.

The slow extractions these tests need come from ARSHIF_EXTRACT_TEST_DELAY, a sleep in
the worker before it extracts; the time bound, the kill and the shutdown are real.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import BIN, ROOT, crawl_env, run

pytestmark = pytest.mark.e2e

SITE = "hafryat"  # 34 articles, some fetched under a Drupal alias
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0"]
# Columns that differ between any two crawls: where and when, not what was extracted.
# discovery too: which feeds, sitemaps and listings named a page before it was
# fetched depends on the order pages came in.
_CRAWL_COLUMNS = {
    "id", "fetched", "warc_filename", "warc_offset", "warc_length", "warc_record_id",
    "capture_id", "run_id", "metadata_record_id", "last_checked", "duplicate_group",
    "discovery",
}  # fmt: skip


def env(proxy: str) -> dict[str, str]:
    return crawl_env(proxy, ARSHIF_CONTACT="test@example.org")


def crawl_command(data: Path, *settings: str) -> list[str]:
    sets = [arg for setting in settings for arg in ("-s", setting)]
    return [str(BIN / "arshif"), "crawl", "--data", str(data), *FAST, *sets, SITE]


def query(data: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{data / 'archive.db'}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def articles(data: Path) -> dict[str, dict]:
    db = sqlite3.connect(data / "archive.db")
    db.row_factory = sqlite3.Row
    try:
        rows = db.execute("SELECT * FROM articles").fetchall()
    finally:
        db.close()
    return {
        r["url"]: {k: v for k, v in zip(r.keys(), r, strict=True) if k not in _CRAWL_COLUMNS}
        for r in rows
    }


def metadata_records(data: Path) -> dict[str, dict]:
    """The crawl's metadata records by URL, without their discovery (see above)."""
    found = {}
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with path.open("rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type == "metadata":
                    payload = json.loads(record.content_stream().read())
                    payload.pop("discovery", None)
                    found[record.rec_headers.get_header("WARC-Target-URI")] = payload
    return found


def stored(data: Path) -> set[str]:
    return {url for (url,) in query(data, "SELECT fetched_url FROM articles")}


def failed(data: Path, outcome: str) -> set[str]:
    rows = query(data, f"SELECT url FROM captures WHERE error LIKE '{outcome}: %'")
    return {url for (url,) in rows}


def reextract(data: Path, proxy: str) -> None:
    result = run([str(BIN / "arshif"), "reextract", "--data", str(data)], env(proxy))
    assert result.returncode == 0, result.stdout + result.stderr


def log_of(data: Path) -> str:
    return next((data / "logs").glob("crawl-*.log")).read_text(encoding="utf-8")


def start(command: list[str], proxy: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, env=env(proxy), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_articles(data: Path, crawl: subprocess.Popen[str], count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and crawl.poll() is None:
        with contextlib.suppress(sqlite3.OperationalError):  # not created yet
            if len(stored(data)) >= count:
                return
        time.sleep(0.2)
    crawl.kill()
    raise AssertionError(f"the crawl did not store {count} articles: {crawl.communicate()}")


def test_pooled_extraction_stores_what_in_process_extraction_stores(mirror_proxy, tmp_path):
    results = {}
    for workers in (0, 2):
        data = tmp_path / f"workers-{workers}"
        done = run(crawl_command(data, f"ARSHIF_EXTRACT_WORKERS={workers}"), env(mirror_proxy))
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        where = "2 worker process(es)" if workers else "the crawl process"
        assert f"{SITE}: extracting pages in {where}" in log_of(data)
        results[workers] = articles(data), metadata_records(data)
    (rows_here, records_here), (rows_pooled, records_pooled) = results[0], results[2]
    assert len(rows_here) >= 30 and len(records_here) >= 30
    assert rows_pooled == rows_here
    assert records_pooled == records_here


def test_a_sigterm_with_extractions_in_flight_loses_no_fetched_article(mirror_proxy, tmp_path):
    data = tmp_path / "data"
    crawl = start(
        crawl_command(
            data,
            "ARSHIF_EXTRACT_WORKERS=2",
            "ARSHIF_EXTRACT_TEST_DELAY=1",  # 2 pages a second: the rest wait in flight
            "ARSHIF_EXTRACT_SHUTDOWN_GRACE=1.5",
        ),
        mirror_proxy,
    )
    wait_for_articles(data, crawl, 2)
    crawl.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    try:
        stdout, stderr = crawl.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        crawl.kill()
        raise AssertionError("one SIGTERM did not end the crawl") from None
    assert time.monotonic() - signalled < 30
    assert "Traceback" not in stdout + stderr, stderr[-3000:]
    assert query(data, "SELECT status FROM crawl_runs") == [("interrupted",)]

    kept, interrupted = stored(data), failed(data, "extract-interrupted")
    assert kept and interrupted and not kept & interrupted, (kept, interrupted)
    reextract(data, mirror_proxy)
    # Every article response in the WARC was stored by the crawl or is named failed on
    # its capture, and reextract stored those.
    assert stored(data) == kept | interrupted


def test_an_extraction_past_the_time_bound_is_recorded_and_redone_by_reextract(
    mirror_proxy, tmp_path
):
    data = tmp_path / "data"
    slow = r"/node/60(100|105)$"
    started = time.monotonic()
    done = run(
        crawl_command(
            data,
            "ARSHIF_EXTRACT_WORKERS=2",
            "ARSHIF_EXTRACT_TIMEOUT=1",
            "ARSHIF_EXTRACT_TEST_DELAY=600",
            f"ARSHIF_EXTRACT_TEST_DELAY_URLS={slow}",
        ),
        env(mirror_proxy),
    )
    assert time.monotonic() - started < 120  # the 600 s sleeps were cut short
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    timed_out = failed(data, "extract-timeout")
    assert timed_out == {"https://hafryat.com/node/60100", "https://hafryat.com/node/60105"}
    (error,) = set(query(data, "SELECT error FROM captures WHERE error IS NOT NULL"))
    assert error == ("extract-timeout: ARSHIF_EXTRACT_TIMEOUT: still running after 1 s",)
    (run_row,) = query(data, "SELECT status, errors, message FROM crawl_runs")
    assert run_row == (
        "partial",
        2,
        "2 page(s) not extracted, left for reextract (see captures)",
    ), run_row
    kept = stored(data)
    assert len(kept) >= 30 and not kept & timed_out  # the pool went on after each kill
    assert "hafryat: https://hafryat.com/node/60100: extract-timeout: " in log_of(data)

    reextract(data, mirror_proxy)
    assert stored(data) == kept | timed_out


def _descendants(pid: int) -> dict[int, int]:
    """Every process under pid, with its depth (1: a child)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    depth = {pid: 0}
    changed = True
    while changed:
        changed = False
        for child, parent in parents.items():
            if parent in depth and child not in depth:
                depth[child] = depth[parent] + 1
                changed = True
    del depth[pid]
    return depth


def test_a_killed_worker_fails_its_page_only_and_the_crawl_goes_on(mirror_proxy, tmp_path):
    data = tmp_path / "data"
    crawl = start(
        crawl_command(data, "ARSHIF_EXTRACT_WORKERS=2", "ARSHIF_EXTRACT_TEST_DELAY=0.5"),
        mirror_proxy,
    )
    wait_for_articles(data, crawl, 2)
    # Workers are forked by the fork server, a child of the crawl: its children.
    workers = [p for p, depth in _descendants(crawl.pid).items() if depth == 2]
    assert len(workers) == 2, _descendants(crawl.pid)
    for pid in workers:
        signal_process(pid)
    try:
        stdout, stderr = crawl.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        crawl.kill()
        raise AssertionError("a killed worker hung the crawl") from None
    assert "Traceback" not in stdout + stderr, stderr[-3000:]
    died = failed(data, "extract-failed")
    assert 1 <= len(died) <= 2, died
    assert query(data, "SELECT status FROM crawl_runs") == [("partial",)]
    kept = stored(data)
    assert len(kept) + len(died) >= 30 and not kept & died

    reextract(data, mirror_proxy)
    assert stored(data) == kept | died


def signal_process(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it finished and went meanwhile
        os.kill(pid, signal.SIGKILL)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"  # dead, waiting for a parent to reap it


def test_workers_do_not_outlive_a_killed_crawl(mirror_proxy, tmp_path):
    data = tmp_path / "data"
    crawl = start(
        crawl_command(data, "ARSHIF_EXTRACT_WORKERS=2", "ARSHIF_EXTRACT_TEST_DELAY=0.5"),
        mirror_proxy,
    )
    wait_for_articles(data, crawl, 1)
    tree = _descendants(crawl.pid)
    assert sum(1 for depth in tree.values() if depth == 2) == 2, tree
    crawl.kill()
    crawl.wait()  # reaped; not communicate(): the workers hold its stdout while they live
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(_gone(pid) for pid in tree):
        time.sleep(0.2)
    left = [pid for pid in tree if not _gone(pid)]
    for pid in left:
        signal_process(pid)  # not left behind by the test either
    crawl.communicate()
    assert left == [], "processes outlived the crawl"
