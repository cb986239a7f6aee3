"""``arshif crawl`` and ``arshif demo``: crawl sites into an archive."""

from __future__ import annotations

import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from archive.capture.lock import LOCKED_EXIT, CrawlLock, CrawlLocked
from archive.cli import BadUsage, data_option, sites_files_with_env, sites_option
from archive.discover.sites import SiteConfigError, record_sites_files
from archive.store.db import ArchiveSchemaError, check_file
from archive.store.writer import DB_NAME, DataDirError, check_data_dir
from crawler.failure import STORAGE_ERRORS, db_name, describe, log_file_failures
from crawler.runner import (
    SiteResult,
    run_crawls,
    select_sites,
    stop_signals_caught,
    stopped_by_signal,
)

# The demo crawls arshif's own mirror on loopback: no delay is owed to it.
MIRROR_SETTINGS = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_START_DELAY": 0.0}


def _parse_settings(pairs: tuple[str, ...]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r}: expected NAME=VALUE", param_hint="-s")
        settings[name] = value
    return settings


def _crawl(
    keys: tuple[str, ...],
    data_dir: Path,
    sites_files: list[Path],
    overrides: dict,
    verbose: bool,
    *,
    warn_contact: bool = False,
    cluster: tuple[str, float, float] | None = None,
) -> list[SiteResult]:
    try:
        sites = select_sites(keys, sites_files)
    except SiteConfigError as e:
        raise click.ClickException(str(e)) from None
    try:
        check_data_dir(data_dir)
        # A file that is no archive: say so before starting (a worker never opens it).
        if cluster is None and (data_dir / DB_NAME).exists():
            check_file(data_dir / DB_NAME, allow_empty=True)
    except DataDirError as e:
        raise click.ClickException(str(e)) from None
    except ArchiveSchemaError as e:
        raise BadUsage(str(e)) from None
    if cluster is None:
        record_sites_files(data_dir, sites_files)
    if warn_contact:
        # Once, as the crawl starts (a usage error stays one line): a site operator
        # who sees us in their logs has no way to reach whoever runs this crawl.
        click.echo(
            "arshif: warning: ARSHIF_CONTACT is unset, so the User-Agent says 'contact unset';"
            " set ARSHIF_CONTACT=https://your.org/contact (or --contact) before crawling"
            " real sites",
            err=True,
        )
    click.echo(
        f"crawling {len(sites)} site(s) into {data_dir}: {', '.join(s.key for s in sites)}",
        err=True,
    )
    if not verbose:
        # The terminal gets progress and the summary; Scrapy's full log goes to a file.
        name = f"crawl-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        if cluster is not None:  # workers of several machines share DATA
            name += f"-{socket.gethostname()}-{os.getpid()}"
        log_file = data_dir / "logs" / f"{name}.log"
        log_file.parent.mkdir(exist_ok=True)
        # Progress lines stand in for the log the terminal no longer shows.
        overrides = {
            "LOG_FILE": str(log_file),
            "LOG_LEVEL": "INFO",
            "ARSHIF_PROGRESS_INTERVAL": os.environ.get("ARSHIF_PROGRESS_INTERVAL") or 60,
            **overrides,
        }
        click.echo(f"full log: {log_file}", err=True)

    def done(result: SiteResult) -> None:
        click.echo(f"  done: {result.line()}", err=True)

    if cluster is not None:  # a worker: no archive.db, no lock (Redis leases instead)
        from archive.cluster.connection import ClusterError
        from crawler.worker import run_worker

        url, lease, every = cluster
        try:
            return run_worker(
                url, sites, data_dir, sites_files=sites_files, overrides=overrides,
                lease_seconds=lease, every_seconds=every, on_site_done=done,
            )  # fmt: skip
        except ClusterError as e:
            raise click.ClickException(str(e)) from None
    try:
        log = Path(str(overrides.get("LOG_FILE") or data_dir / "logs"))
        with CrawlLock(data_dir), log_file_failures(log):
            return run_crawls(
                sites, data_dir, sites_files=sites_files, overrides=overrides, on_site_done=done
            )
    except DataDirError as e:
        raise click.ClickException(str(e)) from None
    except ArchiveSchemaError as e:  # archive.db is something else: never crawl over it
        raise BadUsage(str(e)) from None
    except CrawlLocked as e:
        click.echo(f"arshif: {e}", err=True)
        sys.exit(LOCKED_EXIT)
    except STORAGE_ERRORS as e:  # archive.db could not be opened for writing (a full disk)
        raise click.ClickException(f"cannot write {db_name(data_dir)}: {describe(e)}") from None


