"""Nothing lost, nothing hidden: one article is one transaction, a killed crawl's run
row is closed as interrupted, and a run that hit errors does not say ok."""

from __future__ import annotations

import ast
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from scrapy import signals
from scrapy.utils.test import get_crawler

from archive.store import db as schema
from archive.store.verify import check_database
from archive.store.writer import Archive
from crawler.extensions import RunRecorder, SiteErrorCounter, run_figures
from tests.test_store import SITE, _capture

TABLES = ("articles", "article_versions", "article_aliases", "articles_fts", "fingerprint_bands")
STORY = " ".join(f"قالت الوزارة في بيانها رقم {i} إن القوات تقدمت نحو الحدود" for i in range(12))


def _counts(archive: Archive) -> dict[str, int]:
    return {t: archive.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _boom(*args: object, **kwargs: object) -> None:
    raise sqlite3.OperationalError("disk I/O error (injected)")


def test_nested_with_conn_commits_an_explicit_transaction():
    """Why save_article runs no `with conn:` inside its transaction: with the pinned
    Python, leaving a nested `with conn:` commits the outer BEGIN, half-way through."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("BEGIN IMMEDIATE")
    with conn:
        conn.execute("INSERT INTO t VALUES (1)")
    assert not conn.in_transaction  # committed: a ROLLBACK now could not undo the insert


@pytest.mark.parametrize("step", ["_add_version", "_index", "_fingerprint"])
def test_a_failure_inside_save_article_leaves_nothing_of_a_new_article(monkeypatch, step):
    archive = Archive.in_memory()
    archive.register_site(SITE)
    before = _counts(archive)
    monkeypatch.setattr(Archive, step, _boom)
    with pytest.raises(sqlite3.OperationalError, match="injected"):
        archive.save_article(_capture(1, text=STORY), aliases=["https://hafryat.com/?q=node/1"])
    assert _counts(archive) == before
    assert not archive.db.conn.in_transaction
    monkeypatch.undo()
    # The next run stores it afresh, whole, instead of failing on articles.url.
    assert archive.save_article(_capture(1, text=STORY)) == "new"
    assert list(check_database(archive.db.conn)) == []
    assert archive.article_id("https://hafryat.com/ar/node/1") is not None


def test_a_failure_inside_a_new_version_keeps_the_previous_one_whole(monkeypatch):
    archive = Archive.in_memory()
    archive.register_site(SITE)
    archive.save_article(_capture(1, text=STORY))
    before = archive.db.execute("SELECT versions, text, warc_offset FROM articles").fetchone()
    counts = _counts(archive)
    monkeypatch.setattr(Archive, "_index", _boom)
    with pytest.raises(sqlite3.OperationalError):
        archive.save_article(_capture(2, text=STORY + " تحديث"))
    assert archive.db.execute("SELECT versions, text, warc_offset FROM articles").fetchone() == (
        before
    )
    assert _counts(archive) == counts
    monkeypatch.undo()
    assert archive.save_article(_capture(2, text=STORY + " تحديث")) == "updated"
    assert list(check_database(archive.db.conn)) == []


def test_a_reindex_that_fails_half_way_leaves_the_old_index_whole(monkeypatch):
    archive = Archive.in_memory()
    archive.register_site(SITE)
    for n in range(1, 4):
        archive.save_article(_capture(n, url=f"https://hafryat.com/node/{n}", text=f"خبر {n}"))
    index = Archive._index
    calls = []

    def fail_on_the_second(self: Archive, article_id: int) -> None:
        calls.append(article_id)
        if len(calls) == 2:
            _boom()
        index(self, article_id)

    monkeypatch.setattr(Archive, "_index", fail_on_the_second)
    with pytest.raises(sqlite3.OperationalError):
        archive.reindex()
    assert archive.db.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == 3


def test_a_commit_inside_the_transaction_is_an_error_not_a_half_save():
    archive = Archive.in_memory()
    with pytest.raises(RuntimeError, match="committed before its end"), archive._transaction():
        archive.db.conn.commit()
    outer = archive._transaction()
    with pytest.raises(RuntimeError, match="already open"), outer, archive._transaction():
        pass
    assert not archive.db.conn.in_transaction


def test_an_article_half_written_by_an_older_arshif_is_found_by_its_url():
    """An article row without its aliases (a save killed before this fix) must not
    make every later save of it fail on UNIQUE articles.url."""
    archive = Archive.in_memory()
    archive.register_site(SITE)
    archive.save_article(_capture(1))
    archive.db.execute("DELETE FROM article_aliases")
    assert archive.save_article(_capture(2, text="نص معدل")) == "updated"
    assert archive.article_count() == 1


_SAVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from archive.store.writer import Archive
    from tests.test_store import SITE, _capture

    archive = Archive.open(sys.argv[1])
    archive.register_site(SITE)
    story = sys.argv[2]
    round_ = int(sys.argv[3])
    n = 0
    while True:  # saves until killed; each round changes the text, so all are written
        n += 1
        url = f"https://hafryat.com/node/{n % 40}"
        archive.save_article(
            _capture(1, url=url, fetched_url=url + "?f", text=f"{story} {round_} {n}",
                     warc_record_id=f"<urn:uuid:{round_}-{n}>",
                     fetched=f"2026-01-01T00:{round_:02d}:{n % 60:02d}+00:00"),
            aliases=[url + "?alias"],
        )
        if n == 5:
            Path(sys.argv[1], "started").write_text("1")
    """
)


