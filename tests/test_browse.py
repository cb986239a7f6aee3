"""Search and browsing: arshif search, and Datasette with the project's plugin, on the demo archive."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlite_utils
from click.testing import CliRunner
from datasette.app import Datasette
from datasette.plugins import pm

import archive.browse
from archive.browse.views import SANDBOX, read_response
from archive.cli import cli
from archive.normalize import index_text
from tests.test_golden import SEEDS

pytestmark = pytest.mark.e2e
SPELLINGS = ["أذربيجان", "أَذْرَبِيجَان", "اذربيجان", "وأذربيجان"]
SEED_URLS = {t["url"] for t in SEEDS.values()}


def cli_search(data, *args) -> list[dict]:
    result = CliRunner().invoke(
        cli, ["search", "--limit", "1000", *args, "--data", str(data), "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def get(ds: Datasette, path: str):
    return asyncio.run(ds.client.get(path))


@pytest.fixture(scope="module")
def ds(demo_archive):
    return Datasette([str(demo_archive / "archive.db")])


def test_every_spelling_finds_the_same_articles_from_the_cli(demo_archive):
    results = {q: {h["url"] for h in cli_search(demo_archive, q)} for q in SPELLINGS}
    first = results[SPELLINGS[0]]
    assert all(found == first for found in results.values()), {
        q: len(r) for q, r in results.items()
    }
    assert first >= SEED_URLS  # every seed article, the one titled with اذربيجان among them
    hit = cli_search(demo_archive, "أذربيجان", "--limit", "1")[0]
    assert (
        set(hit) == {"url", "title", "site", "published", "snippet"} and "<mark>" in hit["snippet"]
    )


def test_qarabagh_finds_the_articles_that_write_it_that_way(demo_archive):
    with sqlite3.connect(demo_archive / "archive.db") as db:
        expected = {
            u for u, t in db.execute("SELECT url, text FROM articles") if "قره باغ" in index_text(t)
        }
    assert expected
    assert {h["url"] for h in cli_search(demo_archive, '"قره باغ"')} == expected
    assert expected <= {h["url"] for h in cli_search(demo_archive, "قره باغ")}


def test_cli_filters(demo_archive):
    hafryat = cli_search(demo_archive, "أذربيجان", "--site", "hafryat")
    assert hafryat and {h["site"] for h in hafryat} == {"hafryat"}
    recent = cli_search(demo_archive, "أذربيجان", "--since", "2022-09-01")
    assert recent and all(h["published"] >= "2022-09-01" for h in recent)
    assert len(cli_search(demo_archive, "أذربيجان", "--limit", "3")) == 3
    assert cli_search(demo_archive, "كلمةغيرموجودةاطلاقا") == []
    assert cli_search(demo_archive, 'NOT OR "AND ( *') == []  # operators are text, never syntax


def test_snippet_marks_keep_punctuation_outside():
    from archive.store.search import parse_query, snippet

    _, marks = parse_query("أذربيجان")
    text = 'قالت («لأذربيجان،» "أذربيجان".) ثم أذربيجان؟! و، وحدها'
    assert snippet(text, marks, mark=("[[", "]]")) == (
        'قالت («[[لأذربيجان]]،» "[[أذربيجان]]".) ثم [[أذربيجان]]؟! و، وحدها'
    )


def test_cli_snippets_mark_matches_plainly_in_a_pipe(demo_archive):
    out = CliRunner().invoke(cli, ["search", "لأذربيجان", "--data", str(demo_archive)]).stdout
    assert "[[لأذربيجان]]،" in out and "[[أذربيجان]]" in out  # the comma stays outside
    assert "<mark>" not in out and "\033[" not in out
    assert "«أذربيجان»" not in out  # « » are Arabic quotation marks, never the match marker


def test_cli_snippets_are_bold_on_a_terminal(demo_archive, monkeypatch):
    import archive.cli

    monkeypatch.setattr(archive.cli, "_is_terminal", lambda: True)
    result = CliRunner().invoke(
        cli, ["search", "لأذربيجان", "--data", str(demo_archive)], color=True
    )
    assert "\033[33m\033[1mلأذربيجان\033[0m،" in result.stdout
    assert "[[" not in result.stdout and "<mark>" not in result.stdout


def test_datasette_search_box_uses_the_same_normalisation(ds, demo_archive):
    cli_ids = {h["url"] for h in cli_search(demo_archive, "أذربيجان")}
    for spelling in SPELLINGS:
        rows = get(
            ds, f"/archive/articles.json?_search={spelling}&_shape=array&_size=max&_col=url"
        ).json()
        assert {r["url"] for r in rows} == cli_ids, spelling
    page = get(ds, "/archive/articles?_search=قره باغ")
    assert page.status_code == 200 and 'dir="auto"' in page.text


def test_canned_search_query(ds):
    rows = get(ds, "/archive/search.json?q=وأذربيجان&_shape=array").json()
    assert rows and all("<mark>" in r["snippet"] for r in rows)
    page = get(ds, "/archive/search?q=قره+باغ")
    assert page.status_code == 200 and "<mark>" in page.text and "&lt;mark&gt;" not in page.text


def test_metadata_facets_sort_and_help(ds):
    page = get(ds, "/archive/articles")
    for facet in ("site", "published_month", "language"):
        assert f'data-column="{facet}"' in page.text or f"facet-{facet}" in page.text, facet
    rows = get(ds, "/archive/articles.json?_shape=array&_col=published&_size=20").json()
    dates = [r["published"] for r in rows]
    assert dates == sorted(dates, reverse=True)
    assert "The headline, once" in get(ds, "/archive/articles").text  # column help
    assert (
        "arshif.css" in page.text
        and get(ds, "/-/static-plugins/arshif/arshif.css").status_code == 200
    )


def test_article_row_reads_like_an_article_and_escapes_scripts(ds, demo_archive):
    with sqlite3.connect(demo_archive / "archive.db") as db:
        article_id, title = db.execute(
            "SELECT id, title FROM articles WHERE title LIKE '%<script>%'"
        ).fetchone()
    assert title.endswith('<script>alert("arshif")</script>')
    page = get(ds, f"/archive/articles/{article_id}")
    assert 'class="arshif-article"' in page.text and "Original page, as archived" in page.text
    assert 'alert("arshif")</script>' not in page.text and "&lt;script&gt;" in page.text
    table = get(ds, "/archive/articles?_search=" + "بوتين")
    assert 'alert("arshif")</script>' not in table.text


def test_original_pages_are_the_warc_payload_under_a_sandbox(ds, demo_archive):
    with sqlite3.connect(demo_archive / "archive.db") as db:
        rows = db.execute("SELECT id, warc_filename, warc_offset, site FROM articles").fetchall()
    encodings = set()
    for article_id, filename, offset, site in rows:
        response = get(ds, f"/-/arshif/original/archive/{article_id}")
        payload, _, encoding = read_response(demo_archive / "warc" / filename, offset)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == SANDBOX and "sandbox" in SANDBOX
        assert response.headers.get("content-encoding") == encoding
        raw = asyncio.run(_raw_body(ds, f"/-/arshif/original/archive/{article_id}"))
        assert raw == payload, (site, article_id)
        encodings.add(encoding)
    assert encodings == {None, "gzip"}
    assert get(ds, "/-/arshif/original/archive/999999").status_code == 404


async def _raw_body(ds: Datasette, path: str) -> bytes:
    """The response body as sent (Datasette's own client would undo the gzip)."""
    transport = httpx.ASGITransport(app=ds.app())
    client = httpx.AsyncClient(transport=transport, base_url="http://localhost")
    async with client, client.stream("GET", path) as response:
        return b"".join([chunk async for chunk in response.aiter_raw()])


def test_dashboard(ds):
    page = get(ds, "/-/arshif/dashboard")
    assert page.status_code == 200
    assert page.text.count("<polyline") == 5 and "Latest crawl runs" in page.text
    recent = get(
        ds, "/-/arshif/dashboard?days=30"
    )  # only the sites that published in the last 30 days
    assert 1 <= recent.text.count("<polyline") < 5
    assert "Errors per site" in page.text
    chart = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    assert "<script" not in chart and "http" not in chart.replace(
        'xmlns="http', ""
    )  # drawn, not fetched


def test_stock_tools_still_open_and_query_the_archive(demo_archive):
    path = demo_archive / "archive.db"
    with sqlite3.connect(path) as db:  # stock sqlite3: no functions, no tokenizer of ours
        assert (
            db.execute(
                "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'اذربيج'"
            ).fetchone()[0]
            > 100
        )
    assert sqlite_utils.Database(path)["articles"].count >= 170
    pm.unregister(archive.browse)
    try:
        plain = Datasette([str(path)])
        assert get(plain, "/archive/articles.json?_size=1").status_code == 200
        found = get(plain, "/archive/articles.json?_search=اذربيج&_shape=array&_size=1").json()
        assert len(found) == 1
    finally:
        pm.register(archive.browse, name="arshif")


def test_stock_sqlite_utils_searches_the_articles_with_a_stemmed_term(demo_archive):
    path = demo_archive / "archive.db"
    found = list(sqlite_utils.Database(path)["articles"].search("اذربيج", columns=["url"]))
    assert len(found) >= 170 and {r["url"] for r in found} >= SEED_URLS
    assert list(sqlite_utils.Database(path)["articles"].search("أذربيجان")) == []  # not stemmed
    tool = Path(sys.executable).parent / "sqlite-utils"
    query = archive.browse.arabic_match("وأذربيجان")  # what the README tells a stock user to run
    result = subprocess.run(
        [str(tool), "search", str(path), "articles", query, "-c", "url", "-c", "title"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) >= 170 and any("أذربيجان" in (r["title"] or "") for r in rows)
