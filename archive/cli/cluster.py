"""``arshif ingest`` and ``arshif cluster status``: the cluster's writer, and its state."""

from __future__ import annotations

import json
import logging
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click

from archive.cli import BadUsage, data_option

redis_option = click.option(
    "--redis",
    "redis_url",
    envvar="ARSHIF_REDIS_URL",
    required=True,
    metavar="URL",
    help="The cluster's Redis, redis://HOST:PORT/DB (or ARSHIF_REDIS_URL).",
)


def _connect(url: str) -> Any:
    from archive.cluster.connection import ClusterError, connect

    try:
        return connect(url)
    except ClusterError as e:
        raise click.ClickException(str(e)) from None


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    logger = logging.getLogger("archive.cluster")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@click.command()
@redis_option
@data_option
@click.option("--once", is_flag=True, help="Apply every entry waiting, then exit.")
@click.option(
    "--claim-after",
    type=click.FloatRange(0),
    default=10.0,
    show_default=True,
    help="Seconds an entry stays with an ingest that took it before another claims it.",
)
@click.option(
    "--dead-after",
    type=click.FloatRange(1),
    default=60.0,
    show_default=True,
    help="Seconds of silence after which a worker's unfinished run is marked interrupted.",
)
def ingest(
    redis_url: str, data_dir: Path, once: bool, claim_after: float, dead_after: float
) -> None:
    """Apply the rows the cluster's workers send to DATA/archive.db: the one writer.

    Each entry of the stream is applied in one SQLite transaction and acknowledged
    only after it commits; killed at any point, the next ingest applies nothing
    twice and loses nothing. Runs until stopped (SIGTERM, Ctrl-C), or with --once
    until the stream is drained.

    \b
    Examples:
      arshif ingest --redis redis://10.0.0.5:6379/0 --data /srv/arshif
      arshif ingest --redis redis://127.0.0.1:6379/0 --data ./data --once
    """
    import redis

    from archive.cluster.ingest import Ingest, seed
    from archive.cluster.stream import worker_name
    from archive.store.db import ArchiveSchemaError
    from archive.store.writer import Archive, DataDirError

    client = _connect(redis_url)
    _log_to_stderr()
    try:
        archive = Archive.open(data_dir)
    except DataDirError as e:
        raise click.ClickException(str(e)) from None
    except ArchiveSchemaError as e:
        raise BadUsage(str(e)) from None
    seeded = seed(client, archive)
    if seeded:
        click.echo(f"ingest: {seeded} archived article(s) made known to the workers", err=True)
    stopping: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda n, _frame: stopping.append(n))
    worker = Ingest(
        client, archive, f"ingest-{worker_name()}", claim_after=claim_after, dead_after=dead_after
    )
    click.echo(f"ingest: {redis_url} -> {data_dir / 'archive.db'}", err=True)
    try:
        worker.run(once=once, stop=lambda: bool(stopping))
    except redis.RedisError as e:  # retried for minutes already: Redis is gone
        raise click.ClickException(
            f"redis {redis_url}: {e}; nothing lost, restart ingest"
        ) from None
    except (sqlite3.Error, OSError) as e:  # a full disk: the entry stays in the stream
        raise click.ClickException(
            f"{data_dir / 'archive.db'}: {e}; the entry stays in the stream, restart ingest"
        ) from None
    finally:
        archive.close()
        click.echo(
            f"ingest: {worker.applied} entries applied, {worker.replayed} found applied already",
            err=True,
        )


@click.group()
def cluster() -> None:
    """The cluster of `arshif crawl --redis` workers and its `arshif ingest`.

    \b
    Example:
      arshif cluster status --redis redis://10.0.0.5:6379/0
    """


@cluster.command()
@redis_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of lines.")
def status(redis_url: str, as_json: bool) -> None:
    """Sites due, leased (by whom, since when) and done; each site's queue; the
    stream's lag (entries ingest has not applied); workers seen in the last minute.

    \b
    Example:
      arshif cluster status --redis redis://10.0.0.5:6379/0
    """
    from archive.cluster.status import cluster_status, status_lines

    state = cluster_status(_connect(redis_url))
    if as_json:
        click.echo(json.dumps(state.as_dict(), indent=2))
        return
    for line in status_lines(state):
        click.echo(line)
