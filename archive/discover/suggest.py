"""URL rules from examples: what ``arshif sites suggest`` prints.

The crawl records, per site, the URLs whose pages declared themselves articles
or turned out to be listings (``page_kinds``). Here those URLs are generalised
into the regular expressions a sites file wants: a segment that is a number
becomes ``\\d+`` (``\\d{4}``, ``\\d{2}`` only for a date's year, month and
day: an id of four digits today has five tomorrow), a segment shared by
several URLs stays as written, and one that differs from URL to URL (a slug)
becomes ``[^/?#]+``. Patterns are matched by rules
against the path decoded as well as percent-encoded, so Arabic segments are
kept readable.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from archive.urls import display_url

SLUG = "[^/?#]+"
_SPECIAL = re.compile(r"([.^$*+?{}\[\]\\|()])")
_NUMBER_SUFFIX = re.compile(r"^(\d+)(\.[A-Za-z0-9]+)$")  # 230400.html


@dataclass(frozen=True)
class Suggestion:
    pattern: str
    count: int
    example: str


def _escape(text: str) -> str:
    """A literal for a regex, escaping only what regex syntax needs (no '\\-' noise)."""
    return _SPECIAL.sub(r"\\\1", text)


def _segments(url: str) -> tuple[list[str], bool, list[tuple[str, str]]]:
    parts = urlsplit(url)
    path = unquote(parts.path or "/")
    trailing = path.endswith("/") and path != "/"
    segments = [s for s in path.split("/") if s]
    query = [(p.partition("=")[0], p.partition("=")[2]) for p in parts.query.split("&") if p]
    return segments, trailing, query


# A date in a path: a year, then perhaps its month, then perhaps the day.
_DATE_PARTS = [
    re.compile(r"(?:19|20)\d\d"),
    re.compile(r"0[1-9]|1[0-2]"),
    re.compile(r"0[1-9]|[12]\d|3[01]"),
]


def _date_positions(columns: list[list[str]]) -> set[int]:
    """The path positions where every URL has a date's year, month or day (in that order)."""
    found: set[int] = set()
    part = 0  # the date part expected next: year, month, day
    for i, values in enumerate(columns):
        if part and part < 3 and all(_DATE_PARTS[part].fullmatch(v) for v in values):
            found.add(i)
            part += 1
        elif all(_DATE_PARTS[0].fullmatch(v) for v in values):
            found.add(i)
            part = 1
        else:
            part = 0
    return found


def _generalise(values: list[str], in_path: bool = True, date: bool = False) -> str:
    """One regex for the values seen at one position of URLs of one shape; ``date``: the
    position holds a year, month or day (see ``_date_positions``)."""
    if len(set(values)) == 1 and not values[0].isdigit():
        return _escape(values[0])  # shared by every URL of the shape (or only one URL)
    if all(v.isdigit() for v in values):
        # A date's parts keep their width; ids and page numbers grow (9999, then 10000).
        return rf"\d{{{len(values[0])}}}" if date else r"\d+"
    matches = [_NUMBER_SUFFIX.match(v) for v in values]
    suffixes = {m.group(2) for m in matches if m is not None}
    if all(matches) and len(suffixes) == 1:
        return r"\d+" + _escape(suffixes.pop())
    return SLUG if in_path else "[^&#]+"


def _one_off(segment: str) -> bool:
    """A number or a slug (several words joined by - or _): never a constant part, even
    when two URLs happen to share it (one story under two ids)."""
    return segment.isdigit() or len(re.split(r"[-_]+", segment)) >= 3


def _shape(segments: list[str], common: set[tuple[int, str]]) -> tuple[str, ...]:
    """The coarse form of a path: numbers and one-off segments are wildcards."""
    return tuple(
        s if (i, s) in common else ("#" if s.isdigit() else "*") for i, s in enumerate(segments)
    )


