"""Search and browsing: arshif search, and Datasette with the project's plugin, on the demo archive."""

from __future__ import annotations

import asyncio
import html
import json
import re
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
from archive.browse import LAST_COLUMNS
from archive.browse.metadata import PAGE_SIZE
from archive.browse.views import SANDBOX, bar_chart, read_response
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
def ds(browse_archive):
    return Datasette([str(browse_archive / "archive.db")])


def test_every_spelling_finds_the_same_articles_from_the_cli(browse_archive):
    results = {q: {h["url"] for h in cli_search(browse_archive, q)} for q in SPELLINGS}
    first = results[SPELLINGS[0]]
    assert all(found == first for found in results.values()), {
        q: len(r) for q, r in results.items()
    }
    assert first >= SEED_URLS  # every seed article, the one titled with اذربيجان among them
    hit = cli_search(browse_archive, "أذربيجان", "--limit", "1")[0]
    assert (
        set(hit) == {"url", "title", "site", "published", "snippet"} and "<mark>" in hit["snippet"]
    )


def test_qarabagh_finds_the_articles_that_write_it_that_way(browse_archive):
    with sqlite3.connect(browse_archive / "archive.db") as db:
        expected = {
            u for u, t in db.execute("SELECT url, text FROM articles") if "قره باغ" in index_text(t)
        }
    assert expected
    assert {h["url"] for h in cli_search(browse_archive, '"قره باغ"')} == expected
    assert expected <= {h["url"] for h in cli_search(browse_archive, "قره باغ")}


def test_cli_filters(browse_archive):
    hafryat = cli_search(browse_archive, "أذربيجان", "--site", "hafryat")
    assert hafryat and {h["site"] for h in hafryat} == {"hafryat"}
    recent = cli_search(browse_archive, "أذربيجان", "--since", "2022-09-01")
    assert recent and all(h["published"] >= "2022-09-01" for h in recent)
    assert len(cli_search(browse_archive, "أذربيجان", "--limit", "3")) == 3
    assert cli_search(browse_archive, "كلمةغيرموجودةاطلاقا") == []
    assert cli_search(browse_archive, 'NOT OR "AND ( *') == []  # operators are text, never syntax


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


def test_datasette_search_box_uses_the_same_normalisation(ds, browse_archive):
    cli_ids = {h["url"] for h in cli_search(browse_archive, "أذربيجان")}
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


def test_article_row_reads_like_an_article_and_escapes_scripts(ds, browse_archive):
    with sqlite3.connect(browse_archive / "archive.db") as db:
        article_id, title = db.execute(
            "SELECT id, title FROM articles WHERE title LIKE '%<script>%'"
        ).fetchone()
    assert title.endswith('<script>alert("arshif")</script>')
    page = get(ds, f"/archive/articles/{article_id}")
    assert 'class="arshif-article"' in page.text and "Original page, as archived" in page.text
    assert 'alert("arshif")</script>' not in page.text and "&lt;script&gt;" in page.text
    table = get(ds, "/archive/articles?_search=" + "بوتين")
    assert 'alert("arshif")</script>' not in table.text


def test_original_pages_are_the_warc_payload_under_a_sandbox(ds, browse_archive):
    with sqlite3.connect(browse_archive / "archive.db") as db:
        rows = db.execute("SELECT id, warc_filename, warc_offset, site FROM articles").fetchall()
    encodings = set()
    for article_id, filename, offset, site in rows:
        response = get(ds, f"/-/arshif/original/archive/{article_id}")
        payload, _, encoding = read_response(browse_archive / "warc" / filename, offset)
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
    assert page.status_code == 200 and "Latest crawl runs" in page.text
    start = page.text.index('<svg class="arshif-chart"')
    chart = page.text[start : page.text.index("</svg>", start)]
    assert chart.count('class="arshif-bar"') > 1 and "<polyline" not in chart
    assert all(f"{site}:" in chart for site in ("hafryat", "lebanontab", "custom_news"))
    recent = get(ds, "/-/arshif/dashboard?days=30")  # a month: one bar a day
    assert "Articles per day" in recent.text and 'class="arshif-bar"' in recent.text
    assert "Errors per site" in page.text
    assert "<script" not in chart and "http" not in chart.replace(
        'xmlns="http', ""
    )  # drawn, not fetched


