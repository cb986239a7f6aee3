from __future__ import annotations

import pytest

from archive.extract.encoding import decode_counted, decode_html, guess_single_byte

ARABIC = "<html><body><p>تسعى روسيا الى وقف القتال بين اذربيجان وارمينيا، وأعلنت وزارة الدفاع.</p></body></html>"


@pytest.mark.parametrize("codec", ["cp1256", "iso8859-6"])
def test_single_byte_arabic_without_any_charset(codec):
    text, used = decode_html(ARABIC.encode(codec), "text/html")
    assert text == ARABIC and used == codec


@pytest.mark.parametrize(
    ("content_type", "meta"),
    [
        ("text/html; charset=windows-1256", ""),
        ("text/html", '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">'),
        ("text/html", '<meta charset="windows-1256">'),
        ("text/html; charset=ISO-8859-1", ""),  # a server that never thought about it
    ],
)
def test_declared_windows_1256(content_type, meta):
    page = ARABIC.replace("<html>", f"<html><head>{meta}</head>")
    text, used = decode_html(page.encode("cp1256"), content_type)
    assert text == page and used == "cp1256"


def test_stale_single_byte_declaration_over_utf8_bytes():
    page = ARABIC.replace("<html>", '<html><head><meta charset="windows-1256"></head>')
    assert decode_html(page.encode("utf-8"), "text/html")[0] == page


def test_utf8_and_bom():
    assert decode_html(ARABIC.encode("utf-8"), None) == (ARABIC, "utf-8")
    assert (
        decode_html(b"\xef\xbb\xbf" + ARABIC.encode("utf-8"), "text/html; charset=cp1256")[0]
        == ARABIC
    )


def test_guess_prefers_the_code_page_that_reads_as_arabic():
    assert guess_single_byte("قره باغ".encode("cp1256")) == "cp1256"
    assert guess_single_byte("قره باغ".encode("iso8859-6")) == "iso8859-6"


def _with_stray_bytes(page: str, count: int) -> bytes:
    """page in UTF-8 with count invalid bytes (0xFF never occurs in UTF-8) between words."""
    words = page.encode("utf-8").split(b" ")
    for i in range(count):
        at = 2 + i * 3
        words[at] = b"\xff" + words[at]
    return b" ".join(words)


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/html"])
@pytest.mark.parametrize("count", [1, 3])
def test_utf8_with_a_few_stray_bytes_stays_utf8(content_type, count):
    body = _with_stray_bytes(ARABIC, count)
    text, used, errors = decode_counted(body, content_type)
    assert used == "utf-8" and errors == count
    assert text.replace("\ufffd", "") == ARABIC
    assert decode_html(body, content_type) == (text, "utf-8")


def test_a_stale_single_byte_declaration_over_utf8_with_a_stray_byte():
    page = ARABIC.replace("<html>", '<html><head><meta charset="windows-1256"></head>')
    text, used, errors = decode_counted(_with_stray_bytes(page, 1), "text/html")
    assert (used, errors) == ("utf-8", 1) and text.replace("\ufffd", "") == page


def test_a_page_that_writes_the_replacement_character_has_no_decode_errors():
    page = ARABIC.replace("روسيا", "روسيا \ufffd")
    assert decode_counted(page.encode("utf-8"), "text/html") == (page, "utf-8", 0)


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=utf-8"])
def test_windows_1256_stays_windows_1256_even_when_declared_utf8(content_type):
    # A mostly-ASCII page with a few Arabic words: few errors, but no UTF-8 at all.
    page = (
        "<html><head><title>news</title></head><body>"
        + "<p>ok</p>" * 200
        + "<p>قره باغ</p></body></html>"
    )
    text, used, errors = decode_counted(page.encode("cp1256"), content_type)
    assert (text, used, errors) == (page, "cp1256", 0)
    text, used, errors = decode_counted(ARABIC.encode("cp1256"), content_type)
    assert (text, used, errors) == (ARABIC, "cp1256", 0)


def test_too_many_stray_bytes_are_no_longer_utf8():
    # More broken bytes than a handful: not a stray byte but another encoding (garbage).
    body = _with_stray_bytes(ARABIC, 3) + b"\xff" * 20
    assert decode_counted(body, "text/html").codec != "utf-8"


def test_extraction_records_the_stray_bytes_and_keeps_the_arabic():
    from archive.extract.article import extract_article

    page = (
        "<html><head><title>عنوان</title></head><body><article><p>"
        + "تسعى روسيا الى وقف القتال بين اذربيجان وارمينيا. " * 20
        + "</p></article></body></html>"
    )
    body = page.encode("utf-8").replace("روسيا".encode(), "روسيا".encode() + b"\xff", 1)
    record = extract_article(body, "https://example.com/a", content_type="text/html; charset=utf-8")
    assert record.encoding == "utf-8" and record.decode_errors == 1
    assert "اذربيجان وارمينيا" in (record.text or "")
    assert record.as_dict()["decode_errors"] == 1  # into the WARC metadata record
    clean = extract_article(page.encode("utf-8"), "https://example.com/a")
    assert clean.decode_errors == 0
