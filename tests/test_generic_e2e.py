"""End-to-end: sites entered without article rules, crawled over the mirror.

The generic entries below name only domains and start pages. Their articles must
come from probing (unknown links fetched, classified by what the page declares),
and what the crawl learned must come back as rules (`arshif sites suggest`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from archive.discover.sites import PageKind, load_registry
from tests.conftest import BIN, crawl_env, run

pytestmark = pytest.mark.e2e

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0"]
GENERIC = """\
[sites.hafryat_generic]
domains = ["hafryat.com"]
listings = ["/", "/akhbar", "/taqarir"]

[sites.lebanontab_generic]
cms = "generic"
domains = ["www.lebanontab.com"]
listings = ["/", "/ar/category/lebanon", "/ar/category/world"]
"""
PAIRS = {"hafryat_generic": "hafryat", "lebanontab_generic": "lebanontab"}


def query(data: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(data / "archive.db") as db:
        return db.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def generic(tmp_path_factory, mirror_proxy) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("generic")
    sites, data = root / "generic.toml", root / "data"
    sites.write_text(GENERIC, encoding="utf-8")
    result = run(
        [str(BIN / "arshif"), "crawl", "--sites", str(sites), "--data", str(data), *PAIRS, *FAST],
        crawl_env(mirror_proxy),
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    return sites, data


def test_generic_entries_find_what_the_hand_written_ones_do(generic, demo_archive):
    _, data = generic
    for key, written in PAIRS.items():
        expected = {
            u for (u,) in query(demo_archive, "SELECT url FROM articles WHERE site = ?", written)
        }
        found = {u for (u,) in query(data, "SELECT url FROM articles WHERE site = ?", key)}
        assert len(expected) >= 30
        share = len(expected & found) / len(expected)
        print(
            f"{key}: {len(expected & found)}/{len(expected)} of {written}'s articles ({share:.0%})"
        )
        assert share >= 0.9, (key, sorted(expected - found))
        assert len(found - expected) <= 0.1 * len(expected), sorted(found - expected)
    # Every article came through a probe, classified by the page's own declarations.
    reasons = dict(query(data, "SELECT kind, count(*) FROM page_kinds GROUP BY kind"))
    assert reasons["article"] >= 60 and reasons["listing"] >= 2
    assert query(data, "SELECT DISTINCT kind FROM captures WHERE kind = 'article'") == []


def test_probes_stay_within_the_budget(tmp_path, mirror_proxy):
    sites = tmp_path / "generic.toml"
    sites.write_text(GENERIC, encoding="utf-8")
    env = crawl_env(mirror_proxy, ARSHIF_PROBE_BUDGET="5")
    result = run(
        [str(BIN / "arshif"), "crawl", "--sites", str(sites), "--data", str(tmp_path / "d"),
         "lebanontab_generic", *FAST],
        env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    probes = query(tmp_path / "d", "SELECT count(DISTINCT url) FROM captures WHERE kind = 'probe'")
    assert 3 <= probes[0][0] <= 5  # robots.txt may forbid one: it counts against the budget
    assert query(tmp_path / "d", "SELECT count(*) FROM articles")[0][0] <= 5
    runs = query(tmp_path / "d", "SELECT status FROM crawl_runs")
    assert runs == [("ok",)]


def test_suggested_rules_load_and_match_the_sites_articles(generic, tmp_path):
    sites, data = generic
    for key in PAIRS:
        result = run(
            [
                str(BIN / "arshif"),
                "sites",
                "suggest",
                key,
                "--data",
                str(data),
                "--sites",
                str(sites),
            ],
            crawl_env(None),
        )
        assert result.returncode == 0, result.stderr
        assert f"[sites.{key}]" in result.stdout and "article_urls = [" in result.stdout
        suggested = tmp_path / f"{key}.toml"
        suggested.write_text(result.stdout, encoding="utf-8")
        site = load_registry([sites, suggested])[key]
        articles = [u for (u,) in query(data, "SELECT url FROM articles WHERE site = ?", key)]
        aliases = [
            u
            for (u,) in query(
                data,
                "SELECT x.url FROM article_aliases x JOIN articles a ON a.id = x.article_id"
                " WHERE a.site = ?",
                key,
            )
        ]
        for url in articles + aliases:
            assert site.classify(url) is PageKind.ARTICLE, url
        listings = [
            u
            for (u,) in query(
                data, "SELECT url FROM page_kinds WHERE site = ? AND kind = 'listing'", key
            )
        ]
        assert listings and all(site.classify(u) is PageKind.LISTING for u in listings)
    # lebanontab's hand-written article rule, found again from the pages alone.
    assert "'^/ar/\\d+/[^/?#]+/?$'" in (tmp_path / "lebanontab_generic.toml").read_text()
