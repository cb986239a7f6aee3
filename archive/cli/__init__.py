"""The ``arshif`` command: one click command per verb.

Commands that need the crawler (``crawl``, ``demo``) or the mirror live in
those packages and are imported only when invoked, so the archive library and
its commands never import Scrapy or Twisted.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import socket
import sqlite3
import sys
from datetime import date
from pathlib import Path
from typing import BinaryIO

import click

from archive import __version__
from archive.discover.sites import (
    Registry,
    SiteConfigError,
    load_registry,
    recorded_sites_files,
)
from archive.store.db import ArchiveSchemaError, open_read_only, writable_dir
from archive.store.writer import DB_NAME
from archive.urls import canonicalize, display_url, web_url

# name -> "module:attribute", imported on first use.
LAZY_COMMANDS = {
    "add-site": "archive.cli.addsite:add_site",
    "cluster": "archive.cli.cluster:cluster",
    "ingest": "archive.cli.cluster:ingest",
    "crawl": "crawler.cli:crawl",
    "demo": "crawler.cli:demo",
    "mirror": "mirror.cli:mirror",
    "sites": "archive.cli.sites:sites",
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


class BadUsage(click.ClickException):
    """A usage error in one line: click's own UsageError adds the usage and a hint."""

    exit_code = 2


def _archive_path(data_dir: Path) -> Path:
    """The archive database in data_dir, checked to be one (it opens, read-only, and
    holds arshif's tables), or one line telling the user what is wrong with it."""
    db = data_dir / DB_NAME
    if not db.exists() and not db.is_symlink():
        raise click.ClickException(f"no archive at {db}: run `arshif demo` or `arshif crawl` first")
    _open_archive(db).close()
    return db


def _open_archive(db: Path) -> sqlite3.Connection:
    """A read-only connection to the archive db (also on read-only media), or exit 2 with
    one line: random bytes, a text file, a truncated or empty file, a directory."""
    try:
        return open_read_only(db)
    except (ArchiveSchemaError, OSError) as e:
        raise BadUsage(str(e)) from None


def _check_date(value: str | None, option: str) -> None:
    """A real calendar date, YYYY-MM-DD (or YYYY-MM, YYYY: a prefix, as dates are compared).

    The pattern comes first because fromisoformat also takes 20201001 and week
    dates, which would not compare as prefixes of the stored ISO dates.
    """
    if not value:
        return
    if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value):
        try:
            date.fromisoformat((value + "-01-01")[:10])  # YYYY and YYYY-MM: their first day
            return
        except ValueError:
            pass
    raise BadUsage(f"{option} {value!r} is not a date: give a real one as YYYY-MM-DD")


def _check_site(db: sqlite3.Connection, site: str | None) -> None:
    """An unknown --site would quietly find nothing; say which sites the archive holds."""
    if not site:
        return
    known = [r[0] for r in db.execute("SELECT key FROM sites ORDER BY key")]
    if site in known:
        return
    listed = f"; the archive holds {', '.join(known)}" if 0 < len(known) <= 20 else ""
    raise BadUsage(f"unknown site {site!r}{listed}")


