"""The Datasette metadata arshif gives its archive: titles, column help, facets, queries."""

from __future__ import annotations

from typing import Any

from archive.store.search import TITLE_WEIGHT

PAGE_SIZE = 25
# :page counts from 1; an empty or bad one is the first page. `total` counts every
# match (not only the ranked newest 1,000), so the page can say how many there are.
# Snippets are made for the page's rows only, after ranking: each is Python work.
SEARCH_SQL = f"""
with recent as (
  select f.rowid as id from articles_fts f
  where articles_fts match arabic_match(:q)
  order by f.rowid desc limit 1000
),
hits as (
  select articles_fts.rowid as id, bm25(articles_fts, {TITLE_WEIGHT}, 1.0) as rank
  from articles_fts
  where articles_fts match arabic_match(:q)
    and articles_fts.rowid >= (select min(id) from recent)
)
select a.id, a.title, a.site, a.published, arabic_snippet(a.text, :q) as snippet, a.url,
  (select count(*) from articles_fts where articles_fts match arabic_match(:q)) as total
from (
  select hits.id, hits.rank, a.published from hits join articles a on a.id = hits.id
  order by hits.rank, a.published desc
  limit {PAGE_SIZE}
  offset {PAGE_SIZE} * (max(coalesce(cast(nullif(:page, '') as integer), 1), 1) - 1)
) page join articles a on a.id = page.id
order by page.rank, page.published desc
"""

ARTICLE_COLUMNS = {
    "url": "The article's canonical URL (its rel=canonical on the site, else the fetched URL)",
    "site": "The site's key in arshif's registry",
    "title": "The headline, once, without site or section suffixes",
    "text": "The article text, paragraph by paragraph, without page furniture",
    "published": "Publication date (ISO 8601; with a time and offset when the page gives them)",
    "published_month": "YYYY-MM of the publication date, for faceting",
    "modified": "Last update the page declares",
    "language": "Language detected from the text",
    "category": "The section the site files it under",
    "authors": "JSON list of bylines",
    "tags": "JSON list of the page's tags and keywords",
    "word_count": "Words in text",
    "fetched_url": "The URL whose response holds the page (after redirects)",
    "fetched": "When it was fetched (UTC)",
    "warc_filename": "The WARC file holding the response record",
    "warc_offset": "Byte offset of the response record (a gzip member) in that file",
    "warc_record_id": "WARC-Record-ID of the response; links to the original page",
    "payload_digest": "SHA-1 of the response body as received (base32)",
    "extraction_path": "How the text was extracted: site-rules, generic or fallback-paragraphs",
    "date_source": "Where the date came from: json-ld, meta, time, page:<calendar>, hint:<source>",
    "discovery": "How the crawler found it and what feeds or sitemaps said of it (JSON)",
    "versions": "How many versions of it the archive holds (article_versions)",
    "duplicate_group": "Articles sharing this number tell the same story (near-duplicate text)",
    "last_checked": "When it was last fetched, changed or not",
}


def archive_metadata(databases: list[str]) -> dict[str, Any]:
    tables = {
        "articles": {
            "title": "Articles",
            "description": "One row per archived article. Search is Arabic-aware: "
            "أَذْرَبِيجَان, اذربيجان and وأذربيجان find the same articles.",
            "sort_desc": "published",
            "facets": ["site", "published_month", "language"],
            "fts_table": "articles_fts",
            "fts_pk": "id",
            "label_column": "title",
            "columns": ARTICLE_COLUMNS,
        },
        "captures": {
            "title": "Captures",
            "description": "Every fetched URL: robots.txt, feeds, sitemaps, listings, articles, "
            "redirects and errors, with where its WARC record is.",
            "sort_desc": "id",
            "facets": ["site", "kind", "status"],
        },
        "crawl_runs": {
            "title": "Crawl runs",
            "description": "One row per site per crawl, with what it fetched and what went wrong.",
            "sort_desc": "id",
            "facets": ["site", "status"],
            "columns": {
                "new_articles": "Articles seen for the first time",
                "updated_articles": "Articles whose text changed: a new version",
                "unchanged_articles": "Articles fetched again with the same text",
                "revisits": "Responses identical to an earlier capture (WARC revisit records)",
                "duration": "Seconds the run took",
            },
        },
        "sites": {
            "title": "Sites",
            "description": "The registered sites this archive has crawled.",
        },
        "article_versions": {
            "title": "Article versions",
            "description": "Every stored version of every article, with its WARC record;"
            " an article whose text changed on a later crawl has several.",
            "sort_desc": "fetched",
        },
        "article_aliases": {
            "title": "Article aliases",
            "description": "Every URL an article is known under: short links, language prefixes, "
            "tracking parameters, redirects.",
        },
        "page_kinds": {
            "title": "Page kinds",
            "description": "Pages no URL rule knew, classified by what they declare (og:type, "
            "JSON-LD, a date and a long text): the examples `arshif sites suggest` "
            "turns into rules.",
            "sort_desc": "decided",
        },
        "fingerprint_bands": {"hidden": True},
        "articles_fts": {"hidden": True},
    }
    for suffix in ("data", "idx", "docsize", "config", "content"):
        tables[f"articles_fts_{suffix}"] = {"hidden": True}
    queries = {
        "search": {
            "title": "Search the articles",
            "description": "Arabic-aware search: the most relevant of the newest matches. "
            'Words must all appear; "quoted words" must stand together.',
            "sql": SEARCH_SQL,
            "hide_sql": True,  # the results matter here; the SQL stays one click away
            "page_size": PAGE_SIZE,  # for the template's pager (query-archive-search.html)
        }
    }
    return {
        "title": "arshif: an archive of Arabic news sites",
        "description": "Articles, captures and crawl runs; every article opens its original page "
        "from the WARC record it was archived in.",
        "databases": {
            name: {"title": "Archive", "tables": tables, "queries": queries} for name in databases
        },
    }
