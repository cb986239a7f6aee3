"""Run crawls of several sites in one process and report what each did.

Used by ``arshif crawl`` and ``arshif demo``; ``scrapy crawl KEY`` runs the same
spiders one at a time through Scrapy's own command.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
        def _signal_shutdown(self, signum: int, frame: Any) -> None:
            # One SIGTERM: a graceful stop, bounded like a full disk's.
            super()._signal_shutdown(signum, frame)
            from twisted.internet import reactor

            # One deadline for the process: every site has the same settings.
            if first := next(iter(crawlers.values()), None):
                stop = failure.arm_stop_deadline
                reactor.callFromThread(stop, first, "shutdown", "stopped by a signal")

    crawlers: dict[str, Crawler] = {}
    closed: set[str] = set()  # sites whose spider has closed: no longer 'running'
    process = Process(project_settings(data_dir, sites_files, overrides))
    for site in sites:
        crawler = crawlers[site.key] = process.create_crawler(site.key)
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
        failure.disarm_stop_deadline()
    closed.update(crawlers)
    results = [result_for(site.key) for site in sites]
    archive.close()
    return results
