from __future__ import annotations

import pytest

from archive.extract.encoding import decode_html, guess_single_byte

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
