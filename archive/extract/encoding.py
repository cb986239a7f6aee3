"""Decoding HTML bytes to text, including the single-byte Arabic encodings.

Older Arabic sites serve windows-1256 (and a few ISO-8859-6), often with no
charset anywhere, and general charset detectors confuse the two with each
other and with Cyrillic or Latin code pages. The order here is a browser's
(BOM, then the HTTP charset, then the page's own declaration) followed by
UTF-8 when it decodes cleanly, and only then a choice between the Arabic
code pages by which reads as Arabic.

UTF-8 with a few stray bytes (a truncated copy-paste, one bad byte from a CMS)
is still UTF-8: read as a single-byte code page, every Arabic letter of the page
would turn to mojibake for the sake of one byte. Such a page is decoded as UTF-8
with a replacement character per stray sequence, and the count is returned.
"""

from __future__ import annotations

import codecs
import re
from typing import NamedTuple

_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_BOMS = [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]
# Declared by servers that never thought about it: not evidence against Arabic.
_WEAK = {"iso8859-1", "latin-1", "ascii", "windows-1252", "cp1252"}
_ARABIC_LETTER = re.compile("[\u0621-\u064a]")
# What an Arabic page read in the wrong Arabic code page turns into.
_MOJIBAKE = re.compile("[\u00c0-\u00ff\u0080-\u009f\ufffd]")
_MULTIBYTE = re.compile("[^\x00-\x7f\ufffd]")
_REPLACEMENT = "\ufffd"
# Stray bytes tolerated in a page that is otherwise UTF-8: a handful, or one in a
# thousand bytes of a long page ...
_STRAY_HANDFUL = 8
_STRAY_SHARE = 0.001
# ... and only when well-formed multi-byte characters outnumber them this many
# times: a single-byte page with a few Arabic words has a few errors and no
# multi-byte characters at all (its bytes rarely pair up as UTF-8).
_MULTIBYTE_PER_STRAY = 10


class Decoded(NamedTuple):
    text: str
    codec: str
    errors: int = 0  # stray bytes sequences replaced by U+FFFD (UTF-8 only)


def _codec(name: str | bytes | None) -> str | None:
    if not name:
        return None
    if isinstance(name, bytes):
        name = name.decode("ascii", "ignore")
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def declared_charset(body: bytes, content_type: str | None = None) -> str | None:
    """The charset the HTTP header, else the page's <meta>, declares (a Python codec name)."""
    if content_type:
        m = _HTTP_CHARSET.search(content_type)
        if m and (codec := _codec(m.group(1))):
            return codec
    m = _META_CHARSET.search(body[:4096])
    return _codec(m.group(1)) if m else None


def arabic_score(text: str) -> int:
    return len(_ARABIC_LETTER.findall(text)) - 4 * len(_MOJIBAKE.findall(text))


def guess_single_byte(body: bytes) -> str:
    """windows-1256 or ISO-8859-6: whichever reads as more Arabic and less mojibake."""
    candidates = {name: body.decode(name, "replace") for name in ("cp1256", "iso8859-6")}
    return max(candidates, key=lambda name: arabic_score(candidates[name]))


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _mostly_utf8(body: bytes) -> Decoded | None:
    """The body as UTF-8 when it is UTF-8 but for a few stray bytes, else None."""
    text = body.decode("utf-8", "replace")
    # U+FFFD the page itself encodes (EF BF BD) is text, not an error.
    errors = text.count(_REPLACEMENT) - body.count(_REPLACEMENT.encode("utf-8"))
    if errors > max(_STRAY_HANDFUL, len(body) * _STRAY_SHARE):
        return None
    if len(_MULTIBYTE.findall(text)) < _MULTIBYTE_PER_STRAY * errors:
        return None
    return Decoded(text, "utf-8", errors)


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(text, codec used) for an HTML page's bytes."""
    text, codec, _ = decode_counted(body, content_type)
    return text, codec


def decode_counted(body: bytes, content_type: str | None = None) -> Decoded:
    """The page's text, the codec used and how many stray byte sequences were replaced."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom) :].decode(name, "replace"), name)
    declared = declared_charset(body, content_type)
    if declared and declared != "utf-8" and not body.isascii():
        # Multi-byte UTF-8 that happens to be valid in a single-byte code page is
        # vanishingly rare; a stale charset declaration is common.
        if _is_utf8(body):
            return Decoded(body.decode("utf-8"), "utf-8")
        if (nearly := _mostly_utf8(body)) is not None:
            return nearly
    if declared and declared not in _WEAK:
        try:
            return Decoded(body.decode(declared), declared)
        except UnicodeDecodeError:
            pass  # the declaration is wrong: fall through to what the bytes say
    try:
        return Decoded(body.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    if (nearly := _mostly_utf8(body)) is not None:
        return nearly
    if declared in _WEAK:
        weak = body.decode(declared, "replace")
        guess = guess_single_byte(body)
        arabic = body.decode(guess, "replace")
        if arabic_score(arabic) > arabic_score(weak):
            return Decoded(arabic, guess)
        return Decoded(weak, declared)
    name = guess_single_byte(body)
    return Decoded(body.decode(name, "replace"), name)