def _check_port_free(port: int) -> None:
    """Fail in one line before Datasette starts, instead of uvicorn's log after 'serving at'.

    SO_REUSEADDR as uvicorn sets it, so a port left in TIME_WAIT by the last run
    is not taken for busy.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as e:
            raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {e.strerror}") from None


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


TRUNCATE_CELLS = 160


@cli.command()
@data_option
@click.option(
    "--port",
    default=8001,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (127.0.0.1 only).",
)
def serve(data_dir: Path, port: int) -> None:
    """Browse the archive in Datasette, read-only, on 127.0.0.1.

    \b
    Example:
      arshif serve --data ./data --port 8001
    """
    db = _archive_path(data_dir)
    _check_port_free(port)
    from datasette import cli as datasette_cli

    # Not -i (immutable) where it can be helped: that would ignore the WAL and miss a
    # crawl in progress. Datasette reads a mutable database through mode=ro
    # connections, which on read-only media cannot create the WAL's -shm file.
    read_only_media = not writable_dir(db) and not Path(f"{db}-shm").exists()
    args = ["serve", *(["-i"] if read_only_media else []), str(db)]
    args += ["--host", "127.0.0.1", "--port", str(port)]
    # Long cells (article text, discovery JSON) cut short in table views: rows stay
    # one glance tall; the row page shows everything.
    args += ["--setting", "truncate_cells_html", str(TRUNCATE_CELLS)]
    click.echo(f"serving {db} at http://127.0.0.1:{port}/ (Ctrl-C to stop)", err=True)
    datasette_cli.cli.main(args=args, prog_name="datasette", standalone_mode=True)


sites_option = click.option(
    "--sites",
    "sites_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A sites file adding or overriding sites (repeatable; also ARSHIF_SITES).",
)


def sites_files_with_env(given: tuple[Path, ...], data_dir: Path | None = None) -> list[Path]:
    """The sites files crawls into data_dir used, then ARSHIF_SITES's, then those given
    with --sites (later files override earlier)."""

    def gone(path: Path) -> None:
        click.echo(f"arshif: warning: {path}, used by a crawl into {data_dir}, is gone", err=True)

    recorded = recorded_sites_files(data_dir, missing=gone)
    from_env = [Path(p) for p in os.environ.get("ARSHIF_SITES", "").split(os.pathsep) if p]
    return [*recorded, *from_env, *given]


def _registry(sites_files: tuple[Path, ...], data_dir: Path | None = None) -> Registry:
    try:
        return load_registry(sites_files_with_env(sites_files, data_dir))
    except SiteConfigError as e:
        raise click.ClickException(str(e)) from None


# News pages are well under a few MB; trafilatura on 100 MB of text takes minutes and
# gigabytes, so a file that large is a mistake, said at once.
MAX_EXTRACT_BYTES = 20 * 2**20
# Formats a page is not: a PDF or a gzip file may hold no NUL in its first bytes.
_BINARY_MAGIC = (b"%PDF-", b"\x1f\x8b", b"PK\x03\x04", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")


def _binary(body: bytes) -> bool:
    """Whether body is no text at all: a known binary format, or NUL bytes in its
    first 8 KB as no HTML or text has (unless UTF-16, which starts with its BOM)."""
    if body.startswith(_BINARY_MAGIC):
        return True
    return b"\x00" in body[:8192] and not body.startswith((b"\xff\xfe", b"\xfe\xff"))


@cli.command()
@click.argument("file", type=click.File("rb"))
@click.option("--url", required=True, help="The URL the page was fetched from.")
@click.option(
    "--site", "site_key", help="Apply this site's rules (default: the site the URL belongs to)."
)
@click.option("--content-type", help="The page's Content-Type header, if known (for its charset).")
@sites_option
def extract(
    file: BinaryIO,
    url: str,
    site_key: str | None,
    content_type: str | None,
    sites_files: tuple[Path, ...],
) -> None:
    """Extract the article from an HTML FILE and print it as one JSON object.

    The site's cleanup rules apply when the URL belongs to a registered site
    (or --site names one); any other page gets the generic path. FILE may be -.

    \b
    Example:
      arshif extract page.html --url https://hafryat.com/node/60245
    """
    from archive.extract.article import extract_article

    if web_url(url) is None:
        raise click.BadParameter(f"{url!r} is not an http(s) URL", param_hint="--url")
    registry = _registry(sites_files)
    if site_key:
        try:
            (site,) = registry.select([site_key])
        except SiteConfigError as e:
            raise click.ClickException(str(e)) from None
    else:
        site = registry.site_for_url(url)
    body = file.read(MAX_EXTRACT_BYTES + 1)
    name = "standard input" if file.name == "<stdin>" else file.name
    if len(body) > MAX_EXTRACT_BYTES:
        raise BadUsage(
            f"{name}: over {MAX_EXTRACT_BYTES // 2**20} MB, not a web page arshif extracts"
        )
    if _binary(body):
        raise BadUsage(f"{name}: binary data, not HTML or text")
    if not body.strip():
        # An empty record printed with exit 0 would read as "a page with no article".
        raise BadUsage(f"{name}: empty, no page to extract")
    record = extract_article(body, canonicalize(url), site, content_type=content_type)
    click.echo(json.dumps(record.as_dict(), ensure_ascii=False, indent=2))


quiet_option = click.option(
    "-q", "--quiet", is_flag=True, help="No progress bar or progress lines on standard error."
)
workers_option = click.option(
    "-w",
    "--workers",
    "-j",
    "--jobs",
    "workers",
    type=click.IntRange(1),
    help="Worker processes (default: every core this process may use).",
)


@cli.command()
@data_option
@click.option("--site", "site_key", help="Only this site's WARC files and articles.")
@workers_option
@quiet_option
@sites_option
def reextract(
    data_dir: Path,
    site_key: str | None,
    workers: int | None,
    quiet: bool,
    sites_files: tuple[Path, ...],
) -> None:
    """Rebuild the article rows from the WARC files alone, without network.

    Run it after changing a site's rules and the archive improves; run it twice
    and nothing changes the second time. The records are shared out among
    --workers processes (a single large WARC file too); the rows come out the
    same whatever their number.

    \b
    Examples:
      arshif reextract --data ./data --site hafryat
      arshif reextract --data /srv/arshif --workers 4 --quiet
    """
    from archive.cli.progress import Progress
    from archive.store.reextract import reextract as run

    if (data_dir / DB_NAME).exists():  # none is fine: it is rebuilt from the WARC files
        _open_archive(data_dir / DB_NAME).close()
    registry = _registry(sites_files, data_dir)
    if site_key:
        try:
            registry.select([site_key])
        except SiteConfigError as e:
            raise click.ClickException(str(e)) from None
    if not (data_dir / "warc").is_dir():
        raise click.ClickException(f"no WARC files in {data_dir / 'warc'}: nothing to re-extract")
    with Progress("reextract", quiet=quiet) as progress:
        summary = run(
            data_dir,
            site=site_key,
            sites_files=sites_files_with_env(sites_files, data_dir),
            workers=workers,
            on_total=progress.set_total,
            on_done=progress.advance,
        )
    click.echo(summary.line())
    for problem in summary.skipped:
        click.echo(f"  skipped: {problem}", err=True)
    for problem in summary.failed:
        click.echo(f"  failed: {problem}", err=True)
    if summary.failed:
        click.echo(f"reextract: {len(summary.failed)} failure(s) in {data_dir}", err=True)
        sys.exit(1)


# Matches in search snippets when stdout is not a terminal: ASCII, easy to grep
# for, and not a quotation mark (« » are Arabic's quotation marks).
PLAIN_MARK = ("[[", "]]")


def _is_terminal() -> bool:
    """Whether stdout is a terminal, where matches are shown bold instead of marked."""
    return sys.stdout.isatty()


@cli.command()
@click.argument("query")
@data_option
@click.option("--site", "site_key", help="Only this site's articles.")
@click.option(
    "--since", metavar="DATE", help="Only articles published on or after DATE (YYYY-MM-DD)."
)
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="How many results."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a JSON list (url, title, site, published, snippet).",
)
def search(
    query: str, data_dir: Path, site_key: str | None, since: str | None, limit: int, as_json: bool
) -> None:
    """Search the archive's articles, Arabic-aware: أَذْرَبِيجَان, اذربيجان and وأذربيجان
    find the same articles. Words must all appear; "quoted words" must stand together.
    Matches in snippets are bold on a terminal, [[marked]] in a pipe or file, and
    <mark>ed in --json.

    \b
    Examples:
      arshif search أذربيجان
      arshif search '"قره باغ"' --site hafryat --since 2020-10-01 --json
    """
    from archive.store.search import MARK, QueryTooLong, check_query
    from archive.store.search import search as run_search

    try:
        check_query(query)
    except QueryTooLong as e:
        raise BadUsage(str(e)) from None
    db = _archive_path(data_dir)
    _check_date(since, "--since")
    if as_json:
        mark = MARK
    elif _is_terminal():
        mark = tuple(click.style("\0", bold=True, fg="yellow").split("\0"))
    else:
        mark = PLAIN_MARK
    conn = _open_archive(db)
    try:
        _check_site(conn, site_key)
        hits = run_search(conn, query, site=site_key, since=since, limit=limit, mark=mark)
    finally:
        conn.close()
    if as_json:
        fields = ("url", "title", "site", "published", "snippet")
        click.echo(
            json.dumps(
                [{k: h.as_dict()[k] for k in fields} for h in hits], ensure_ascii=False, indent=2
            )
        )
        return
    for hit in hits:
        click.echo(f"{(hit.published or '')[:10]}  {hit.site}  {hit.title}")
        click.echo(f"    {hit.snippet}\n    {display_url(hit.url)}\n")
    click.echo(f"{len(hits)} result(s)", err=True)


@cli.command("export-wacz")
@data_option
@click.option("--site", "site_key", help="Only this site's WARC files and pages.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write (default: DATA/arshif.wacz).",
)
@click.option("--title", help="The collection's title.")
@quiet_option
def export_wacz(
    data_dir: Path, site_key: str | None, output: Path | None, title: str | None, quiet: bool
) -> None:
    """Package the archive as a WACZ for ReplayWeb.page or pywb.

    The WARC files, a CDXJ index, the archived articles as pages, and a
    datapackage.json with every file's SHA-256.

    \b
    Example:
      arshif export-wacz --data ./data -o hafryat.wacz --site hafryat
    """
    from archive.cli.progress import Progress
    from archive.store.reextract import warc_files
    from archive.store.wacz import export_wacz as run

    _archive_path(data_dir)
    target = output or data_dir / "arshif.wacz"
    size = sum(p.stat().st_size for p in warc_files(data_dir, site_key))
    # Counted as the WARC files are packed; indexing them first shows as 0 bytes.
    with Progress("export-wacz", size, unit="bytes", quiet=quiet) as progress:
        try:
            summary = run(
                data_dir,
                target,
                site=site_key,
                title=title,
                on_file=lambda path: progress.advance(path.stat().st_size),
            )
        except FileNotFoundError as e:
            raise click.ClickException(str(e)) from None
    click.echo(
        f"{summary.path}: {summary.warc_files} WARC files, {summary.pages} pages,"
        f" {summary.index_lines} index lines, {summary.bytes / 1e6:.2f} MB"
    )


@cli.command()
@data_option
@click.option(
    "--runs",
    default=20,
    show_default=True,
    type=click.IntRange(1),
    help="How many of the latest runs.",
)
@click.option("--site", "site_key", help="Only this site's runs and articles.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
def stats(data_dir: Path, runs: int, site_key: str | None, as_json: bool) -> None:
    """What the latest crawl runs did, per site: requests, responses by status, bytes,
    new / updated / unchanged articles, revisits, errors by kind, duration.

    \b
    Examples:
      arshif stats --data /srv/arshif --runs 10
      arshif stats --site hafryat --json
    """
    db = _open_archive(_archive_path(data_dir))
    db.row_factory = sqlite3.Row
    try:
        _check_site(db, site_key)
        where, params = (" WHERE site = ?", [site_key]) if site_key else ("", [])
        rows = [
            dict(r)
            for r in db.execute(
                f"SELECT * FROM crawl_runs{where} ORDER BY id DESC LIMIT ?", [*params, runs]
            )
        ]
        totals = db.execute(
            "SELECT count(*), coalesce(sum(versions), 0), count(DISTINCT duplicate_group)"
            f" FROM articles{where}",
            params,
        ).fetchone()
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(f"{totals[0]} articles, {totals[1]} versions, {totals[2]} near-duplicate groups")
    for r in reversed(rows):
        statuses = " ".join(f"{k}:{v}" for k, v in json.loads(r["by_status"] or "{}").items())
        errors = " ".join(f"{k}:{v}" for k, v in json.loads(r["error_kinds"] or "{}").items())
        click.echo(
            f"run {r['id']:>4} {r['started'][:16]} {r['site']:<16} {r['status']:<11}"
            f" {r['requests']:>5} req [{statuses}] {r['bytes'] / 1e6:.2f} MB"
            f" | {r['new_articles']} new {r['updated_articles']} updated"
            f" {r['unchanged_articles']} unchanged {r['revisits']} revisits"
            f" | {r['errors']} errors {errors} | {r['duration'] or 0:.1f} s"
            + (f" | {r['message']}" if r["message"] else "")
        )


@cli.command()
@data_option
@click.option(
    "--repair",
    is_flag=True,
    help="Mend what can be mended, deleting nothing: move a torn WARC tail to"
    " NAME.warc.gz.torn-<time>, flag rows whose record is gone, re-extract WARC"
    " responses that have no row. Then check again.",
)
@workers_option
@quiet_option
@sites_option
def verify(
    data_dir: Path, repair: bool, workers: int | None, quiet: bool, sites_files: tuple[Path, ...]
) -> None:
    """Check the archive: the database's integrity, that every article version points
    at an existing WARC record whose payload digest matches, and that every WARC
    file reads to its end. Prints each problem; exits 0 only when there is none.
    Rows a repair flagged as having lost their record are listed, not counted.
    The records are shared out among --workers processes (a single large WARC
    file too); the problems found are the same whatever their number.

    \b
    Examples:
      arshif verify --data /srv/arshif -q || mail -s "arshif archive damaged" me@example.org
      arshif verify --data /srv/arshif --repair
      arshif verify --data /srv/arshif --workers 2
    """
    from archive.cli.progress import Progress
    from archive.store.pool import default_workers
    from archive.store.verify import flagged_lines
    from archive.store.verify import verify as run

    _archive_path(data_dir)
    if repair:
        from archive.store.repair import repair as mend

        sites = sites_files_with_env(sites_files, data_dir)
        _registry(sites_files, data_dir)  # a broken sites file: one line, before anything moves
        from archive.capture.lock import LOCKED_EXIT, CrawlLock, CrawlLocked

        try:
            # A running crawl's WARC ends in a record being written: it would look torn.
            with CrawlLock(data_dir):
                actions = mend(data_dir, sites)
        except CrawlLocked as e:
            click.echo(f"arshif: {e}", err=True)
            sys.exit(LOCKED_EXIT)
        except (OSError, sqlite3.Error) as e:
            raise click.ClickException(f"repair stopped: {e}") from None
        for action in actions:
            click.echo(action)
        click.echo(f"repair: {len(actions)} action(s) in {data_dir}", err=True)
    files = list((data_dir / "warc").glob("*.warc.gz"))
    with Progress("verify", unit="checks", quiet=quiet) as progress:
        problems = run(
            data_dir,
            workers=workers or default_workers(),
            on_total=progress.set_total,
            on_done=progress.advance,
        )
    for problem in problems:
        click.echo(problem)
    if not repair:  # a repair just printed the flags it set
        for line in flagged_lines(data_dir):
            click.echo(line)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {data_dir}", err=True)
        sys.exit(1)
    click.echo(f"{data_dir}: archive sound ({len(files)} WARC files)", err=True)


@cli.command()
@data_option
@click.option("--site", "site_key", help="Only this site's articles.")
@click.option("--since", metavar="DATE", help="Published on or after DATE (YYYY-MM-DD).")
@click.option("--until", metavar="DATE", help="Published on or before DATE (YYYY-MM-DD).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File (default: stdout).",
)
@click.option(
    "--bom/--no-bom",
    default=None,
    help="Start a CSV with the UTF-8 byte order mark, which Excel needs to read Arabic"
    " (default: on for csv).",
)
@quiet_option
def export(
    data_dir: Path,
    site_key: str | None,
    since: str | None,
    until: str | None,
    fmt: str,
    output: Path | None,
    bom: bool | None,
    quiet: bool,
) -> None:
    """Export articles (text and metadata) as JSON lines, CSV or Parquet.

    \b
    Examples:
      arshif export --format jsonl --site hafryat > hafryat.jsonl
      arshif export --format parquet --since 2020-10-01 --until 2020-10-31 -o oct.parquet
      arshif export --format csv --no-bom -o articles.csv   # for tools that choke on a BOM
    """
    from archive.cli.progress import Progress
    from archive.store.export import count
    from archive.store.export import export as run

    db = _open_archive(_archive_path(data_dir))
    try:
        _check_site(db, site_key)
    finally:
        db.close()
    _check_date(since, "--since")
    _check_date(until, "--until")
    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet needs -o FILE")
    if bom and fmt != "csv":
        raise BadUsage(f"--bom is for --format csv; {fmt} is read as UTF-8 without it")
    total = count(data_dir, site_key, since, until)
    with Progress("export", total, unit="articles", quiet=quiet) as progress:
        exported = run(
            data_dir,
            fmt,
            output,
            site=site_key,
            since=since,
            until=until,
            bom=bom is not False,
            on_row=progress.advance,
        )
    click.echo(f"{exported} article(s) exported", err=True)


@cli.command()
@data_option
@quiet_option
def reindex(data_dir: Path, quiet: bool) -> None:
    """Rebuild the search index (after an upgrade that changes the normalisation).

    \b
    Example:
      arshif reindex --data ./data
    """
    from archive.cli.progress import Progress
    from archive.store.writer import Archive

    _archive_path(data_dir)
    archive = Archive.open(data_dir)
    try:
        with Progress("reindex", unit="articles", quiet=quiet) as progress:
            indexed = archive.reindex(on_total=progress.set_total, on_done=progress.advance)
    finally:
        archive.close()
    click.echo(f"{indexed} articles indexed")


def main() -> None:
    try:
        cli.main(prog_name="arshif")
    except KeyboardInterrupt:
        sys.exit(130)
