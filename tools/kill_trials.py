"""SIGKILL trials: one crawl of a generated site, killed again and again, then resumed.

Every trial resumes the crawl in the same data directory and kills it with
SIGKILL at a moment drawn from the seed, in turn:

- fetch: the mirror kills the crawl when it is asked for its Nth page of the
  run, so the crawl dies waiting for a response;
- save: inside ``Archive.save_article``'s transaction, after the Nth article's
  row, version, aliases and search index are written and before it commits;
- warc: inside the Nth WARC record written, with half of its bytes on disk;
- timer: at a random time after the crawl started.

After each kill: no article stored twice, none of the earlier ones gone,
``arshif verify`` passing (a torn WARC tail mended by ``arshif verify --repair``
first, as an operator would, and said so), and no run left ``running`` but the
killed one. Then one last resume runs to its end, and the archive must hold
exactly the site's articles, once each, every one with its metadata record.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tools.child import Finished, arshif, env, run

MOMENTS = ("fetch", "save", "warc", "timer")
CRAWL = [
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=8",
]

# `arshif` with the save or WARC write patched to SIGKILL itself mid-way (ARSHIF_KILL_AT
# names the moment and N): the kill lands exactly where a random one rarely does.
KILLER = """
import os, signal, sys
from archive.capture.warc import WarcFileWriter
from archive.cli import main
from archive.store.writer import Archive

moment, _, n = os.environ.pop("ARSHIF_KILL_AT", "").partition(":")
n, count = int(n or 0), 0

def due():
    global count
    count += 1
    return count == n

