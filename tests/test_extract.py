from __future__ import annotations

from datetime import UTC, datetime

import pytest

from archive.extract import extract_article, iso_date
from archive.sites import load_registry


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
