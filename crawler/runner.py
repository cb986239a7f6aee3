"""Run crawls of several sites in one process and report what each did.

Used by ``arshif crawl`` and ``arshif demo``; ``scrapy crawl KEY`` runs the same
spiders one at a time through Scrapy's own command.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.utils.ossignal import install_shutdown_handlers

from archive.discover.sites import Site, load_registry
from archive.store.writer import Archive, check_data_dir
from crawler import failure
from crawler.failure import MESSAGE_STAT

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

# Statuses that make `arshif crawl` exit 1: nothing (or not all) was archived, and a
# person must look. An interrupted run was stopped by a signal: a scheduler must not
# take it for a complete one.
FAILED = {"unreachable", "failed", "empty", "no-articles", "interrupted"}

# A stop asked for by SIGTERM or SIGINT: the signal's number once one came, and the
# crawl process that must stop (None until the sites are set up). Scrapy and Twisted
# install their handlers only once the reactor runs: a signal before that killed the
# process with the lock held, and one while a site was opening was lost (the site went
# on crawling, its run left 'running'). arshif's one handler covers the whole run.
_SIGNAL: dict[str, Any] = {"number": None, "process": None}


@contextmanager
def stop_signals_caught(enabled: bool = True) -> Iterator[None]:
    """While it lasts, SIGTERM or SIGINT asks the crawl to stop gracefully (run_crawls);
    the handlers before it are restored at its end (a test process keeps its own)."""
    if not enabled:
        yield
        return
    _SIGNAL["number"] = _SIGNAL["process"] = None
    before = {n: signal.getsignal(n) for n in (signal.SIGTERM, signal.SIGINT)}
    install_shutdown_handlers(_on_signal)
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


def stopped_by_signal() -> str | None:
    """'SIGTERM' when a signal stopped this run."""
    number = _SIGNAL["number"]
    return signal.Signals(number).name if number is not None else None


def _on_signal(signum: int, frame: Any) -> None:
    if _SIGNAL["number"] is not None:
        return  # the stop is under way, and ARSHIF_STOP_TIMEOUT bounds it
    _SIGNAL["number"] = signum
    process = _SIGNAL["process"]
    # Before the reactor runs, the process stops once it starts (see Process.start).
    if process is not None and process.reactor_running():
        from twisted.internet import reactor

        reactor.callFromThread(process.stop_for_signal, signum)


async def _stop_engine(engine: Any) -> None:
    # Once started (or starting), an engine can be stopped, and only once.
    if engine._starting:
        await engine.stop_async()


@dataclass(frozen=True)
class SiteResult:
    key: str
    status: str
    articles: int = 0
    responses: int = 0
    bytes: int = 0
    errors: int = 0
    error_kinds: str = "{}"
    message: str | None = None
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    revisits: int = 0
    duration: float | None = None

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    def line(self) -> str:
        kinds = self.error_kinds.strip("{}").replace('"', "")
        detail = f"  errors: {kinds}" if self.errors and kinds else ""
        if self.message:  # what went wrong, in words, when the figures alone do not say
            detail += f"  {self.message}"
        return (
            f"{self.key:<16} {self.status:<12} {self.new:>4} new {self.updated:>3} updated"
            f" {self.unchanged:>4} unchanged {self.responses:>5} responses"
            f" ({self.revisits} revisits) {self.bytes / 1e6:>6.2f} MB"
            f" {self.duration or 0:>5.1f} s{detail}"
        )


def project_settings(
    data_dir: Path,
    sites_files: Iterable[str | Path] = (),
    overrides: Mapping[str, Any] | None = None,
) -> Any:
    """Scrapy settings for arshif from anywhere (no scrapy.cfg needed), with overrides."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    settings.set("ARSHIF_DATA_DIR", str(data_dir), priority="cmdline")
    extra = [str(p) for p in sites_files]
    if extra:
        settings.set("ARSHIF_SITES", os.pathsep.join(extra), priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def select_sites(keys: Iterable[str], sites_files: Iterable[str | Path] = ()) -> list[Site]:
    """The sites to crawl: those named, or all. Raises SiteConfigError with one clear line."""
    registry = load_registry([Path(p) for p in sites_files])
    keys = list(keys)
    return registry.select(keys) if keys else list(registry.values())


def run_crawls(
    sites: list[Site],
    data_dir: Path,
    *,
    sites_files: Iterable[str | Path] = (),
    overrides: Mapping[str, Any] | None = None,
    on_site_done: Callable[[SiteResult], None] | None = None,
) -> list[SiteResult]:
    """Crawl the sites concurrently in this process; one result per site, in order."""
    from scrapy import signals
    from scrapy.crawler import AsyncCrawlerProcess

    if name := stopped_by_signal():  # before the sites were set up: none is begun
        return [SiteResult(s.key, "interrupted", message=f"stopped by {name} before it began")
                for s in sites]  # fmt: skip
    check_data_dir(data_dir)
    archive = Archive.open(data_dir)
    before = archive.db.execute("SELECT coalesce(max(id), 0) FROM crawl_runs").fetchone()[0]

    def result_for(key: str) -> SiteResult:
        runs = archive.db.table("crawl_runs").rows_where(
            "site = ? AND id > ?", [key, before], order_by="id DESC", limit=1
        )
        run = next(iter(runs), None)
        if run is None:
            return SiteResult(key, "failed", message="the crawl did not start")
        if run["status"] == "running" and key in closed:
            # The end of the run could not be written (archive.db refused it): say why
            # from the crawler's own figures, which the archive could not take.
            cause = crawlers[key].stats.get_value(MESSAGE_STAT)
            return SiteResult(key, "failed", message=cause or "the end of the run was not recorded")
        return SiteResult(
            key=key,
            status=run["status"],
            articles=run["articles"],
            responses=run["responses"],
            bytes=run["bytes"],
            errors=run["errors"],
            error_kinds=run["error_kinds"] or "{}",
            message=run["message"],
            new=run["new_articles"],
            updated=run["updated_articles"],
            unchanged=run["unchanged_articles"],
            revisits=run["revisits"],
            duration=run["duration"],
        )

    class Process(AsyncCrawlerProcess):
        stopping = False

        @staticmethod
        def reactor_running() -> bool:
            reactor = sys.modules.get("twisted.internet.reactor")
            return reactor is not None and reactor.running

        def start(
            self, stop_after_crawl: bool = True, install_signal_handlers: bool = True
        ) -> None:
            from twisted.internet import reactor

            # A signal that came before the reactor ran is acted on as it starts.
            reactor.callWhenRunning(self._stop_if_signalled)
            # Not Scrapy's handlers nor Twisted's when arshif's are in place (from before
            # the lock); without them, Scrapy's, which lead to the same stop.
            ours = signal.getsignal(signal.SIGTERM) is _on_signal
            super().start(stop_after_crawl, install_signal_handlers=not ours)

        def _signal_shutdown(self, signum: int, frame: Any) -> None:
            _on_signal(signum, frame)

        def _stop_if_signalled(self) -> None:
            if _SIGNAL["number"] is not None:
                self.stop_for_signal(_SIGNAL["number"])

        def stop_for_signal(self, signum: int) -> None:
            if self.stopping:
                return
            self.stopping = True
            self._log_shutdown(signum)
            # One SIGTERM: a graceful stop, bounded like a full disk's. One deadline
            # for the process: every site has the same settings.
            if first := next(iter(crawlers.values()), None):
                failure.arm_stop_deadline(first, "shutdown", "stopped by a signal")
            self._graceful_stop_reactor()

        async def stop(self) -> None:
            # Scrapy's stop reaches only engines already running, and one that was
            # opening then crawled on, its run left 'running'. Here an engine that has
            # begun to start is stopped, one still opening stops as it starts
            # (stop_at_start), and the process waits for every site to close.
            if not self.stopping:
                return await super().stop()
            engines = [getattr(crawler, "_engine", None) for crawler in self.crawlers]
            for crawler in self.crawlers:
                crawler.crawling = False
            await asyncio.gather(*(_stop_engine(e) for e in engines if e is not None))
            await self.join()

    async def stop_at_start(crawler: Crawler) -> None:
        if process.stopping and crawler.engine.spider is not None:
            # The engine checks for this stop right after engine_started: no request
            # is sent, and the site's run is closed 'interrupted'.
            await _stop_engine(crawler.engine)

    crawlers: dict[str, Crawler] = {}
    closed: set[str] = set()  # sites whose spider has closed: no longer 'running'
    process = Process(project_settings(data_dir, sites_files, overrides))
    _SIGNAL["process"] = process
    for site in sites:
        crawler = crawlers[site.key] = process.create_crawler(site.key)
        crawler.signals.connect(
            lambda crawler=crawler: stop_at_start(crawler),
            signal=signals.engine_started,
            weak=False,
        )
        crawler.signals.connect(
            lambda key=site.key: closed.add(key), signal=signals.engine_stopped, weak=False
        )
        if on_site_done is not None:
            crawler.signals.connect(
                lambda key=site.key: on_site_done(result_for(key)),
                signal=signals.engine_stopped,
                weak=False,  # a lambda: nothing else holds it
            )
        process.crawl(crawler)
    try:
        process.start()
    finally:
        _SIGNAL["process"] = None
        failure.disarm_stop_deadline()
    closed.update(crawlers)
    results = [result_for(site.key) for site in sites]
    archive.close()
    return results
