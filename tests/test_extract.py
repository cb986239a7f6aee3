from __future__ import annotations

from datetime import UTC, datetime

import pytest

from archive.discover.sites import load_registry
from archive.extract.article import extract_article, iso_date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-09-14", "2022-09-14"),
        ("2022-09-14T10:30:00+03:00", "2022-09-14T10:30:00+03:00"),
        ("2023-09-19T10:00:00Z", "2023-09-19T10:00:00+00:00"),
        ("Tue, 02 Jan 2024 10:00:00 +0000", "2024-01-02T10:00:00+00:00"),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_iso_date(value, expected):
    assert iso_date(value) == expected


def test_feed_date_is_the_fallback_when_the_page_has_none():
    page = "<html lang='ar'><body><article><h1>عنوان</h1>" + "<p>نص الخبر الطويل هنا. </p>" * 20
    page += "</article></body></html>"
    record = extract_article(
        page.encode(),
        "https://hafryat.com/node/1",
        load_registry()["hafryat"],
        hints={"published": "Tue, 02 Jan 2024 10:00:00 +0000"},
    )
    assert record.published == "2024-01-02T10:00:00+00:00"
    assert record.language == "ar" and record.site == "hafryat"
    assert "نص الخبر الطويل هنا" in record.text


def test_a_sentence_mentioning_today_is_not_the_date_line():
    page = (
        """<html lang="ar"><body><article><h1>وزارة الدفاع تصدر بيانا جديدا</h1>
    <h2 class="lead">كما أعلنت الدفاع في بيان آخر اليوم أن مواقعها تعرضت للقصف</h2>
    <div class="when">الأربعاء ١٤ سبتمبر ٢٠٢٢</div>
    <div class="article-body">"""
        + "<p>قالت الوزارة إن القصف استهدف مواقع عسكرية على الحدود الشرقية. </p>" * 8
        + """
    </div><aside class="latest-videos"><span>الجمعة ٢٦ / يناير / ٢٠٢٤</span></aside></article></body></html>"""
    )
    record = extract_article(
        page.encode(), "https://news.example/a", fetched=datetime(2026, 11, 21, 12, tzinfo=UTC)
    )
    assert record.published == "2022-09-14" and record.date_source == "page:gregorian"
    assert record.text.startswith("كما أعلنت الدفاع في بيان آخر اليوم")
    assert "٢٠٢٢" not in record.text and "يناير" not in record.text


def test_a_widget_date_never_wins():
    page = (
        """<html><body><h1>عنوان الخبر هنا</h1><div class="latest-videos">
    <span>مشاهدة :45926 الجمعة ٢٦ / يناير / ٢٠٢٤</span></div>"""
        + "<p>نص طويل للخبر. </p>" * 20
        + "</body></html>"
    )
    record = extract_article(page.encode(), "https://news.example/b")
    assert record.published is None


def test_a_time_without_offset_takes_the_sites_zone():
    page = (
        """<html lang="ar"><body><h1>عنوان خبر عن المحادثات الجديدة</h1>
    <div class="post-date">الأربعاء 14 أيلول 2022 - 10:30</div>"""
        + "<p>نص الخبر الطويل عن المحادثات. </p>" * 12
        + "</body></html>"
    )
    site = load_registry()["lebanontab"]
    assert site.timezone == "Asia/Beirut"
    record = extract_article(page.encode(), "https://www.lebanontab.com/ar/1/x", site)
    assert record.published == "2022-09-14T10:30:00+03:00"  # EEST in September
    assert (
        extract_article(page.encode(), "https://other.example/x").published == "2022-09-14T10:30:00"
    )


BODY = "".join(
    f"<p>{s}</p>"
    for s in [
        "The council voted on Tuesday to extend the tram line to the northern districts.",
        "Work is expected to start next spring and to last about three years in all.",
        "Residents had asked for the extension for more than a decade, the mayor said.",
    ]
)