def test_a_crawl_killed_while_saving_leaves_a_whole_archive(tmp_path):
    data = tmp_path / "data"
    root = Path(__file__).resolve().parent.parent
    for round_ in range(6):
        (data / "started").unlink(missing_ok=True)
        child = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(data), STORY, str(round_)],
            cwd=root,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while not (data / "started").exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.05 + 0.037 * round_)  # somewhere in the middle of a save
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stderr.close()
        conn = sqlite3.connect(data / "archive.db")
        assert list(check_database(conn)) == []
        whole = conn.execute(
            "SELECT count(*) FROM articles a WHERE"
            " EXISTS (SELECT 1 FROM article_versions v WHERE v.article_id = a.id)"
            " AND EXISTS (SELECT 1 FROM articles_fts f WHERE f.rowid = a.id)"
            " AND EXISTS (SELECT 1 FROM article_aliases x WHERE x.article_id = a.id"
            "             AND x.url = a.url || '?alias')"
            " AND a.fingerprint IS NOT NULL"
        ).fetchone()[0]
        assert whole == conn.execute("SELECT count(*) FROM articles").fetchone()[0] > 0
        conn.close()


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def test_a_run_left_running_by_a_killed_process_is_closed_as_interrupted(tmp_path):
    archive = Archive.open(tmp_path / "data")
    archive.register_site(SITE)
    runs = archive.db.table("crawl_runs")
    host = socket.gethostname()
    started = "2026-01-01T00:00:00+00:00"
    dead = runs.insert(
        {
            "site": "hafryat",
            "started": started,
            "status": "running",
            "pid": _dead_pid(),
            "host": host,
        }
    ).last_pk
    unknown = runs.insert({"site": "hafryat", "started": started, "status": "running"}).last_pk
    alive = runs.insert(
        {
            "site": "hafryat",
            "started": started,
            "status": "running",
            "pid": os.getpid(),
            "host": host,
        }
    ).last_pk
    elsewhere = runs.insert(
        {"site": "hafryat", "started": started, "status": "running", "pid": 1, "host": host + "-x"}
    ).last_pk
    done = runs.insert({"site": "hafryat", "started": started, "status": "ok"}).last_pk
    new = archive.start_run(SITE)
    status = {r["id"]: r["status"] for r in runs.rows}
    assert status == {
        dead: "interrupted",
        unknown: "interrupted",
        alive: "running",
        elsewhere: "running",
        done: "ok",
        new: "running",
    }
    assert archive.run(new)["pid"] == os.getpid() and archive.run(new)["host"] == host
    interrupted = archive.run(dead)
    assert interrupted["finished"] and "ended before the run finished" in interrupted["message"]


