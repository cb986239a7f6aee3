"""``arshif sites``: the registered sites, and URL rules learned from a crawl."""

from __future__ import annotations

from pathlib import Path

import click

from archive.cli import _archive_path, _open_archive, _registry, data_option, sites_option
from archive.discover.sites import SiteConfigError
from archive.discover.suggest import as_toml, classified_urls
from archive.discover.suggest import suggest as generalise


class UnknownSite(click.ClickException):
    exit_code = 2  # a usage error, as for an unknown command


@click.group()
def sites() -> None:
    """The registered sites, and URL rules learned from what a crawl found.

    \b
    Examples:
      arshif sites list --sites my-sites.toml
      arshif sites suggest mysite --data ./data --sites my-sites.toml > mysite-rules.toml
      arshif crawl mysite --sites my-sites.toml --sites mysite-rules.toml
    """


@sites.command("list")
@sites_option
def list_sites(sites_files: tuple[Path, ...]) -> None:
    """Print each registered site: key, preset, domains, and where it is defined.

    \b
    Example:
      arshif sites list --sites my-sites.toml
    """
    for site in _registry(sites_files).values():
        click.echo(f"{site.key:<20} {site.cms:<10} {' '.join(site.domains)}  ({site.source})")


@sites.command()
@click.argument("site_key", metavar="SITE")
@data_option
@sites_option
def suggest(site_key: str, data_dir: Path, sites_files: tuple[Path, ...]) -> None:
    """Print article_urls and listing_urls for SITE, as TOML for a sites file of its own.

    The rules generalise the URLs this archive holds for SITE: pages that
    declared themselves articles (og:type, JSON-LD, a date and a long text) or
    were read as listings when a crawl met them without a rule, and the URLs of
    its archived articles. Numbers become \\d+, slugs [^/?#]+, shared words stay.
    Each pattern comes with its count of URLs and an example: review them.
    Save them to a file of their own and give it after the file defining SITE:
    a later --sites file overrides those fields of the site. (Appending with >>
    to the file defining SITE would repeat [sites.SITE], which TOML refuses.)

    \b
    Example:
      arshif crawl --sites my-sites.toml mysite     # a generic entry, no article_urls
      arshif sites suggest mysite --sites my-sites.toml > mysite-rules.toml
      arshif crawl --sites my-sites.toml --sites mysite-rules.toml mysite
    """
    try:
        _registry(sites_files, data_dir).select([site_key])
    except SiteConfigError as e:
        raise UnknownSite(str(e)) from None
    db_path = _archive_path(data_dir)
    db = _open_archive(db_path)
    try:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        if "page_kinds" not in tables:
            raise click.ClickException(
                f"the archive at {db_path} predates page classification: crawl once to upgrade it"
            )
        urls = classified_urls(db, site_key)
    finally:
        db.close()
    if not urls.get("article") and not urls.get("listing"):
        raise click.ClickException(
            f"no pages of site '{site_key}' in {db_path}: crawl it first"
            f" (arshif crawl {site_key} --data {data_dir})"
        )
    kinds = {kind: generalise(found) for kind, found in urls.items() if found}
    click.echo(as_toml(site_key, kinds), nl=False)
    counts = ", ".join(f"{len(found)} {kind} URL(s)" for kind, found in urls.items() if found)
    click.echo(f"from {counts} in {db_path}", err=True)
