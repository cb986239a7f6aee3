from __future__ import annotations

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
