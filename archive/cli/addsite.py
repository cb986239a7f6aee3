"""``arshif add-site URL``: print (or append to a sites file) a proposed registry entry.

The looking is in ``archive.discover.addsite``; here are the command, the TOML it
writes and the report of what it saw.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import click

from archive.discover.addsite import AddSiteError, Proposal, propose
from archive.discover.fetch import Fetcher
from archive.urls import display_url


def _string(value: str) -> str:
    # Regexes read best as TOML literal strings (no escaping), as in sites.toml.
    if "'" not in value and "\n" not in value and value.isprintable():
        return f"'{value}'"
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_string(v) for v in value) + "]"
    return _string(value) if isinstance(value, str) else json.dumps(value)


def render_toml(proposal: Proposal) -> str:
    """The entry as TOML, with what is worth knowing as comments above the fields."""
    lines = [f"# Proposed by arshif add-site from {display_url(proposal.home)}"]
    lines.append(f"# CMS: {proposal.detection.summary()}")
    if proposal.robots_sitemaps:
        declared = ", ".join(display_url(u) for u in proposal.robots_sitemaps)
        lines.append(f"# Sitemaps robots.txt declares (read at every crawl): {declared}")
    lines.append(f"[sites.{proposal.key}]")
    lines += [f"{name} = {_value(value)}" for name, value in proposal.entry().items()]
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # what we print must parse; a failure is our bug
    return text


def report(proposal: Proposal) -> str:
    """What add-site saw, for the person deciding whether to keep the entry."""
    out = [f"site:      {display_url(proposal.home)} ({proposal.name})"]
    out.append(f"CMS:       {proposal.detection.summary()}")
    out.append(f"language:  {proposal.language}")
    for label, urls in [
        ("feeds", proposal.feeds),
        ("sitemaps", proposal.sitemaps + proposal.robots_sitemaps),
        ("listings", proposal.listings),
    ]:
        out.append(f"{label + ':':<10} {', '.join(display_url(u) for u in urls) or 'none found'}")
    rules = proposal.article_urls or [f"the '{proposal.detection.preset}' preset's own"]
    out.append(f"articles:  {len(proposal.article_examples)} seen; rule: {', '.join(rules)}")
    if proposal.listing_urls:
        out.append(f"listings rule: {', '.join(proposal.listing_urls)}")
    out.append(f"samples ({len(proposal.samples)}):")
    for s in proposal.samples:
        out.append(f"  {display_url(s.url)}")
        if s.error:
            out.append(f"    ! {s.error}")
        if s.title or not s.error:
            out.append(f"    title: {s.title or '-'}")
            out.append(f"    date:  {s.published or '-'}   words: {s.words}")
            out.append(f"    text:  {s.first_line or '-'}")
    out += [f"note: {n}" for n in proposal.notes]
    return "\n".join(out)


def registry_notes(proposal: Proposal) -> list[str]:
    """Where the proposal meets sites already registered (bundled, ARSHIF_SITES): the same
    key would merge into that entry rather than add a site."""
    from archive.cli import sites_files_with_env
    from archive.discover.sites import SiteConfigError, load_registry

    try:
        registry = load_registry(sites_files_with_env(()))
    except SiteConfigError:
        return []
    notes = []
    if proposal.key in registry:
        notes.append(
            f"[sites.{proposal.key}] is already registered ({registry[proposal.key].source}):"
            " this entry would change its fields; give --key for a new site"
        )
    other = registry.site_for_url(proposal.home)
    if other is not None and other.key != proposal.key:
        notes.append(f"{display_url(proposal.home)} is already registered as '{other.key}'")
    return notes


def _check_output(path: Path, key: str | None) -> str:
    """The sites file's text ("" when new); refuses a file that cannot be written or that
    already has the key (None: not known yet)."""
    folder = path.absolute().parent
    if not folder.is_dir():
        raise click.ClickException(f"{path}: no such directory {folder}")
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise click.ClickException(f"{path}: not writable")
    if not path.exists():
        return ""
    try:
        existing = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise click.ClickException(f"{path}: cannot read it ({e}); not touched") from None
    try:
        sites = tomllib.loads(existing).get("sites", {})
    except tomllib.TOMLDecodeError as e:
        raise click.ClickException(f"{path}: not valid TOML ({e}); not touched") from None
    if key is not None and key in sites:
        raise click.ClickException(f"{path} already has [sites.{key}]; choose another --key")
    return existing


def _append(path: Path, existing: str, text: str) -> None:
    separator = "" if not existing else "\n" if existing.endswith("\n") else "\n\n"
    try:
        with path.open("a", encoding="utf-8") as f:
            f.write(separator + text)
    except OSError as e:
        raise click.ClickException(f"{path}: cannot write the entry ({e.strerror})") from None


@click.command("add-site")
@click.argument("url")
@click.option("--key", help="The site's key (default: from the domain, www.example.com → example).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append the entry to this sites file (refuses a key it already has).",
)
@click.option(
    "--samples",
    default=5,
    show_default=True,
    type=click.IntRange(0, 20),
    help="How many articles to extract as a check.",
)
@click.option("--proxy", metavar="URL", help="HTTP proxy (default: HTTPS_PROXY / HTTP_PROXY).")
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Also trust the certificates in this PEM file (a proxy's or a mirror's own CA).",
)
@click.option("-k", "--insecure", is_flag=True, help="Do not verify TLS certificates.")
@click.option(
    "--delay",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, 60),
    help="Seconds between requests (robots.txt Crawl-delay wins when longer).",
)
@click.option(
    "--contact",
    envvar="ARSHIF_CONTACT",
    help="Contact URL or e-mail for the User-Agent (or ARSHIF_CONTACT).",
)
def add_site(
    url: str,
    key: str | None,
    output: Path | None,
    samples: int,
    proxy: str | None,
    ca_file: str | None,
    insecure: bool,
    delay: float,
    contact: str | None,
) -> None:
    """Look at a news site and propose its entry for a sites file.

    Fetches robots.txt, the home page, its feeds and sitemaps (politely, as the
    crawler would), recognises the CMS, writes URL rules for its articles and
    section pages, and extracts a few articles to show what a crawl would keep.
    The entry goes to stdout (or is appended to --output); what it saw goes to
    stderr.

    \b
    Example:
      arshif add-site https://www.example-news.com/ --output ~/arshif-sites.toml
      arshif crawl --sites ~/arshif-sites.toml example_news
    \b
    Example output (stdout):
      # Proposed by arshif add-site from https://hafryat.com/
      # CMS: Drupal → preset 'drupal' (X-Generator header says Drupal; ...)
      [sites.hafryat]
      name = 'حفريات'
      cms = 'drupal'
      domains = ['hafryat.com']
      ...
    """
    if key is not None and not re.match(r"^[a-z][a-z0-9_]{0,39}$", key):
        raise click.BadParameter("lower-case letters, digits and _", param_hint="--key")
    if output is not None:
        _check_output(output, key)  # before any fetch: a refusal should cost nothing
    fetcher = Fetcher(
        proxy=proxy,
        ca_file=ca_file or None,
        insecure=insecure,
        delay=delay,
        contact=contact or os.environ.get("ARSHIF_CONTACT", ""),
    )
    try:
        proposal = propose(url, fetcher, key=key, samples=samples)
    except AddSiteError as e:
        raise click.ClickException(str(e)) from None
    except Exception as e:  # a bug of ours: still one line, never a traceback
        raise click.ClickException(f"{url}: unexpected {type(e).__name__}: {e}") from None
    existing = _check_output(output, proposal.key) if output is not None else ""
    proposal.notes += registry_notes(proposal)
    text = render_toml(proposal)
    click.echo(report(proposal), err=True)
    if output is not None:
        _append(output, existing, text)
        click.echo(f"[sites.{proposal.key}] added to {output}", err=True)
    else:
        click.echo(text, nl=False)
