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
- serves each article's original page straight from its WARC record, under a
  sandboxing Content-Security-Policy (archived pages carry strangers' scripts);
- adds a dashboard of articles per day, the latest runs and errors per site.

Stock sqlite3, sqlite-utils and a Datasette without this plugin still open and
query the archive: the index uses SQLite's own tokenizer over stored stems.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from datasette import hookimpl
from markupsafe import Markup, escape

from archive.browse.metadata import archive_metadata
from archive.browse.views import dashboard, original
from archive.normalize import normalize
from archive.store.search import MARK, parse_query, snippet

PLUGIN = "arshif"  # the entry point's name: Datasette mounts our static files under it
_ARABIC = re.compile("[\u0600-\u06ff]")
_TRUNCATE = 280


def arabic_match(query: str | None) -> str:
    match, _ = parse_query(query or "")
    return match or '""'  # an empty phrase matches nothing, instead of an FTS syntax error


def arabic_snippet(text: str | None, query: str | None) -> str:
    _, marks = parse_query(query or "")
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
    if column in ("url", "fetched_url", "canonical_url") and value.startswith(
        ("http://", "https://")
    ):
        from archive.urls import display_url

        shown = escape(display_url(value))
        return Markup(f'<a href="{escape(value)}" dir="auto" rel="noreferrer">{shown}</a>')
    # sqlite3.Row's "in" looks at values, not names: ask its keys.
    has_id = row is not None and "id" in row.keys()  # noqa: SIM118
    if table == "articles" and column == "warc_record_id" and has_id:
        link = datasette.urls.path(f"/-/arshif/original/{database}/{row['id']}")
        return Markup(f'<a href="{escape(link)}" title="{escape(value)}">original page</a>')
    if _ARABIC.search(value):
        shown = value if len(value) <= _TRUNCATE else value[:_TRUNCATE] + " …"
        return Markup(f'<div dir="auto">{escape(shown)}</div>')
    return None


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [
        (r"^/-/arshif/original/(?P<database>[^/]+)/(?P<id>\d+)$", original),
        (r"^/-/arshif/dashboard$", dashboard),
    ]


@hookimpl
def menu_links(datasette: Any) -> list[dict[str, str]]:
    return [{"href": datasette.urls.path("/-/arshif/dashboard"), "label": "Archive dashboard"}]