def _pattern(members: list[tuple[str, list[str], bool, list[tuple[str, str]]]]) -> str:
    depth = len(members[0][1])
    columns = [[segs[i] for _, segs, _, _ in members] for i in range(depth)]
    dates = _date_positions(columns)
    path = "/".join(_generalise(values, date=i in dates) for i, values in enumerate(columns))
    pattern = "^/" + path
    keys = [k for k, _ in members[0][3]]
    if not keys:
        # /?$: a site links a page with and without its trailing slash; not after a.html.
        last = members[0][1][-1] if depth else ""
        return pattern + ("$" if not depth or "." in last else "/?$")
    if depth and any(trailing for _, _, trailing, _ in members):
        pattern += "/"
    query = []
    for j, name in enumerate(keys):
        values = [q[j][1] for _, _, _, q in members]
        if all(v == "" for v in values):
            query.append(_escape(name))
        else:
            query.append(f"{_escape(name)}={_generalise(values, in_path=False)}")
    return pattern + r"\?" + "&".join(query) + "$"


def suggest(urls: list[str]) -> list[Suggestion]:
    """Patterns covering urls, most common first: each with its count and an example."""
    parsed = [(u, *_segments(u)) for u in dict.fromkeys(urls)]
    # A word is part of the pattern when several URLs share it at that position;
    # slugs and ids are one-off. In a shape of one URL every word stays as written.
    seen = Counter(
        (i, s) for _, segs, _, _ in parsed for i, s in enumerate(segs) if not _one_off(s)
    )
    common = {key for key, n in seen.items() if n >= 2}
    groups: dict[tuple[object, ...], list[tuple[str, list[str], bool, list[tuple[str, str]]]]]
    groups = defaultdict(list)
    for url, segs, trailing, query in parsed:
        key = (len(segs), _shape(segs, common), tuple(k for k, _ in query))
        groups[key].append((url, segs, trailing, query))
    out = [Suggestion(_pattern(m), len(m), display_url(m[0][0])) for m in groups.values()]
    return sorted(out, key=lambda s: (-s.count, s.pattern))


def classified_urls(db: sqlite3.Connection, site: str) -> dict[str, list[str]]:
    """The site's URLs by kind: pages classified by what they declared, and its
    archived articles (every URL each was reached under)."""
    urls: dict[str, list[str]] = {"article": [], "listing": []}
    for url, kind in db.execute(
        "SELECT url, kind FROM page_kinds WHERE site = ? ORDER BY url", [site]
    ):
        urls.setdefault(kind, []).append(url)
    urls["article"] += [
        url
        for (url,) in db.execute(
            "SELECT x.url FROM article_aliases x JOIN articles a ON a.id = x.article_id"
            " WHERE a.site = ? ORDER BY x.url",
            [site],
        )
    ]
    urls["listing"] += [
        url
        for (url,) in db.execute(
            "SELECT DISTINCT url FROM captures WHERE site = ? AND kind = 'listing'"
            " AND status = 200 ORDER BY url",
            [site],
        )
    ]
    articles = set(urls["article"])
    urls["listing"] = [u for u in dict.fromkeys(urls["listing"]) if u not in articles]
    urls["article"] = list(dict.fromkeys(urls["article"]))
    return urls


def toml_string(value: str) -> str:
    """A TOML string for a regex: literal ('...') so backslashes stay as typed."""
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def as_toml(site: str, kinds: dict[str, list[Suggestion]]) -> str:
    lines = [
        f"# Suggested by `arshif sites suggest {site}` from the pages this archive classified.",
        "# Review before use: each pattern's count of URLs and an example are beside it.",
        "# Give this file after the one defining the site (--sites theirs --sites this):",
        "# its fields override the site's there.",
        f"[sites.{site}]",
    ]
    for kind in ("article", "listing"):
        suggestions = kinds.get(kind, [])
        if not suggestions:
            continue
        lines.append(f"{kind}_urls = [")
        for s in suggestions:
            lines.append(f"  {toml_string(s.pattern)},  # {s.count} URL(s), e.g. {s.example}")
        lines.append("]")
    return "\n".join(lines) + "\n"