def test_dashboard_bars_cover_every_period_with_zeros():
    points = [
        {"day": "2023-01-02", "site": "a", "n": 2},
        {"day": "2023-01-05", "site": "b", "n": 1},
        {"day": "2023-01-05", "site": "a", "n": 3},
    ]
    chart = bar_chart(points)
    assert chart["unit"] == "day" and len(chart["bars"]) == 4  # 2, 3, 4 and 5 January
    assert [b["total"] for b in chart["bars"]] == [2, 0, 0, 4] and chart["empty"] == 2
    assert chart["top"] == 4 and chart["bars"][1]["segments"] == []
    # The bars of one period stack to its total's height, from the axis up.
    stacked = chart["bars"][3]["segments"]
    assert round(sum(s["h"] for s in stacked)) == chart["bottom"] - 20
    # Longer ranges count per week, then per month: never more than max_bars bars.
    years = bar_chart([{"day": "2010-05-01", "site": "a", "n": 1}, *points])
    assert years["unit"] == "month" and len(years["bars"]) == 153 and years["empty"] == 151
    weeks = bar_chart([{"day": "2022-06-01", "site": "a", "n": 1}, *points])
    assert weeks["unit"] == "week" and sum(b["total"] for b in weeks["bars"]) == 7


def test_dashboard_errors_are_the_runs_errors(ds, browse_archive):
    page = get(ds, "/-/arshif/dashboard").text
    errors = page[page.index("Errors per site") : page.index("Other outcomes")]
    with sqlite3.connect(browse_archive / "archive.db") as db:
        per_site = dict(db.execute("SELECT site, sum(errors) FROM crawl_runs GROUP BY site"))
        refused = db.execute(
            "SELECT count(*) FROM captures WHERE error LIKE '%robots.txt%'"
        ).fetchone()[0]
    for site, n in per_site.items():
        assert f"<tr><td>{site}</td><td>1</td><td>{n}</td>" in errors, site
    outcomes = page[page.index("Other outcomes") :]
    assert refused and "refused by robots.txt" in outcomes
    assert "IgnoreRequest" not in page and "HTTP 404" in outcomes


def test_articles_table_truncates_and_leads_with_title_and_text(ds):
    page = get(ds, "/archive/articles?_size=5").text
    headers = re.findall(r'<th [^>]*data-column="([^"]+)"', page)
    assert headers[:5] == ["id", "title", "text", "site", "published"], headers
    assert headers[-5:] == list(LAST_COLUMNS), headers
    first_row = page[page.index("<tbody>") : page.index("</tr>", page.index("<tbody>"))]
    cells = re.findall(r'<td class="col-([\w-]+)', first_row)
    assert cells[:3] == ["id", "title", "text"] and cells[-1] == "discovery"
    text = re.search(r'<td class="col-text[^>]*><div dir="auto">(.*?)</div>', first_row, re.S)
    assert text and len(text.group(1)) <= 260 and text.group(1).endswith("…")
    assert "\n" not in text.group(1)  # one line of running text, not tall paragraphs
    # A smaller truncate_cells_html (arshif serve sets one) cuts shorter, Arabic or not.
    short = Datasette([str(ds.databases["archive"].path)], settings={"truncate_cells_html": 60})
    cut = get(short, "/archive/articles?_size=5").text
    text = re.search(r'<td class="col-text[^>]*><div dir="auto">(.*?)</div>', cut, re.S)
    assert len(text.group(1)) <= 70
    # The stored table keeps its column order: other code reads it by position nowhere,
    # but its schema is the migrations' business (archive/db.py), not the browser's.
    stored = get(ds, "/archive/articles.json?_size=1").json()["columns"]
    assert stored[:3] == ["id", "url", "site"]
    # The row page is not truncated: the article reads whole.
    row = get(ds, "/archive/articles/1").text
    assert 'class="arshif-article"' in row


