"""arshif's Datasette plugin: Arabic-aware search, readable articles, the original pages.

Registered through the ``datasette`` entry point, so ``arshif serve`` and a
plain ``datasette data/archive.db`` both load it. It

- gives every connection SQL functions for the archive's normalisation
  (``arabic_normalize``, ``arabic_match``, ``arabic_snippet``) and, for a
  database that has the archive's index, an ``escape_fts`` that turns the table
  search box's query into the same stemmed FTS5 query ``arshif search`` runs;
- supplies the project's metadata (titles, column help, facets, sort, the
  canned ``search`` query) through ``get_metadata``;
- renders Arabic cells right to left (``dir="auto"``) and articles as articles;
- sends a Content-Security-Policy with every page (``csp.py``) that lets only
  Datasette's own inline scripts run, and renders only http(s) URLs as links;
- serves each article's original page straight from its WARC record, under a
  sandboxing Content-Security-Policy (archived pages carry strangers' scripts);
- shows each original page inside a replay banner (capture time, WARC record,
  links back), the page itself framed and byte-exact;
- adds a dashboard of articles over time, the latest runs and errors per site,
  and puts search and that chart first on the home page.

Stock sqlite3, sqlite-utils and a Datasette without this plugin still open and
query the archive: the index uses SQLite's own tokenizer over stored stems.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from datasette import hookimpl
from markupsafe import Markup, escape

from archive.browse.csp import App, csp_wrapper
from archive.browse.metadata import archive_metadata
from archive.browse.views import bar_chart, dashboard, original, page
from archive.normalize import normalize
from archive.store.search import (
    MARK,
    MAX_QUERY_CHARS,
    MAX_QUERY_WORDS,
    parse_query,
    snippet,
)
from archive.urls import WEB_SCHEMES, display_url

PLUGIN = "arshif"  # the entry point's name: Datasette mounts our static files under it
_ARABIC = re.compile("[\u0600-\u06ff]")
_TRUNCATE = 200  # characters of Arabic text a table cell shows; the row page shows it all
# Table views list these first (what an article is) and these last (where it lives):
# the stored column order stays as the migrations made it (archive/db.py).
FIRST_COLUMNS = ("title", "text", "site", "published")
LAST_COLUMNS = ("url", "fetched_url", "canonical_url", "warc_record_id", "discovery")


def _bounded(query: str | None) -> str:
    """The query as far as the search reads it: a page's search box has no error line to
    show, so a 2,000-word query is cut to the bounds ``arshif search`` enforces instead of
    costing minutes of CPU (issue 11)."""
    text = (query or "")[:MAX_QUERY_CHARS]
    words = text.split()
    return " ".join(words[:MAX_QUERY_WORDS]) if len(words) > MAX_QUERY_WORDS else text


def arabic_match(query: str | None) -> str:
    match, _ = parse_query(_bounded(query))
    return match or '""'  # an empty phrase matches nothing, instead of an FTS syntax error


def arabic_snippet(text: str | None, query: str | None) -> str:
    _, marks = parse_query(_bounded(query))
    return snippet(text, marks, mark=MARK)


def _is_archive(conn: Any) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'").fetchone()
    return found is not None


@hookimpl(trylast=True)  # after Datasette's own functions, so its escape_fts can be replaced
def prepare_connection(conn: Any, database: str, datasette: Any) -> None:
    conn.create_function(
        "arabic_normalize", 1, lambda t: normalize(t) if t else t, deterministic=True
    )
    conn.create_function("arabic_match", 1, arabic_match, deterministic=True)
    conn.create_function("arabic_snippet", 2, arabic_snippet, deterministic=True)
    if _is_archive(conn):
        # The table search box sends its query through escape_fts(:search).
        conn.create_function("escape_fts", 1, arabic_match, deterministic=True)


@hookimpl
def get_metadata(
    datasette: Any, key: str, database: str | None, table: str | None
) -> dict[str, Any]:
    return archive_metadata(_archive_names(datasette))


def _archive_names(datasette: Any) -> list[str]:
    names = []
    for name, db in datasette.databases.items():
        path = getattr(db, "path", None)
        if path and Path(path).name == "archive.db":
            names.append(name)
    return names


@hookimpl
def extra_css_urls(template: str, database: str | None, datasette: Any) -> list[str]:
    return [datasette.urls.static_plugins(PLUGIN, "arshif.css")]


@hookimpl
def render_cell(
    row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Any:
    if database not in _archive_names(datasette) or not isinstance(value, str):
        return None
    if (
        column == "snippet" and MARK[0] in value
    ):  # from arabic_snippet: escape all, then restore <mark>
        marked = str(escape(value))
        for tag in MARK:
            marked = marked.replace(str(escape(tag)), tag)
        return Markup(f'<div dir="auto" class="arshif-snippet">{marked}</div>')
    if column in ("url", "fetched_url", "canonical_url", "image") and is_web_url(value):
        try:
            shown = escape(display_url(value))
        except UnicodeDecodeError:  # escapes that are no UTF-8: shown as stored
            shown = escape(value)
        return Markup(f'<a href="{escape(value)}" dir="auto" rel="noreferrer">{shown}</a>')
    # sqlite3.Row's "in" looks at values, not names: ask its keys.
    has_id = row is not None and "id" in row.keys()  # noqa: SIM118
    if table == "articles" and column == "warc_record_id" and has_id:
        link = datasette.urls.path(f"/-/arshif/page/{database}/{row['id']}")
        return Markup(f'<a href="{escape(link)}" title="{escape(value)}">original page</a>')
    if _ARABIC.search(value):
        # Datasette's truncate_cells_html only applies to cells no plugin renders.
        limit = min(datasette.setting("truncate_cells_html") or _TRUNCATE, _TRUNCATE)
        # One line of running text: paragraph breaks would make every row tall.
        shown = value if len(value) <= limit else " ".join(value[:limit].split()) + " …"
        return Markup(f'<div dir="auto">{escape(shown)}</div>')
    return None


def column_order(items: list[Any], key: str = "name") -> list[Any]:
    """Datasette's link column, then FIRST_COLUMNS, the rest as stored, LAST_COLUMNS."""

    def rank(item: Any) -> tuple[int, int]:
        name = item[key]
        if name in FIRST_COLUMNS:
            return (1, FIRST_COLUMNS.index(name))
        if name in LAST_COLUMNS:
            return (3, LAST_COLUMNS.index(name))
        return (0 if name in ("Link", "id") else 2, 0)  # the row link leads

    return sorted(items, key=rank)  # stable: the rest keep their stored order


