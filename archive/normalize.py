"""Arabic normalisation and light stemming: one spelling per word, for matching text.

Used wherever arshif compares Arabic: search (index and queries), month names
in dates, titles against headings, pull-quotes against the body.

``normalize``: digits become ASCII; tashkeel and tatweel go; alef forms
(أ إ آ ٱ) become ا, ى becomes ي, ة becomes ه, and the Persian/Urdu letters
(ک ی) their Arabic forms. So أَذْرَبِيجَان and اذربيجان are one word.

``stem``: a light stemmer in the family of Larkey's light10: the attached
article and conjunctions/prepositions (وال، بال، لل، و، ب…) come off the front
while three letters remain, and common suffixes (ات، ان، ون، ين، ية، ها، ي…) off
the back while four remain, so وأذربيجان, بأذربيجان and الأذربيجانية all stem to
اذربيج, while لبنان does not shrink to لبن ("milk"). Compared with the Snowball
Arabic stemmer on the archive in tools/compare_stemmers.py (see the README).

A stemmer cannot know whether the و of وزارة is a conjunction; the index takes
one reading, and ``query_variants`` gives a query word every stem any spelling
of it could have been indexed under, so both readings are found.
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


def normalize(text: str) -> str:
    """Digits to ASCII, tashkeel and tatweel out, letter variants unified, spaces collapsed."""
    return _SPACES.sub(" ", text.translate(_TABLE)).strip()


def content_words(text: str, min_length: int = 3) -> set[str]:
    """The distinct stems of text's words of at least min_length letters."""
    return {stem(w) for w in tokens(text) if len(w) >= min_length}


_ARABIC_WORD = re.compile("[\u0621-\u064a]")
# Longest first. Article forms, then a conjunction with an optional preposition.
_PREFIXES = (
    "وال",
    "فال",
    "بال",
    "كال",
    "لل",
    "ال",
    "وب",
    "ول",
    "وك",
    "فب",
    "فل",
    "فك",
    "و",
    "ف",
    "ب",
    "ك",
    "ل",
)
_SUFFIXES = ("ات", "ان", "ون", "ين", "يه", "ها", "هم", "هن", "كم", "نا", "ه", "ي")
_MIN_PREFIX_REST = 3
_MIN_STEM = 4


def strip_prefix(word: str) -> str:
    for prefix in _PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= _MIN_PREFIX_REST:
            return word[len(prefix) :]
    return word


def strip_suffixes(word: str, rounds: int = 2) -> str:
    for _ in range(rounds):
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
                word = word[: -len(suffix)]
                break
        else:
            break
    return word


def stem(word: str) -> str:
    """The index form of one normalised, lower-case word."""
    if not _ARABIC_WORD.match(word):
        return word
    return strip_suffixes(strip_prefix(word))


def tokens(text: str) -> list[str]:
    """The words of text, normalised and lower-cased (no stemming)."""
    return _WORD.findall(normalize(text).lower())


def index_text(text: str | None) -> str:
    """What the full-text index stores for text: its stems, space-separated, in order."""
    return " ".join(stem(w) for w in tokens(text or ""))


def query_variants(word: str) -> set[str]:
    """Every stem under which a spelling of this query word may have been indexed.

    A document word is indexed as stem(word). Whatever prefix the reader typed,
    the documents may spell the same core with another prefix or none, and a
    bare core that starts with و/ب/ل… was itself read as prefixed by ``stem``.
    """
    if not _ARABIC_WORD.match(word):
        return {word}
    cores = {word} | {
        word[len(p) :]
        for p in _PREFIXES
        if word.startswith(p) and len(word) - len(p) >= _MIN_PREFIX_REST
    }
    return {strip_suffixes(c) for c in cores} | {stem(c) for c in cores}
