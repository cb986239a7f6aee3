from __future__ import annotations

import pytest

from archive.urls import canonicalize, display_url, is_tracking_param

ARTICLE = "https://www.lebanontab.com/ar/85755/%D9%85%D8%B3%D8%A7%D8%B9%D9%8A"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # one article, many spellings
        ("https://www.lebanontab.com/ar/85755/مساعي", ARTICLE),
        ("https://www.lebanontab.com/ar/85755/%d9%85%d8%b3%d8%a7%d8%b9%d9%8a", ARTICLE),
        ("HTTPS://WWW.LebanonTab.com:443/ar/85755/مساعي#comments", ARTICLE),
        ("https://www.lebanontab.com/ar/85755/مساعي?utm_source=fb&utm_medium=social", ARTICLE),
        ("https://www.lebanontab.com/ar/x/../85755/مساعي?fbclid=IwAR0", ARTICLE),
        # what must survive
        ("https://hafryat.com/akhbar?page=2", "https://hafryat.com/akhbar?page=2"),
        ("https://example.com/?p=12&utm_campaign=x&q=1", "https://example.com/?p=12&q=1"),
        ("https://example.com/?b=2&a=1", "https://example.com/?b=2&a=1"),  # order kept
        ("http://example.com:8080", "http://example.com:8080/"),
        (
            "https://example.com/a%2Fb",
            "https://example.com/a%2Fb",
        ),  # an escaped slash stays escaped
        ("https://example.com/%7Euser/", "https://example.com/~user/"),  # unreserved unescaped
    ],
)
def test_canonicalize(given, expected):
    assert canonicalize(given) == expected


def test_relative_urls_resolve_against_the_base():
    assert (
        canonicalize("../../node/5#x", "https://hafryat.com/ar/node/4")
        == "https://hafryat.com/node/5"
    )
    assert canonicalize("/?p=41007", "https://www.hoseinmortada.com/feed/") == (
        "https://www.hoseinmortada.com/?p=41007"
    )


def test_international_host_names_become_punycode():
    url = canonicalize("https://بيروت.example/خبر")
    host = url.split("/")[2]
    assert host.isascii() and host.startswith("xn--")
    assert host.encode("ascii").decode("idna") == "بيروت.example"
    assert url.endswith("/%D8%AE%D8%A8%D8%B1")


def test_canonicalize_is_idempotent():
    for url in [
        "https://www.lebanontab.com/ar/85755/مساعي?utm_source=x#top",
        "https://a.example/b c",
    ]:
        once = canonicalize(url)
        assert canonicalize(once) == once


def test_tracking_params():
    assert is_tracking_param("utm_source") and is_tracking_param("FBCLID")
    assert not is_tracking_param("p") and not is_tracking_param("page")


def test_display_url_shows_arabic():
    assert display_url(ARTICLE) == "https://www.lebanontab.com/ar/85755/مساعي"