def is_web_url(value: Any) -> bool:
    """Whether value may be rendered as a link: an http(s) URL with a host. A stored
    URL came from a stranger's page; ``javascript:`` in an href runs on click."""
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value.strip())
        return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)
    except ValueError:
        return False


@hookimpl
def prepare_jinja2_environment(env: Any, datasette: Any) -> None:
    env.filters["arshif_column_order"] = column_order
    env.tests["arshif_web_url"] = is_web_url


@hookimpl
def extra_template_vars(template: str, database: str | None, datasette: Any) -> Any:
    if template != "index.html":
        return None

    async def home() -> dict[str, Any]:
        names = _archive_names(datasette)
        if not names:
            return {"arshif_archive": None}
        db = datasette.get_database(names[0])
        per_day = await db.execute(
            "SELECT substr(published, 1, 10) AS day, site, count(*) AS n FROM articles"
            " WHERE published IS NOT NULL GROUP BY day, site"
        )
        total = (await db.execute("SELECT count(*) FROM articles")).single_value()
        return {
            "arshif_archive": names[0],
            "arshif_articles": total,
            "chart": bar_chart([dict(r) for r in per_day.rows]),
        }

    return home


@hookimpl
def asgi_wrapper(datasette: Any) -> Callable[[App], App]:
    return csp_wrapper(datasette)


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [
        (r"^/-/arshif/original/(?P<database>[^/]+)/(?P<id>\d+)$", original),
        (r"^/-/arshif/page/(?P<database>[^/]+)/(?P<id>\d+)$", page),
        (r"^/-/arshif/dashboard$", dashboard),
    ]


@hookimpl
def menu_links(datasette: Any) -> list[dict[str, str]]:
    links = [{"href": datasette.urls.path("/-/arshif/dashboard"), "label": "Archive dashboard"}]
    for name in _archive_names(datasette)[:1]:
        search = datasette.urls.database(name) + "/search"
        links.insert(0, {"href": search, "label": "Search the articles"})
    return links
