"""Arabic normalisation: one spelling per word, for matching text against text.

Used wherever arshif compares Arabic: month names in dates, titles against
headings, pull-quotes against the body. Digits become ASCII; tashkeel and
tatweel go; alef forms (أ إ آ ٱ) become ا, ى becomes ي, ة becomes ه, and the
Persian/Urdu letter forms (ک ی) their Arabic ones.
"""

from __future__ import annotations

import re

# One table: digits to ASCII, letter variants unified, tashkeel and tatweel deleted.
_TABLE = str.maketrans(
    {
        **{d: str(i % 10) for i, d in enumerate("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹")},
        **{"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ک": "ك", "ی": "ي"},
        **{
            chr(c): None
            for c in [
                *range(0x610, 0x61B),
                *range(0x64B, 0x660),
                0x670,
                0x640,
                *range(0x6D6, 0x6EE),
            ]
        },
    }
)
_SPACES = re.compile(r"[\s\u200f\u200e\u00a0]+")
_WORD = re.compile(r"\w+")
# Attached conjunctions, prepositions and the article, stripped while a stem of
# three letters or more remains: وأذربيجان, بأذربيجان, الأذربيجانية.
# (ل + ال is written لل.)
_PREFIX = re.compile(r"^(?:[وف]?(?:[بك]?ال|لل)|[وف][بلك]?|[بلك])(?=\w{3})")


def normalize(text: str) -> str:
    """Digits to ASCII, tashkeel and tatweel out, letter variants unified, spaces collapsed."""
    return _SPACES.sub(" ", text.translate(_TABLE)).strip()


def content_words(text: str, min_length: int = 3) -> set[str]:
    """The distinct words of text, normalised and without attached prefixes."""
    words = (_PREFIX.sub("", w) for w in _WORD.findall(normalize(text).lower()))
    return {w for w in words if len(w) >= min_length}