def _report(results: list[SiteResult], *, cluster: bool = False) -> None:
    if cluster and not results:  # the cron line on a machine with nothing left to do
        click.echo("no site due or leased: nothing to crawl")
        return
    click.echo("summary:")
    for result in results:
        click.echo(result.line())
    failed = [r.key for r in results if r.failed]
    if failed:
        click.echo(f"{len(failed)} of {len(results)} site(s) failed: {', '.join(failed)}", err=True)
    if name := stopped_by_signal():
        # Even when every site had ended: a scheduler must know the run was cut short.
        interrupted = sum(r.status == "interrupted" for r in results)
        click.echo(f"arshif: stopped by {name}: {interrupted} site(s) interrupted,"
                   " the crawl lock released", err=True)  # fmt: skip
    if failed or name:
        sys.exit(1)


@click.command()
@click.argument("keys", nargs=-1)
@data_option
@sites_option
@click.option(
    "--contact",
    envvar="ARSHIF_CONTACT",
    help="Contact URL or e-mail for the User-Agent (or ARSHIF_CONTACT).",
)
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy setting.",
)
@click.option("-v", "--verbose", is_flag=True, help="Scrapy's log on stderr instead of DATA/logs/.")
@click.option(
    "--redis",
    "redis_url",
    envvar="ARSHIF_REDIS_URL",
    metavar="URL",
    help="Join the cluster at redis://HOST:PORT/DB as a worker (or ARSHIF_REDIS_URL):"
    " WARC files into DATA/warc/, every row to the stream `arshif ingest` applies.",
)
@click.option(
    "--lease",
    type=click.FloatRange(1),
    default=30.0,
    show_default=True,
    help="With --redis: seconds a site stays taken by a worker that stopped renewing.",
)
@click.option(
    "--every",
    type=click.FloatRange(0),
    default=3600.0,
    show_default=True,
    help="With --redis: a site crawled less than this many seconds ago is not due.",
)
def crawl(
    keys: tuple[str, ...],
    data_dir: Path,
    sites_files: tuple[Path, ...],
    contact: str | None,
    settings: tuple[str, ...],
    verbose: bool,
    redis_url: str | None,
    lease: float,
    every: float,
) -> None:
    """Crawl the registered sites (all, or the KEYs given) into the archive.

    Exits 1 when a site could not be crawled at all (unreachable, failed) or no
    URL matched its article rules (no-articles) or a SIGTERM or Ctrl-C stopped
    it (its runs closed `interrupted`, within ARSHIF_STOP_TIMEOUT), and 75
    at once when another crawl is running on the same data directory (for cron).

    \b
    Examples:
      arshif crawl                          every registered site
      arshif crawl hafryat lebanontab       two of them
      arshif crawl --sites my-sites.toml mysite
      arshif crawl --redis redis://10.0.0.5:6379/0 --data /mnt/arshif   a cluster worker

    With --redis the crawl joins a cluster (docs/cluster.md): the sites are queued in
    Redis, taken one at a time under a lease, and the worker exits 0 when none is
    due or taken. It never opens archive.db: `arshif ingest` writes it.
    """
    if contact:
        os.environ["ARSHIF_CONTACT"] = contact
    files = sites_files_with_env(sites_files, data_dir)
    overrides = _parse_settings(settings)
    cluster = (redis_url, lease, every) if redis_url else None
    # From before the lock to the summary, a SIGTERM is a clean stop (a cluster worker
    # keeps Scrapy's handlers, and its leases).
    with stop_signals_caught(cluster is None):
        _report(
            _crawl(
                keys, data_dir, files, overrides, verbose, warn_contact=not contact, cluster=cluster
            ),
            cluster=cluster is not None,
        )


@click.command()
@data_option
@click.option("-v", "--verbose", is_flag=True, help="Scrapy's log on stderr instead of DATA/logs/.")
def demo(data_dir: Path, verbose: bool) -> None:
    """Serve the bundled offline mirror and crawl every mirror site into the archive.

    Starts the mirror proxy on a free loopback port, points the crawl at it
    and crawls the registered sites plus the mirror's extra .example sites.

    \b
    Example:
      arshif demo --data ./data && arshif serve --data ./data
    """
    from mirror import BUNDLED, EXTRA_SITES
    from mirror.server import MirrorServer

    server = MirrorServer(BUNDLED)
    proxy = server.start_in_thread()
    click.echo(f"mirror proxy at {proxy}", err=True)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        os.environ[name] = proxy
    os.environ.pop("NO_PROXY", None)
    os.environ.pop("no_proxy", None)
    with stop_signals_caught():
        try:
            results = _crawl((), data_dir, [EXTRA_SITES], dict(MIRROR_SETTINGS), verbose)
        finally:
            server.stop()
        _report(results)
