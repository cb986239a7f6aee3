"""A real browser on the served archive: headless Chromium (Debian's) driven by Playwright.

Searches in Arabic from Datasette's own search box and the canned query,
checks results and right-to-left rendering, opens a hostile article and its
original page and checks nothing ran. Screenshots go to artifacts/browser/.
Needs /usr/bin/chromium; skipped without it unless ARSHIF_REQUIRE_BROWSER=1
(CI sets it, and .ci/run installs the package).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import BIN, ROOT, crawl_env, free_port, wait_until_serving

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "artifacts" / "browser"
# Headless, offline: Chromium's own background traffic would only be refused here.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update"]  # fmt: skip

if not CHROMIUM:
    if os.environ.get("ARSHIF_REQUIRE_BROWSER") == "1":
        raise RuntimeError(
            "ARSHIF_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)"
        )
    pytest.skip("no chromium on PATH (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def served(browse_archive):
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "arshif"), "serve", "--data", str(browse_archive), "--port", str(port)],
        env=crawl_env(None),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base + "/-/versions.json", process)
    yield base
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(locale="ar", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()


def archive_count(browse_archive: Path, sql: str, *params) -> int:
    with sqlite3.connect(browse_archive / "archive.db") as db:
        return db.execute(sql, params).fetchone()[0]


def test_search_box_finds_every_spelling_and_reads_right_to_left(served, page, browse_archive):
    expected = archive_count(
        browse_archive, "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'اذربيج'"
    )
    counts = []
    for spelling in ["وأذربيجان", "أَذْرَبِيجَان", "اذربيجان"]:
        page.goto(served + "/archive/articles")
        page.fill("input[name=_search]", spelling)
        page.press("input[name=_search]", "Enter")
        page.wait_for_load_state("networkidle")
        heading = page.locator("h3").filter(has_text="where search matches").first.inner_text()
        counts.append(int(heading.split()[0].replace(",", "")))
    assert counts == [expected] * 3
    cell = page.locator("td.col-title div[dir=auto]").first
    assert cell.evaluate("el => getComputedStyle(el).direction") == "rtl"
    page.screenshot(path=str(ARTIFACTS / "search-box.png"), full_page=True)


def test_canned_search_marks_matches(served, page):
    page.goto(served + "/archive/search?q=" + quote("قره باغ"))
    page.wait_for_load_state("networkidle")
    assert page.locator(".col-snippet mark").count() >= 2
    snippet = page.locator(".col-snippet div[dir=auto]").first
    assert snippet.evaluate("el => getComputedStyle(el).direction") == "rtl"
    page.screenshot(path=str(ARTIFACTS / "canned-search.png"))


def test_an_article_reads_right_to_left(served, page, browse_archive):
    article_id = archive_count(browse_archive, "SELECT id FROM articles WHERE url LIKE '%85755%'")
    page.goto(f"{served}/archive/articles/{article_id}")
    article = page.locator("article.arshif-article")
    assert article.evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert "مساعي لتطويق المواجهة العسكرية" in page.locator("article h1").inner_text()
    assert page.locator("article p[dir=auto]").count() >= 10
    page.screenshot(path=str(ARTIFACTS / "article.png"), full_page=True)


def test_a_hostile_page_runs_nothing_anywhere(served, page, browse_archive):
    article_id = archive_count(
        browse_archive, "SELECT id FROM articles WHERE title LIKE '%<script>%'"
    )
    visits = [
        f"{served}/archive/articles/{article_id}",
        f"{served}/archive/articles?_search=" + quote("بوتين"),
        f"{served}/archive/search?q=" + quote("بوتين"),
        f"{served}/-/arshif/original/archive/{article_id}",
        f"{served}/-/arshif/page/archive/{article_id}",
    ]
    for url in visits:
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.evaluate("() => window.arshifPwned === undefined"), url
    assert page.dialogs == []
    page.goto(f"{served}/archive/articles/{article_id}")
    assert '<script>alert("arshif")</script>' in page.locator("article h1").inner_text()
    page.screenshot(path=str(ARTIFACTS / "hostile-article.png"))


def _shot(page, name: str, full_page: bool = False) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def test_pages_lay_out_readably(served, page, browse_archive):
    """Screenshots of each page, and the layout faults the issue named, measured."""
    page.goto(served + "/")
    _shot(page, "home")
    search_box = page.locator(".arshif-home input[name=q]").bounding_box()
    chart = page.locator(".arshif-home svg.arshif-chart").bounding_box()
    assert search_box["y"] < chart["y"] < 600  # both in view, search first

    page.goto(served + "/archive/articles")
    page.evaluate("document.querySelector('.table-wrapper').scrollIntoView()")
    _shot(page, "table")
    title = page.locator("td.col-title").first.bounding_box()
    heights = page.evaluate(
        "[...document.querySelectorAll('.table-wrapper tbody tr')].map("
        "r => r.getBoundingClientRect().height)"
    )
    assert title["width"] > 200 and max(heights) < 200, (title, max(heights))
    cell = page.locator("td.col-text div[dir=auto]").first
    assert cell.evaluate("el => getComputedStyle(el).direction") == "rtl"

    article_id = archive_count(browse_archive, "SELECT id FROM articles WHERE url LIKE '%85755%'")
    page.goto(f"{served}/archive/articles/{article_id}")
    _shot(page, "row")
    assert page.locator("article.arshif-article").bounding_box()["width"] > 1100

    page.goto(served + "/archive/search?q=" + quote("قره باغ"))
    _shot(page, "search")
    assert "articles match" in page.locator(".arshif-total").inner_text()
    assert not page.locator("#sql-query").is_visible()  # folded
    first = page.locator("li.arshif-result").first
    assert first.evaluate("el => getComputedStyle(el).direction") == "rtl"
    first.locator("h3 a").click()
    page.wait_for_load_state("load")
    assert page.locator("article.arshif-article").count() == 1

    page.goto(served + "/-/arshif/dashboard")
    _shot(page, "dashboard")
    assert page.locator("svg.arshif-chart g.arshif-bar").count() > 1

    page.goto(f"{served}/-/arshif/page/archive/{article_id}")
    _shot(page, "original")
    assert "Archived page" in page.locator(".arshif-banner").inner_text()
    frame = page.frame_locator("iframe.arshif-frame")
    assert "مساعي لتطويق المواجهة العسكرية" in frame.locator("body").inner_text()
    assert page.locator("iframe.arshif-frame").bounding_box()["height"] > 500


def test_datasette_pages_work_under_the_content_security_policy(served, page, browse_archive):
    """The policy refuses injected scripts; Datasette's own (files and hashed inline ones)
    still run: the SQL editor, the table's column menus, menus that close on a click."""
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto(served + "/archive?sql=" + quote("select count(*) from articles"))
    page.wait_for_load_state("networkidle")
    assert page.locator(".CodeMirror").count() == 1  # _codemirror_foot.html's inline script ran
    page.goto(served + "/archive/articles")
    page.wait_for_load_state("networkidle")
    assert page.locator("th .dropdown-menu-icon").count() > 0  # table.js ran
    details = page.locator("details.nav-menu")
    details.locator("summary").click()
    assert details.get_attribute("open") is not None
    page.locator("h1").first.click()  # outside: _close_open_menus.html closes it
    assert details.get_attribute("open") is None
    article_id = archive_count(browse_archive, "SELECT id FROM articles WHERE url LIKE '%85755%'")
    page.goto(f"{served}/archive/articles/{article_id}")
    page.goto(f"{served}/")
    page.wait_for_load_state("networkidle")
    assert refused == []
