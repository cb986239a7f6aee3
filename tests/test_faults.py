"""Every fault a server or network can cause, each on its own small site, in one crawl:
the plain article beside it is archived, the faulty page is recorded for what it
is, and the run's status says so. The big ones (a 30 MB page, a gzip bomb, many
figures) are in `make reliability`, and in test_bounds.py at a smaller size."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mirror.server import MirrorServer
from tests import faults
from tests.conftest import BIN, crawl_env, run

pytestmark = pytest.mark.e2e

SMALL = [f for f in faults.FAULTS if not f.slow]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict, str]]:
    root = tmp_path_factory.mktemp("faults")
    sites = faults.build(root / "mirror", SMALL)
    server = MirrorServer(root / "mirror")
    proxy = server.start_in_thread()
    data = root / "data"
    settings = [f"-s{s}" for f in SMALL for s in f.settings]
    fast = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0"]
    args = ["crawl", "--data", str(data), "--sites", str(sites), *fast, *settings]
    try:
        result = run(
            [str(BIN / "arshif"), *args, *(f.key for f in SMALL)],
            crawl_env(proxy, ARSHIF_CONTACT="test@example.org"),
            timeout=240,
        )
    finally:
        server.stop()
    assert (data / "archive.db").is_file(), result.stdout + result.stderr[-3000:]
    with sqlite3.connect(data / "archive.db") as db:
        statuses = dict(db.execute("SELECT site, status FROM crawl_runs"))
    yield data, statuses, result.stdout + result.stderr


def test_no_fault_ends_in_a_traceback(crawled):
    _, _, output = crawled
    assert "Traceback" not in output, output[-3000:]


@pytest.mark.parametrize(
    "fault",
    [pytest.param(f, marks=pytest.mark.xfail(reason=f.known, strict=True)) if f.known else f
     for f in SMALL],
    ids=[f.key for f in SMALL],
)  # fmt: skip
def test_each_fault_is_recorded_and_loses_nothing_else(crawled, fault):
    data, statuses, _ = crawled
    assert faults.problems(data, fault, statuses.get(fault.key)) == []


def test_a_fault_site_check_can_fail(tmp_path):
    # An archive holding nothing of a site: every fault's check must say so.
    faults.build(tmp_path / "mirror", SMALL)
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "archive.db") as db:
        db.execute("CREATE TABLE captures (url TEXT, status INTEGER, error TEXT, id INTEGER)")
        db.execute("CREATE TABLE articles (url TEXT, title TEXT, canonical_url TEXT,"
                   " encoding TEXT, text TEXT)")  # fmt: skip
    for fault in SMALL:
        assert faults.problems(data, fault, None), fault.key
    assert sys.modules["tests.faults"] is faults
