"""Pages classified by what they declare, and URL rules generalised from the verdicts."""

from __future__ import annotations

import json
import re

import pytest

from archive.discover.pagekind import declared_kind
from archive.discover.sites import PageKind
from archive.discover.suggest import as_toml, suggest
from archive.extract.article import parse_page
from archive.extract.metadata import read_metadata

STORY = "<p>" + " ".join(["كلمة"] * 80) + "</p>"


def page(head: str = "", body: str = "") -> bytes:
    return f"<html><head>{head}</head><body>{body}</body></html>".encode()


def test_metadata_reads_og_type_and_every_json_ld_type():
    ld = {
        "@context": "https://schema.org",
        "@graph": [{"@type": "WebSite"}, {"@type": ["NewsArticle"]}],
    }
    tree = parse_page(
        page(
            f'<meta property="og:type" content="Article">'
            f'<script type="application/ld+json">{json.dumps(ld)}</script>'
        ).decode()
    )
    meta = read_metadata(tree, "https://a.example/x")
    assert meta.og_type == "article"
    assert meta.types == ["WebSite", "NewsArticle"]


@pytest.mark.parametrize(
    ("html", "kind", "reason"),
    [
        (page('<meta property="og:type" content="article">'), PageKind.ARTICLE, "og:type"),
        (
            page('<script type="application/ld+json">{"@type": "ReportageNewsArticle"}</script>'),
            PageKind.ARTICLE,
            "json-ld",
        ),
        (
            page('<script type="application/ld+json">{"@type": "BlogPosting"}</script>'),
            PageKind.ARTICLE,
            "json-ld",
        ),
        # No declaration: a date line and a long text block make an article ...
        (
            page(body=f"<h1>عنوان</h1><div>١٢ / ٩ / ٢٠٢٢</div><div>{STORY}</div>"),
            PageKind.ARTICLE,
            "date+text",
        ),
        (
            page(
                '<meta property="article:published_time" content="2022-09-12">',
                f"<div>{STORY}</div>",
            ),
            PageKind.ARTICLE,
            "date+text",
        ),
        # ... neither alone does; nor does a list of headlines, however long.
        (page(body=f"<div>{STORY}</div>"), PageKind.LISTING, "none"),
        (page(body="<div>١٢ / ٩ / ٢٠٢٢</div><p>قصير</p>"), PageKind.LISTING, "none"),
        (
            page(
                body="<div>١٢ / ٩ / ٢٠٢٢</div><div>"
                + "".join(
                    f'<p><a href="/n/{i}">{" ".join(["عنوان"] * 12)}</a></p>' for i in range(30)
                )
                + "</div>"
            ),
            PageKind.LISTING,
            "none",
        ),
        (
            page('<script type="application/ld+json">{"@type": "WebPage"}</script>'),
            PageKind.LISTING,
            "none",
        ),
        (b"", PageKind.LISTING, "none"),
        (b"\xff\xfe<html>\x00\x00 broken", PageKind.LISTING, "none"),
    ],
)
def test_declared_kind(html, kind, reason):
    verdict = declared_kind(html, "https://a.example/x")
    assert (verdict.kind, verdict.reason) == (kind, reason)


def test_suggest_generalises_ids_and_slugs_and_keeps_shared_words():
    urls = [f"https://a.example/ar/{85700 + i}/خبر-رقم-{i}-اليوم" for i in range(5)]
    urls += ["https://a.example/2024/01/02/a-b-c/", "https://a.example/2023/11/30/d-e-f/"]
    urls += ["https://a.example/news/230400.html", "https://a.example/news/230411.html"]
    urls += ["https://a.example/?p=5", "https://a.example/?p=17"]
    found = {s.pattern: s for s in suggest(urls)}
    assert set(found) == {
        r"^/ar/\d+/[^/?#]+/?$",
        r"^/\d{4}/\d{2}/\d{2}/[^/?#]+/?$",
        r"^/news/\d+\.html$",
        r"^/\?p=\d+$",
    }
    assert found[r"^/ar/\d+/[^/?#]+/?$"].count == 5
    assert found[r"^/ar/\d+/[^/?#]+/?$"].example == "https://a.example/ar/85700/خبر-رقم-0-اليوم"
    for s in found.values():  # every suggestion matches every URL it stands for
        assert re.search(s.pattern, s.example.split("a.example", 1)[1])


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        # Ids of one width today grow tomorrow: /news/10000 must still match.
        (["/news/1234", "/news/5678", "/news/9012"], r"^/news/\d+/?$"),
        (["/a/12/x-y-z", "/a/34/u-v-w"], r"^/a/\d+/[^/?#]+/?$"),
        # A date keeps its widths: year, month, day.
        (["/2024/03/x-y-z", "/2019/11/u-v-w"], r"^/\d{4}/\d{2}/[^/?#]+/?$"),
        (["/news/2024/03/07/1", "/news/2023/12/31/2"], r"^/news/\d{4}/\d{2}/\d{2}/\d+/?$"),
        # Two digits after no year, or a "month" of 13 and more, are no date.
        (["/s/03/x-y-z", "/s/11/u-v-w"], r"^/s/\d+/[^/?#]+/?$"),
        (["/2024/45/x-y-z", "/2023/17/u-v-w"], r"^/\d{4}/\d+/[^/?#]+/?$"),
    ],
)
def test_suggest_keeps_fixed_widths_for_dates_only(paths, expected):
    (found,) = suggest([f"https://a.example{p}" for p in paths])
    assert found.pattern == expected
    assert all(re.search(found.pattern, p) for p in paths)


def test_suggest_keeps_one_off_listings_as_written():
    urls = ["https://a.example/", "https://a.example/akhbar", "https://a.example/akhbar?page=1",
            "https://a.example/akhbar?page=2", "https://a.example/taqarir"]  # fmt: skip
    assert [s.pattern for s in suggest(urls)] == [
        r"^/akhbar\?page=\d+$",
        "^/$",
        "^/akhbar/?$",
        "^/taqarir/?$",
    ]


def test_suggestions_print_as_toml_that_loads():
    import tomllib

    text = as_toml(
        "mysite", {"article": suggest(["https://a.example/it's/1", "https://a.example/x/2"])}
    )
    data = tomllib.loads(text)
    assert data["sites"]["mysite"]["article_urls"]
