"""The ``arshif`` command: one click command per verb.

Commands that need the crawler (``crawl``, ``demo``) or the mirror live in
those packages and are imported only when invoked, so the archive library and
its commands never import Scrapy or Twisted.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from archive import __version__
from archive.store import DB_NAME

# name -> "module:attribute", imported on first use.
LAZY_COMMANDS = {
    "crawl": "crawler.cli:crawl",
    "demo": "crawler.cli:demo",
    "mirror": "mirror.cli:mirror",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module, _, attr = LAZY_COMMANDS[cmd_name].partition(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, cmd_name)


data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data"),
    show_default=True,
    envvar="ARSHIF_DATA_DIR",
    help="Data directory holding archive.db and warc/ (or ARSHIF_DATA_DIR).",
)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="arshif")
def cli() -> None:
    """arshif: a faithful, searchable archive of Arabic news sites.

    \b
    Typical use:
      arshif demo                 crawl the bundled offline mirror into ./data
      arshif crawl                crawl every registered site
      arshif serve                browse the archive in Datasette
    """


@cli.command()
@data_option
@click.option("--port", default=8001, show_default=True, help="Port to listen on (127.0.0.1 only).")
def serve(data_dir: Path, port: int) -> None:
    """Browse the archive in Datasette, read-only, on 127.0.0.1.

    \b
    Example:
      arshif serve --data ./data --port 8001
    """
    db = data_dir / DB_NAME
    if not db.is_file():
        raise click.ClickException(f"no archive at {db}: run `arshif demo` or `arshif crawl` first")
    from datasette import cli as datasette_cli

    # Not -i (immutable): that would ignore the WAL and miss a crawl in progress.
    # Datasette reads a mutable database through mode=ro connections.
    args = ["serve", str(db), "--host", "127.0.0.1", "--port", str(port)]
    click.echo(f"serving {db} at http://127.0.0.1:{port}/ (Ctrl-C to stop)", err=True)
    datasette_cli.cli.main(args=args, prog_name="datasette", standalone_mode=True)


def main() -> None:
    try:
        cli.main(prog_name="arshif")
    except KeyboardInterrupt:
        sys.exit(130)
