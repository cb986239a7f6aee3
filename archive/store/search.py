"""Arabic-aware full-text search over the archive.

The index (``articles_fts``, kept in step by ``Archive.save_article``) holds the
normalised stems of each article's title and text, under SQLite's stock
``unicode61`` tokenizer. A query goes through the same normalisation: each
word becomes the OR of every stem a spelling of it may have been indexed under
(``normalize.query_variants``), words are ANDed, and "quoted words" must stand
together. Everything the user types is quoted, so FTS5 operators in a query are
text, never syntax.

Results are the most relevant (bm25, title weighted over text) among the
newest matches: the newest ``window`` matching articles are found by walking
the index backwards by rowid, which FTS5 does without ranking everything that
matches, and those are ranked. On a million articles a common word matches
hundreds of thousands; ranking them all would take seconds.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from archive.normalize import query_variants, stem, tokens

MARK = ("<mark>", "</mark>")
_QUOTED = re.compile(r'"([^"]*)"|(\S+)')
TITLE_WEIGHT = 4.0
# A query is what a person types: each word becomes an OR of its spellings, so a
# pasted article would make an FTS5 expression of thousands of terms that takes
# seconds to minutes. Bounds well above any real query.
MAX_QUERY_CHARS = 500
MAX_QUERY_WORDS = 32


class QueryTooLong(ValueError):
    """A query over the bounds above; the message is one line for the user."""


def check_query(query: str) -> None:
    if len(query) > MAX_QUERY_CHARS:
        raise QueryTooLong(
            f"the query is {len(query)} characters long; at most {MAX_QUERY_CHARS} are searched"
        )
    words = len(tokens(query))
    if words > MAX_QUERY_WORDS:
        raise QueryTooLong(f"the query has {words} words; at most {MAX_QUERY_WORDS} are searched")


WINDOW = 1000


@dataclass(frozen=True)
class Hit:
    id: int
    url: str
    title: str | None
    site: str
    published: str | None
    snippet: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def parse_query(query: str) -> tuple[str | None, set[str]]:
    """(the FTS5 MATCH expression, the stems a snippet should mark) for a user's query."""
    groups, marks = [], set()
    for phrase, word in _QUOTED.findall(query):
        words = tokens(phrase if phrase else word)
        if not words:
            continue
        if len(words) > 1:  # a phrase, or a word the tokenizer splits (قره-باغ)
            stems = [stem(w) for w in words]
            groups.append(_quote(" ".join(stems)))
            marks.update(stems)
        else:
            variants = sorted(query_variants(words[0]))
            groups.append("(" + " OR ".join(_quote(v) for v in variants) + ")")
            marks.update(variants)
    return (" AND ".join(groups) if groups else None), marks


# Punctuation a whitespace-split word carries, Arabic and Latin: it stays outside
# the mark, so «لأذربيجان،» is never shown as the word.
_PUNCT = "،؛؟.,:;!?\"'()«»[]{}…“”‘’"
_EDGES = re.compile(f"^([{re.escape(_PUNCT)}]*)(.*?)([{re.escape(_PUNCT)}]*)$", re.DOTALL)


def _mark_word(word: str, mark: tuple[str, str]) -> str:
    lead, core, trail = _EDGES.match(word).groups()  # type: ignore[union-attr]  # always matches
    if not core:  # all punctuation: nothing to mark
        return word
    return f"{lead}{mark[0]}{core}{mark[1]}{trail}"


def snippet(
    text: str | None, marks: set[str], width: int = 30, mark: tuple[str, str] = MARK
) -> str:
    """About width words of text around its first matches, the matching words marked."""
    words = (text or "").split()
    if not words:
        return ""
    hits = [i for i, w in enumerate(words) if any(stem(t) in marks for t in tokens(w))]
    start = max(0, (hits[0] - width // 3) if hits else 0)
    chosen = words[start : start + width]
    hit_set = set(hits)
    out = [_mark_word(w, mark) if start + i in hit_set else w for i, w in enumerate(chosen)]
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + width < len(words) else ""
    return prefix + " ".join(out) + suffix


def search_sql(site: bool = False, since: bool = False) -> str:
    """The search statement (parameters :match, :window, :limit, and :site / :since)."""
    filters = (" AND a.site = :site" if site else "") + (
        " AND a.published >= :since" if since else ""
    )
    return f"""
        WITH recent AS (
            SELECT f.rowid AS id FROM articles_fts f JOIN articles a ON a.id = f.rowid
            WHERE articles_fts MATCH :match{filters}
            ORDER BY f.rowid DESC LIMIT :window
        )
        SELECT a.id, a.url, a.title, a.site, a.published, a.text,
               bm25(articles_fts, {TITLE_WEIGHT}, 1.0) AS score
        FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
        WHERE articles_fts MATCH :match
          AND articles_fts.rowid >= (SELECT min(id) FROM recent){filters}
        ORDER BY score, a.published DESC
        LIMIT :limit
    """


def search(
    conn: sqlite3.Connection,
    query: str,
    *,
    site: str | None = None,
    since: str | None = None,
    limit: int = 20,
    window: int = WINDOW,
    mark: tuple[str, str] = MARK,
) -> Sequence[Hit]:
    check_query(query)
    match, marks = parse_query(query)
    if match is None:
        return []
    params: dict[str, Any] = {"match": match, "window": max(window, limit), "limit": limit}
    if site:
        params["site"] = site
    if since:
        params["since"] = since
    rows = conn.execute(search_sql(bool(site), bool(since)), params).fetchall()
    return [
        Hit(
            id=row[0],
            url=row[1],
            title=row[2],
            site=row[3],
            published=row[4],
            snippet=snippet(row[5], marks, mark=mark),
            score=round(row[6], 4),
        )
        for row in rows
    ]
