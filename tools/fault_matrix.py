"""The fault matrix of ``make reliability``: every fault, on its own, in one table row.

Server faults are the fault sites of tests/faults.py (each crawled alone, into
its own data directory, from the mirror). Disk, signal and archive faults are
applied to the kill trials' archive or to the generated site's crawl: a full
disk (a 3 MB tmpfs), SIGTERM, a read-only mount, broken archive files, bad WARC
offsets on the original-page route, hostile queries and inputs. A row is green
when the outcome is the expected one (status, exit code, one line, nothing
lost) and the child's peak RSS is under the limit.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crawler.runner import FAILED
from tests import faults
from tools.child import BIN, Finished, arshif, env, run

MOUNTS: list[Path] = []


@dataclass
class Row:
    fault: str
    outcome: str = ""
    status: str = "-"
    code: int | None = None
    peak_mb: float = 0.0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def green(self, limit: float) -> bool:
        return not self.problems and self.peak_mb < limit

    def take(self, done: Finished) -> Finished:
        self.code = done.code
        self.peak_mb = max(self.peak_mb, done.peak_mb)
        self.seconds += done.seconds
        if done.traceback:
            self.problems.append("a traceback")
        return done


def table(rows: list[Row], limit: float) -> str:
    lines = [
        "| fault | outcome | status reported | exit | peak RSS | time | |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        outcome = "; ".join(r.problems) if r.problems else r.outcome
        outcome = " ".join(outcome.replace("|", "/").split())  # one table row, always
        mark = "green" if r.green(limit) else "**RED**"
        lines.append(
            f"| {r.fault} | {outcome} | {r.status} | {r.code} | {r.peak_mb:.0f} MB"
            f" | {r.seconds:.1f} s | {mark} |"
        )
    return "\n".join(lines)


def _runs(data: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(data / "archive.db") as db:
        return db.execute("SELECT site, status, message FROM crawl_runs ORDER BY id").fetchall()


def _one_line(done: Finished, row: Row, code: int, *words: str) -> None:
    """The command exited `code` with its error on one stderr line holding `words`."""
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    if done.code != code:
        row.problems.append(f"exit {done.code}, expected {code}: {done.output.strip()[-160:]}")
    elif code and (len(lines) != 1 or not all(w in lines[0] for w in words)):
        row.problems.append(f"not one line naming {words}: {lines[:3]}")
    elif lines and code:
        row.outcome = lines[0].replace("|", "/")[:110]


# -- server faults --------------------------------------------------------------------


def server_rows(work: Path) -> list[Row]:
    from mirror.server import MirrorServer

    root = work / "faults"
    sites = faults.build(root / "mirror", faults.FAULTS)
    server = MirrorServer(root / "mirror")
    proxy = server.start_in_thread()
    rows = []
    try:
        for fault in faults.FAULTS:
            row = Row(fault.fault)
            data = root / fault.key
            settings = [x for s in fault.settings for x in ("-s", s)]
            done = row.take(
                run(
                    arshif(
                        "crawl",
                        "--data",
                        str(data),
                        "--sites",
                        str(sites),
                        "-s",
                        "DOWNLOAD_DELAY=0",
                        "-s",
                        "AUTOTHROTTLE_START_DELAY=0",
                        *settings,
                        fault.key,
                    ),
                    env(proxy),
                    timeout=300,
                )
            )
            runs = _runs(data) if (data / "archive.db").is_file() else []
            row.status = runs[-1][1] if runs else "none"
            message = (runs[-1][2] or "") if runs else ""
            expected_code = 1 if row.status in FAILED else 0
            if done.code != expected_code:
                row.problems.append(f"exit {done.code} for status {row.status}")
            row.problems += faults.problems(data, fault, row.status)
            if fault.known and row.problems:
                row.problems.append(f"known: {fault.known}")
            row.outcome = _outcome(data, fault, message)
            rows.append(row)
            print(
                f"  {row.fault}: {row.status}, {row.seconds:.1f} s, {row.peak_mb:.0f} MB",
                flush=True,
            )
    finally:
        server.stop()
    return rows


def _outcome(data: Path, fault: faults.FaultSite, message: str) -> str:
    said = faults.captures(data, fault.key, "/news/2")
    got = faults.stored(data, fault.key, "/news/2")
    if got is not None:
        return f"/news/2 archived ({got[2]}), /news/1 archived"
    last = said[-1] if said else (None, "never requested")
    what = (last[1] or f"HTTP {last[0]}").split("\n")[0][:70].replace("|", "/")
    return f"/news/2 recorded: {what}; /news/1 archived" + (f" ({message[:50]})" if message else "")


# -- disk, signal and archive faults --------------------------------------------------


def _mount(kind: str, target: Path, source: Path | None = None) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    if kind == "tmpfs":
        command = ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(target)]
    else:
        command = ["mount", "--bind", str(source), str(target)]
    if subprocess.run(command, capture_output=True).returncode != 0:
        return False
    MOUNTS.append(target)
    if kind == "tmpfs":
        return True
    remount = ["mount", "-o", "remount,bind,ro", str(target)]
    return subprocess.run(remount, capture_output=True).returncode == 0


def unmount_stale(work: Path) -> None:
    """Mounts left under work by a run that was itself killed: gone before work is."""
    for name in ("full", "media"):
        if (work / name).is_mount():
            subprocess.run(["umount", "--lazy", str(work / name)], capture_output=True)


def unmount_all() -> None:
    while MOUNTS:
        target = str(MOUNTS.pop())
        if subprocess.run(["umount", target], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", target], capture_output=True)


# The disk made full just before this call (tests/fill_disk.py): the moment the random
# row met once in 14 runs, when archive.db was the file that filled.
DB_WRITE = "save_article:2"


def full_disk(work: Path, proxy: str, sites: Path, when: str | None = None) -> Row:
    row = Row("full disk (3 MB tmpfs)" if when is None else f"full disk at {when} (3 MB tmpfs)")
    data = work / "full"
    if not _mount("tmpfs", data):
        row.outcome = "skipped: cannot mount a tmpfs here (not root?)"
        row.problems.append(row.outcome)
        return row
    filled = [str(BIN / "python"), "-m", "tests.fill_disk", when, "0"] if when else arshif()
    crawl = [
        *filled,
        "crawl",
        "bench",
        "--sites",
        str(sites),
        "--data",
        str(data),
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
    ]
    done = row.take(run(crawl, env(proxy), timeout=120))
    runs = _runs(data) if (data / "archive.db").is_file() else []
    row.status = ", ".join(sorted({s for _, s, _ in runs})) or "none"
    said = [x for x in done.stdout.splitlines() if "cannot write" in x]
    if done.code != 1 or row.status != "failed" or not said or done.seconds > 60:
        row.problems.append(
            f"exit {done.code}, {row.status}, {done.seconds:.0f} s: {done.output[-200:]}"
        )
    again = row.take(run(arshif(*crawl[crawl.index("crawl") :]), env(proxy), timeout=120))
    if again.code == 75:
        row.problems.append("the lock was not released: the next crawl exited 75")
    checked = row.take(run(arshif("verify", "--data", str(data)), env(), timeout=120))
    if checked.code != 0:
        row.problems.append(f"verify: {checked.stdout.strip()[:150]}")
    row.code = done.code  # the crawl's, not the checks'
    cause = said[0][said[0].index("cannot write") :] if said else ""
    row.outcome = f"{cause[:110]}; lock released; verify ok without --repair"
    unmount_all()
    return row


def sigterm(work: Path, proxy: str, sites: Path) -> Row:
    row = Row("SIGTERM during a crawl")
    data = work / "sigterm"
    crawl = arshif(
        "crawl",
        "bench",
        "--sites",
        str(sites),
        "--data",
        str(data),
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
    )
    sent: list[float] = []

    def poll(pid: int, elapsed: float) -> None:
        if elapsed > 8 and not sent:
            os.kill(pid, signal.SIGTERM)
            sent.append(elapsed)

    done = row.take(run(crawl, env(proxy), timeout=120, poll=poll))
    runs = _runs(data)
    row.status = ", ".join(sorted({s for _, s, _ in runs}))
    took = done.seconds - (sent[0] if sent else 0)
    if not sent or done.code in (0, None) or row.status != "interrupted" or took > 30:
        row.problems.append(f"exit {done.code}, {row.status}, ended {took:.1f} s after SIGTERM")
    checked = row.take(run(arshif("verify", "--data", str(data)), env(), timeout=300))
    if checked.code != 0:
        row.problems.append(f"verify: {checked.stdout.strip()[:150]}")
    row.code = done.code  # the crawl's, not verify's
    row.outcome = f"ended {took:.1f} s after the signal; runs closed; verify ok"
    return row


def read_only(work: Path, data: Path) -> Row:
    row = Row("read-only archive (ro bind mount)")
    media = work / "media"
    if not _mount("bind", media, data):
        row.problems.append("skipped: cannot make a read-only bind mount here (not root?)")
        return row
    commands = [
        ["search", "روسيا"],
        ["stats"],
        ["verify"],
        ["export", "--format", "jsonl", "-o", str(work / "ro.jsonl")],
        ["export-wacz", "-o", str(work / "ro.wacz")],
    ]
    for command in commands:
        done = row.take(run(arshif(*command, "--data", str(media)), env(), timeout=300))
        if done.code != 0:
            row.problems.append(f"{command[0]}: exit {done.code}: {done.stderr.strip()[-150:]}")
    row.code = None if row.problems else 0
    row.status = "-"
    row.outcome = "search, stats, verify, export, export-wacz: exit 0, archive untouched"
    unmount_all()
    return row


BREAKAGES: dict[str, Callable[[Path], None]] = {
    "random bytes": lambda db: db.write_bytes(os.urandom(8192)),
    "zero bytes": lambda db: db.write_bytes(b""),
    "truncated": lambda db: db.write_bytes(db.read_bytes()[: db.stat().st_size // 2 + 100]),
    "a directory": lambda db: (db.unlink(), db.mkdir()),  # type: ignore[func-returns-value]
}


def broken_archives(work: Path, data: Path) -> list[Row]:
    rows = []
    for name, breakage in BREAKAGES.items():
        row = Row(f"archive.db: {name}")
        broken = work / "broken" / name.replace(" ", "-")
        broken.mkdir(parents=True)
        shutil.copy(data / "archive.db", broken / "archive.db")
        breakage(broken / "archive.db")
        for command in (["search", "خبر"], ["stats"], ["verify"], ["reindex"]):
            done = row.take(run(arshif(*command, "--data", str(broken)), env(), timeout=120))
            _one_line(done, row, 2, "archive.db")
        rows.append(row)
    return rows


def bad_offsets(work: Path, data: Path) -> Row:
    row = Row("bad WARC offsets, original-page route")
    copy = work / "offsets"
    shutil.copytree(data, copy, ignore=shutil.ignore_patterns("*.wacz"))
    with sqlite3.connect(copy / "archive.db") as db:
        ids = [i for (i,) in db.execute("SELECT id FROM articles ORDER BY id LIMIT 3")]
        for article_id, offset in zip(ids, (10**12, 200, -5), strict=True):
            db.execute("UPDATE articles SET warc_offset = ? WHERE id = ?", [offset, article_id])
    port = _free_port()
    statuses: list[int] = []

    def ask(pid: int, elapsed: float) -> None:
        if statuses:
            return
        for article_id in ids:
            url = f"http://127.0.0.1:{port}/-/arshif/original/archive/{article_id}"
            statuses.append(_get_status(url, deadline=time.monotonic() + 60))
        os.kill(pid, signal.SIGINT)  # Ctrl-C, as a user stops it

    serve = arshif("serve", "--data", str(copy), "--port", str(port))
    row.take(run(serve, env(), timeout=120, poll=ask))
    if statuses != [404, 404, 404]:
        row.problems.append(f"answers {statuses}")
    row.outcome = f"past the end, inside a record, negative: {statuses}; serve logs no traceback"
    return row


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_status(url: str, deadline: float) -> int:
    while True:
        try:
            return urllib.request.urlopen(url, timeout=10).status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            if time.monotonic() > deadline:
                return 0
            time.sleep(0.3)


def queries_and_inputs(work: Path, data: Path) -> list[Row]:
    rows = []
    row = Row("FTS operators in a query")
    for query in ('NEAR("روسيا" OR', "AND OR NOT", '"unclosed', "*", "column:روسيا ^"):
        done = row.take(run(arshif("search", query, "--data", str(data)), env(), timeout=60))
        if done.code not in (0, 1):
            row.problems.append(f"{query!r}: exit {done.code}: {done.stderr.strip()[-120:]}")
    row.outcome = "five queries of FTS syntax: read as words, no error"
    rows.append(row)
    row = Row("2,000-word query")
    words = " ".join(["روسيا"] * 2000)
    _one_line(row.take(run(arshif("search", words, "--data", str(data)), env())), row, 2, "query")
    rows.append(row)
    row = Row("sites file not UTF-8")
    bad = work / "bad-sites.toml"
    bad.write_bytes("[sites.x]\nname = 'خبر'\n".encode("cp1256"))
    done = row.take(run(arshif("crawl", "--sites", str(bad), "--data", str(work / "x")), env()))
    _one_line(done, row, 1, str(bad), "not UTF-8")  # a ClickException: exit 1, as `sites list`
    rows.append(row)
    # An empty file and a binary one are refused in one line (tests/test_cli.py).
    for name, content, code in (("empty", b"", 2), ("binary", os.urandom(4096), 2)):
        row = Row(f"arshif extract: {name} file")
        path = work / f"{name}.html"
        path.write_bytes(content)
        extract = arshif("extract", str(path), "--url", "https://www.example.org/news/1")
        _one_line(row.take(run(extract, env())), row, code, str(path))
        rows.append(row)
    return rows


def run_matrix(work: Path, proxy: str, sites: Path, data: Path) -> list[Row]:
    print("\nthe fault matrix", flush=True)
    rows = server_rows(work)
    rows += [full_disk(work, proxy, sites), full_disk(work, proxy, sites, DB_WRITE)]
    rows.append(sigterm(work, proxy, sites))
    archive = data if (data / "archive.db").is_file() else work / "sigterm"
    rows.append(read_only(work, archive))
    rows += broken_archives(work, archive)
    rows.append(bad_offsets(work, archive))
    rows += queries_and_inputs(work, archive)
    return rows
