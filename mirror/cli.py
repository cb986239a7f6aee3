"""``arshif mirror``: serve a mirror directory as a proxy, or say where the bundled one is."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from mirror import BUNDLED, EXTRA_SITES


@click.group()
def mirror() -> None:
    """The offline mirror of the listed sites, served through a loopback proxy."""


@mirror.command()
@click.argument(
    "directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--port", default=8899, show_default=True, help="Port on 127.0.0.1 (0: any free port)."
)
@click.option("-q", "--quiet", is_flag=True, help="Do not log each request.")
def serve(directory: Path | None, port: int, quiet: bool) -> None:
    """Serve DIRECTORY (default: the bundled mirror) as an HTTP/HTTPS proxy on 127.0.0.1.

    \b
    Example:
      arshif mirror serve --port 8899 &
      export HTTPS_PROXY=http://127.0.0.1:8899 HTTP_PROXY=http://127.0.0.1:8899
      scrapy crawl hafryat
    """
    from mirror.server import MirrorServer

    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
    try:
        server = MirrorServer(directory or BUNDLED, port=port)
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from None

    def ready() -> None:
        click.echo(f"serving mirror {server.mirror.root} ({len(server.mirror.hosts())} sites)")
        click.echo(f"export HTTPS_PROXY={server.proxy_url} HTTP_PROXY={server.proxy_url}")
        click.echo(f"certificate: {server.ca_file}   # for clients that verify: --ca-file")
        if EXTRA_SITES.exists() and (directory is None or directory.resolve() == BUNDLED):
            click.echo(f"export ARSHIF_SITES={EXTRA_SITES}   # the mirror's extra .example sites")

    async def run() -> None:
        try:
            await server.serve(on_ready=ready)
        except OSError as e:
            raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {e.strerror}") from None

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@mirror.command()
def path() -> None:
    """Print where the bundled mirror lives.

    \b
    Example:
      ls "$(arshif mirror path)"
    """
    click.echo(str(BUNDLED))