def test_canned_search_counts_pages_and_links(ds, browse_archive):
    with sqlite3.connect(browse_archive / "archive.db") as db:
        total = db.execute(
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'اذربيج'"
        ).fetchone()[0]
    assert total > PAGE_SIZE
    first = get(ds, "/archive/search?q=أذربيجان").text
    assert f"{total:,} articles match; showing 1–{PAGE_SIZE}." in first
    assert first.count('class="arshif-result"') == PAGE_SIZE
    assert re.search(r'<h3><a href="/archive/articles/\d+">', first)
    assert first.count('href="/-/arshif/page/archive/') == PAGE_SIZE
    assert first.count('class="arshif-live"') == PAGE_SIZE and 'rel="next"' in first
    # The SQL is folded away, not a wall above the results.
    assert '<details class="arshif-sql"><summary>SQL</summary>' in first
    assert first.index('class="arshif-total"') < first.index('<details class="arshif-sql"')
    last_page = -(-total // PAGE_SIZE)
    last = get(ds, f"/archive/search?q=أذربيجان&page={last_page}").text
    shown = total - (last_page - 1) * PAGE_SIZE
    assert last.count('class="arshif-result"') == shown and 'rel="next"' not in last
    assert 'rel="prev"' in last
    every = set()
    for n in range(1, last_page + 1):
        rows = get(ds, f"/archive/search.json?q=أذربيجان&page={n}&_shape=array").json()
        every |= {r["id"] for r in rows}
        assert all(r["total"] == total for r in rows)
    assert len(every) == total  # pages neither skip nor repeat a match
    none = get(ds, "/archive/search?q=كلمةغيرموجودةاطلاقا").text
    assert "No article matches." in none


def test_original_page_banner_frames_the_byte_exact_page(ds, browse_archive):
    with sqlite3.connect(browse_archive / "archive.db") as db:
        article_id, url, fetched, filename, offset = db.execute(
            "SELECT id, url, fetched, warc_filename, warc_offset FROM articles"
            " WHERE title LIKE '%<script>%'"
        ).fetchone()
    page = get(ds, f"/-/arshif/page/archive/{article_id}")
    assert page.status_code == 200
    banner = page.text[page.text.index('class="arshif-banner"') : page.text.index("<iframe")]
    assert fetched in banner and filename in banner and str(offset) in banner
    assert f'href="/archive/articles/{article_id}"' in banner
    assert f'href="{html.escape(url)}"' in banner
    assert "&lt;script&gt;" in banner and "<script>alert" not in page.text
    frame = re.search(r'<iframe class="arshif-frame" src="([^"]+)" sandbox ', page.text)
    assert frame and frame.group(1) == f"/-/arshif/original/archive/{article_id}"
    assert "script-src" not in page.headers["content-security-policy"]
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    # The framed route is unchanged: the WARC payload's bytes under the sandbox CSP.
    payload, _, _ = read_response(browse_archive / "warc" / filename, offset)
    assert asyncio.run(_raw_body(ds, frame.group(1))) == payload
    assert get(ds, frame.group(1)).headers["content-security-policy"] == SANDBOX
    row = get(ds, f"/archive/articles/{article_id}").text
    assert f'href="/-/arshif/page/archive/{article_id}">Original page, as archived' in row
    assert get(ds, "/-/arshif/page/archive/999999").status_code == 404


def test_home_page_leads_with_search_and_the_dashboard(ds):
    home = get(ds, "/").text
    search = home.index('class="arshif-search-form" action="/archive/search"')
    assert search < home.index('class="arshif-chart"') < home.index('href="/archive"')
    assert 'href="/-/arshif/dashboard"' in home and 'name="q"' in home
    css = get(ds, "/-/static-plugins/arshif/arshif.css").text
    assert "body.row section.content" in css and "max-width: none" in css
    assert ".arshif-article { max-width" not in css  # the row page takes the full width


def test_stock_tools_still_open_and_query_the_archive(browse_archive):
    path = browse_archive / "archive.db"
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
    with sqlite3.connect(path) as db:
        (indexed,) = db.execute(
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'اذربيج'"
        ).fetchone()
    assert len(found) == indexed > 100 and {r["url"] for r in found} >= SEED_URLS
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
    assert len(rows) > 100 and any("أذربيجان" in (r["title"] or "") for r in rows)


def test_serve_truncates_long_cells(browse_archive, monkeypatch):
    from datasette import cli as datasette_cli

    seen: list[list[str]] = []
    monkeypatch.setattr(datasette_cli.cli, "main", lambda args, **_: seen.append(args))
    result = CliRunner().invoke(cli, ["serve", "--data", str(browse_archive)])
    assert result.exit_code == 0, result.output
    args = seen[0]
    i = args.index("truncate_cells_html")
    assert args[i - 1] == "--setting" and int(args[i + 1]) <= 200