def _page(head: str = "", body: str = "") -> bytes:
    return f"<html><head>{head}</head><body><h1>Tram line</h1>{body}{BODY}</body></html>".encode()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.example/2019/01/01/new-year/", "2019-01-01"),
        ("https://x.example/home/2017/7/12/unter-uns", "2017-07-12"),
        ("https://x.example/news/2020-02-17-title", "2020-02-17"),
        ("https://x.example/2019/02/31/no-such-day/", None),
        ("https://x.example/2019/01/slug/", None),
        ("https://x.example/article/20190101", None),
    ],
)
def test_url_date(url, expected):
    from archive.extract.dates import url_date

    found = url_date(url)
    assert (found.isoformat() if found else None) == expected


def test_json_ld_wrapped_in_cdata_is_read():
    head = """<script type="application/ld+json">
    //<![CDATA[
    {"@context": {"@vocab": "http://schema.org"}, "@type": "NewsArticle",
     "headline": "Tram line", "datePublished": "2024-12-06T22:00:40.000Z"}
    //]]>
    </script><meta property="article:published_time" content="2024-12-07T12:43:39Z">"""
    record = extract_article(_page(head), "https://x.example/a")
    assert record.published == "2024-12-06T22:00:40+00:00"
    assert record.date_source == "json-ld"


def test_a_utc_timestamp_yields_to_the_same_instant_in_local_time():
    head = """<script type="application/ld+json">{"@type": "Article",
      "dateCreated": "2017-02-24T01:18:13Z"}</script>
      <meta property="article:published_time" content="2017-02-23T17:18:13-08:00">"""
    record = extract_article(_page(head), "https://x.example/a")
    assert record.published == "2017-02-23T17:18:13-08:00"


@pytest.mark.parametrize(
    ("url", "declared", "expected", "source"),
    [
        # A UTC timestamp past local midnight: the permalink says which day it was there.
        ("https://x.example/2023/11/08/mayor/", "2023-11-09T05:30:59Z", "2023-11-08", "url"),
        # A timestamp in the site's own offset stands, though the permalink is a day older.
        ("https://x.example/2020/02/18/ciencia/", "2020-02-19T18:37:32+01:00", None, "meta"),
        # Ten hours past UTC midnight is the same day nearly everywhere: the timestamp stands.
        ("https://x.example/politics/2020/07/08/story", "2020-07-09T10:04:04Z", None, "meta"),
        # Two years apart: a re-publication; the permalink keeps the first day.
        (
            "https://x.example/home/2017/7/12/montauk",
            "2019-06-17T18:28:00+02:00",
            "2017-07-12",
            "url",
        ),
    ],
)
def test_the_permalink_day(url, declared, expected, source):
    head = f'<meta property="article:published_time" content="{declared}">'
    record = extract_article(_page(head), url)
    assert record.published == (expected or iso_date(declared))
    assert record.date_source == source


def test_a_date_line_the_page_prints_beats_the_permalink():
    body = '<div class="post-date">الأربعاء 14 أيلول 2022</div>'
    record = extract_article(_page(body=body), "https://x.example/2022/09/13/slug/")
    assert record.published == "2022-09-14"


def test_htmldate_finds_a_date_nothing_else_declares():
    body = "<p class='info'>Posted by Anna on March 3, 2021</p>"
    record = extract_article(
        _page(body=body), "https://x.example/a", fetched=datetime(2026, 11, 21, tzinfo=UTC)
    )
    assert record.published == "2021-03-03"
    assert record.date_source == "htmldate"


def test_no_date_at_all_stays_none():
    record = extract_article(_page(), "https://x.example/a")
    assert record.published is None and record.date_source is None


@pytest.mark.parametrize(
    "footer",
    ["<footer>© 2019 - 2024 Example News</footer>", "<div>آخر تحديث 12 مارس 2021</div>"],
)
def test_a_bare_year_is_never_made_into_1_january(footer):
    record = extract_article(
        _page(body=footer), "https://x.example/a", fetched=datetime(2026, 11, 21, tzinfo=UTC)
    )
    assert record.published is None or not record.published.endswith("-01-01")
