from __future__ import annotations

from archive.normalize import content_words, normalize


def test_normalize_unifies_spellings():
    assert normalize("أَذْرَبِيجَان") == normalize("اذربيجان") == "اذربيجان"
    assert normalize("إيران  ١٤") == "ايران 14"
    assert normalize("مدرسة على") == "مدرسه علي"
    assert normalize("ــقره\u00a0باغ") == "قره باغ"


def test_content_words_strip_attached_prefixes():
    assert content_words("وأذربيجان بأذربيجان والأرمينية للأمن") == {"اذربيجان", "ارمينيه", "امن"}
    assert content_words("في من على") == {"علي"}  # short words are not content