if moment == "warc":
    write = WarcFileWriter._write
    def torn(self, record):
        pointer = write(self, record)
        if due():
            self._file.truncate(pointer.offset + pointer.length // 2)
            self._file.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return pointer
    WarcFileWriter._write = torn
elif moment == "save":
    index = Archive._index
    def half_saved(self, article_id):
        index(self, article_id)
        if due():  # the fingerprint and the COMMIT are still to come
            os.kill(os.getpid(), signal.SIGKILL)
    Archive._index = half_saved
sys.argv = ["arshif", *sys.argv[1:]]
main()
"""


@dataclass
class Trial:
    number: int
    moment: str
    at: float  # N, or seconds for the timer
    killed: bool = False
    seconds: float = 0.0
    peak_mb: float = 0.0
    articles: int = 0
    repaired: bool = False
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        what = {"timer": f"timer @ {self.at:.1f} s", "final resume": "final resume"}.get(
            self.moment, f"{self.moment} #{int(self.at)}"
        )
        how = "killed" if self.killed else "NOT killed (ended first)"
        verdict = "clean" if not self.problems else "FAILED: " + "; ".join(self.problems)
        repair = ", torn WARC tail repaired" if self.repaired else ""
        return (
            f"trial {self.number:2d} {what:<16} {how} after {self.seconds:5.1f} s,"
            f" peak {self.peak_mb:5.1f} MB; {self.articles} articles{repair}; {verdict}"
        )


class FetchKill:
    """Wraps the mirror's answer: the Nth request of the armed run SIGKILLs the crawl."""

    def __init__(self, mirror: object) -> None:
        self.real: Callable = mirror.answer  # type: ignore[attr-defined]
        self.pid = 0
        self.left = 0
        mirror.answer = self.answer  # type: ignore[attr-defined]

    def arm(self, pid: int, n: int) -> None:
        self.pid, self.left = pid, n

    def answer(self, method: str, host: str, target: str) -> object:
        if self.pid:
            self.left -= 1
            if self.left <= 0:
                pid, self.pid = self.pid, 0
                os.kill(pid, signal.SIGKILL)
        return self.real(method, host, target)


def plan(seed: int, kills: int) -> list[Trial]:
    rng = random.Random(seed)
    # Ranges that leave the site unfinished after 20 trials on a quiet machine: about
    # 100 articles a counted kill and 200 a timed one (the crawl starts in about 2 s,
    # then stores 60 to 100 articles a second). Wider ones let the crawl end before
    # the last kills, which then test nothing.
    ranges = {"fetch": (30, 200), "save": (3, 120), "warc": (10, 250)}
    trials = []
    for i in range(kills):
        moment = MOMENTS[i % len(MOMENTS)]
        at = rng.uniform(2.5, 6.0) if moment == "timer" else rng.randint(*ranges[moment])
        trials.append(Trial(i + 1, moment, at))
    return trials


def query(data: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(data / "archive.db") as db:
        return db.execute(sql).fetchall()


def crawl(data: Path, sites: Path, proxy: str, trial: Trial | None, fetch: FetchKill) -> Finished:
    args = ["crawl", "bench", "--sites", str(sites), "--data", str(data), *CRAWL]
    extra = {}
    command = arshif(*args)
    if trial is not None and trial.moment in ("save", "warc"):
        extra = {"ARSHIF_KILL_AT": f"{trial.moment}:{int(trial.at)}"}
        command = [sys.executable, "-c", KILLER, *args]

    armed: list[int] = []

    def poll(pid: int, elapsed: float) -> None:
        if trial is None:
            return
        if trial.moment == "fetch" and not armed:
            armed.append(pid)
            fetch.arm(pid, int(trial.at))
        elif trial.moment == "timer" and elapsed >= trial.at and not armed:
            armed.append(pid)
            with contextlib.suppress(ProcessLookupError):  # it ended a moment before
                os.kill(pid, signal.SIGKILL)

    try:
        return run(command, env(proxy, **extra), timeout=900, poll=poll)
    finally:
        fetch.pid = 0


def verify(data: Path, trial: Trial) -> list[str]:
    checked = run(arshif("verify", "--data", str(data)), env(), timeout=600)
    if checked.code == 0:
        return []
    problems = [line for line in checked.stdout.splitlines() if line.strip()]
    if problems and all("--repair moves it aside" in p for p in problems):
        trial.repaired = True
        mend = run(arshif("verify", "--data", str(data), "--repair"), env(), timeout=600)
        if mend.code == 0 and not mend.traceback:
            return []
        problems = [line for line in mend.stdout.splitlines() if line.strip()]
    return [f"verify: {p}" for p in problems[:3]] or [f"verify exited {checked.code}"]


def check(data: Path, trial: Trial, before: set[str], killed_pid: int | None) -> set[str]:
    """What is wrong after a trial (into trial.problems); returns the stored URLs."""
    urls = [u for (u,) in query(data, "SELECT url FROM articles")]
    stored = set(urls)
    trial.articles = len(stored)
    if len(urls) != len(stored):
        trial.problems.append(f"{len(urls) - len(stored)} article(s) stored twice")
    twice = query(data, "SELECT count(*) FROM articles WHERE versions > 1")[0][0]
    if twice:
        trial.problems.append(f"{twice} article(s) with a second version of the same page")
    if lost := before - stored:
        trial.problems.append(f"{len(lost)} article(s) stored earlier are gone")
    running = query(data, "SELECT pid FROM crawl_runs WHERE status = 'running'")
    if others := [pid for (pid,) in running if pid != killed_pid]:
        trial.problems.append(f"{len(others)} run(s) of earlier processes still 'running'")
    trial.problems += verify(data, trial)
    return stored


def run_trials(
    data: Path, sites: Path, proxy: str, fetch: FetchKill, trials: list[Trial], expected: set[str]
) -> tuple[list[Trial], Trial]:
    stored: set[str] = set()
    for trial in trials:
        done = crawl(data, sites, proxy, trial, fetch)
        trial.killed = done.code == -signal.SIGKILL
        trial.seconds, trial.peak_mb = done.seconds, done.peak_mb
        last = query(data, "SELECT pid FROM crawl_runs ORDER BY id DESC LIMIT 1")
        stored = check(data, trial, stored, last[0][0] if last and trial.killed else None)
        if not trial.killed:
            trial.problems.append(f"the crawl ended on its own ({done.code}) before the kill")
        print(trial.line(), flush=True)
    final = Trial(len(trials) + 1, "final resume", 0, killed=False)
    done = crawl(data, sites, proxy, None, fetch)
    final.seconds, final.peak_mb = done.seconds, done.peak_mb
    check(data, final, stored, None)
    if done.code != 0 or done.traceback:
        final.problems.append(f"exit {done.code}: {done.output.strip()[-300:]}")
    stored = {u for (u,) in query(data, "SELECT url FROM articles")}
    if missing := expected - stored:
        final.problems.append(f"{len(missing)} of the site's {len(expected)} articles lost")
    if extra := stored - expected:
        final.problems.append(f"{len(extra)} articles that are not the site's")
    no_meta = query(data, "SELECT count(*) FROM articles WHERE metadata_record_id IS NULL")[0][0]
    if no_meta:
        final.problems.append(f"{no_meta} article(s) without their WARC metadata record")
    # Every killed run is closed as interrupted (a kill before the run began leaves none).
    statuses = [s for (s,) in query(data, "SELECT status FROM crawl_runs ORDER BY id")]
    if statuses[-1:] != ["ok"] or set(statuses[:-1]) - {"interrupted"}:
        final.problems.append(f"run statuses {sorted(set(statuses))}, the last {statuses[-1:]}")
    print(final.line().replace("NOT killed (ended first)", "ran to its end"), flush=True)
    return trials, final
