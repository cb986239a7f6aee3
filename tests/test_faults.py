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
    fast = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0"]
    # Sites with settings of their own (a short DOWNLOAD_TIMEOUT) crawl on their own:
    # on a loaded machine such a setting would fail the other sites' pages too.
    groups: dict[tuple[str, ...], list[str]] = {}
    for fault in SMALL:
        groups.setdefault(fault.settings, []).append(fault.key)
    outputs = []
    try:
        for settings, keys in groups.items():
            args = ["crawl", "--data", str(data), "--sites", str(sites), *fast]
            args += [x for setting in settings for x in ("-s", setting)]
            result = run(
                [str(BIN / "arshif"), *args, *keys],
                crawl_env(proxy, ARSHIF_CONTACT="test@example.org"),
                timeout=240,
            )
            outputs.append(result.stdout + result.stderr)
    finally:
        server.stop()
    assert (data / "archive.db").is_file(), outputs[0][-3000:]
    with sqlite3.connect(data / "archive.db") as db:
        statuses = dict(db.execute("SELECT site, status FROM crawl_runs"))
    yield data, statuses, "".join(outputs)


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
        db.execute(
            "CREATE TABLE captures (site TEXT, url TEXT, status INTEGER, error TEXT, id INTEGER)"
        )
        db.execute("CREATE TABLE articles (url TEXT, title TEXT, canonical_url TEXT,"
                   " encoding TEXT, text TEXT)")  # fmt: skip
    for fault in SMALL:
        assert faults.problems(data, fault, None), fault.key
    assert sys.modules["tests.faults"] is faults