def test_an_archive_from_before_run_pids_gets_its_running_rows_closed(tmp_path):
    path = tmp_path / "data" / "archive.db"
    path.parent.mkdir()
    old = schema.connect(path)  # migrate as far as version 6, then stop
    old.close()
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE crawl_runs DROP COLUMN pid")
    conn.execute("ALTER TABLE crawl_runs DROP COLUMN host")
    conn.execute("DROP TABLE IF EXISTS lost_records")  # migration 8, after this one
    conn.execute("PRAGMA user_version = 6")
    conn.execute("INSERT INTO sites VALUES ('hafryat', 'h', 'drupal', 'ar', '[]', 'x')")
    conn.execute(
        "INSERT INTO crawl_runs (site, started, status) VALUES ('hafryat', '2026', 'running')"
    )
    conn.commit()
    conn.close()
    archive = Archive.open(tmp_path / "data")
    archive.start_run(SITE)
    assert archive.run(1)["status"] == "interrupted"


def test_a_run_whose_saves_failed_is_not_ok(tmp_path):
    found = {"arshif/warc_responses": 5, "arshif/pages_fetched": 4, "arshif/article_links": 3}
    assert run_figures(found, "finished").status == "ok"
    assert run_figures(found | {"arshif/item_errors": 1}, "finished").status == "partial"
    assert run_figures(found | {"arshif/spider_errors": 1}, "finished").errors == 1
    logged = run_figures(found | {"arshif/errors_logged": 2}, "finished")
    assert logged.status == "partial" and "2 error(s) logged" in logged.message
    # Scrapy's log_count/ERROR counts every site of the process: not this run's.
    assert run_figures(found | {"log_count/ERROR": 2}, "finished").status == "ok"
    # The recorder counts a pipeline's failure (Scrapy's item_error signal).
    crawler = get_crawler(settings_dict={"ARSHIF_DATA_DIR": str(tmp_path)})
    recorder = RunRecorder.from_crawler(crawler)  # signals hold only a weak reference
    crawler.signals.send_catch_log(
        signals.item_error, item={}, response=None, spider=None, failure=None
    )
    assert crawler.stats.get_value("arshif/item_errors") == 1 and recorder.run_id is None


def _read_in_another_process(db: Path) -> list:
    code = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
        " print(c.execute('SELECT status, (SELECT count(*) FROM articles) FROM crawl_runs')"
        ".fetchall()); c.close()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(db)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return ast.literal_eval(done.stdout)  # the list of tuples the child printed


def test_a_reader_in_another_process_sees_what_the_crawl_committed(tmp_path):
    # A crawl opens archive.db several times (run recorder, capture middleware, pipeline).
    # Reading the header of an open archive with open()/close() released every SQLite
    # lock the process held (POSIX), so a reader closing its connection (`arshif stats`
    # during the crawl) took itself for the last one and deleted the WAL the crawl was
    # still writing to: later commits went to an unlinked file, unseen, then lost.
    first = Archive.open(tmp_path)
    run_id = first.start_run(SITE)
    second = Archive.open(tmp_path)  # as a second component of the crawl does
    assert _read_in_another_process(tmp_path / "archive.db") == [("running", 0)]
    second.save_article(_capture(1, text=STORY))
    first.finish_run(run_id, run_figures({}, "shutdown"))
    assert _read_in_another_process(tmp_path / "archive.db") == [("interrupted", 1)]
    first.close()
    second.close()
    assert _read_in_another_process(tmp_path / "archive.db") == [("interrupted", 1)]


def test_a_sites_error_count_leaves_out_the_other_sites_records():
    # Sites crawled in one process share the root logger: a failed retry of one must
    # not make the others say partial. A record no site claims counts for each.
    ours, theirs = get_crawler(), get_crawler()
    ours.spider, theirs.spider = object(), object()
    counter = SiteErrorCounter(ours)
    log = logging.getLogger("scrapy.downloadermiddlewares.retry")
    log.addHandler(counter)
    try:
        log.error("Gave up retrying", extra={"spider": theirs.spider})
        log.error("Gave up retrying", extra={"crawler": theirs})
        assert ours.stats.get_value("arshif/errors_logged") is None
        log.error("Gave up retrying", extra={"spider": ours.spider})
        log.warning("a warning is no error", extra={"spider": ours.spider})
        log.error("nobody's")
        assert ours.stats.get_value("arshif/errors_logged") == 2
    finally:
        log.removeHandler(counter)
