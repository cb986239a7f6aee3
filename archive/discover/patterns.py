"""URL rules from example URLs: the ``article_urls`` and ``listing_urls`` a site needs.

``arshif add-site`` sees a few dozen article URLs (from feeds, sitemaps and the
home page) and a few section pages; these functions turn them into the
registry's regular expressions over ``path?query``. Numbers become ``\\d+``
(ids and dates change from article to article even when a sample shares one),
slugs become ``[^/?#]+``, and segments every example shares are kept, so the
rule says what the site's URLs look like and no more.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

SLUG = "[^/?#]+"
_NUMBER = re.compile(r"^\d+$")
_EXTENSION = re.compile(r"^(?P<stem>.+?)\.(?P<ext>html?|php|aspx?|jsp|cms)$", re.I)
_PAGE_QUERY = re.compile(r"^(?P<name>page|p|pg|start)=\d+$", re.I)
_PAGE_PATH = re.compile(r"/page/\d+/?$")


def target(url: str) -> str:
    """What the registry's URL rules are matched against: path?query."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class _Shape:
    kinds: tuple[str, ...]  # per path segment: "n" number, "s" slug, plus ".ext"
    slash: bool
    query: tuple[str, ...]  # per parameter: name=n or name=s


def _kind(segment: str) -> str:
    ext = _EXTENSION.match(segment)
    stem, suffix = (ext["stem"], "." + ext["ext"].lower()) if ext else (segment, "")
    return ("n" if _NUMBER.match(stem) else "s") + suffix


def _split(url: str) -> tuple[list[str], bool, list[tuple[str, str]]]:
    parts = urlsplit(url)
    path = parts.path or "/"
    segments = [s for s in path.split("/") if s]
    pairs = [tuple(p.split("=", 1)) if "=" in p else (p, "") for p in parts.query.split("&") if p]
    return segments, path.endswith("/") and bool(segments), pairs  # type: ignore[return-value]


def _shape(url: str) -> _Shape:
    segments, slash, pairs = _split(url)
    query = tuple(f"{k}={'n' if _NUMBER.match(v) else 's'}" for k, v in pairs)
    return _Shape(tuple(_kind(s) for s in segments), slash, query)


def _segment_pattern(values: list[str], kind: str) -> str:
    if kind.startswith("n"):
        suffix = re.escape(kind[1:])
        return r"\d+" + suffix
    if len(set(values)) == 1 and len(values) > 1:
        return re.escape(values[0])
    if "." in kind:
        return r"[^/?#]+" + re.escape(kind[1:])
    return SLUG


def generalise(urls: Iterable[str]) -> str | None:
    """One pattern matching every URL given (all of one shape), or None for mixed shapes."""
    urls = list(urls)
    if not urls or len({_shape(u) for u in urls}) != 1:
        return None
    shape = _shape(urls[0])
    split = [_split(u) for u in urls]
    parts = [
        _segment_pattern([segments[i] for segments, _, _ in split], kind)
        for i, kind in enumerate(shape.kinds)
    ]
    pattern = "^/" + "/".join(parts)
    if parts and "." not in shape.kinds[-1]:
        pattern += "/?"
    if shape.query:
        params = []
        for i, spec in enumerate(shape.query):
            name, kind = spec.rsplit("=", 1)
            values = [pairs[i][1] for _, _, pairs in split]
            value = r"\d+" if kind == "n" else _segment_pattern(values, "s").replace("/?#", "&#")
            params.append(f"{re.escape(name)}={value}")
        pattern += r"\?" + "&".join(params)
    return pattern + "$"


def article_patterns(urls: Iterable[str], min_share: float = 0.1, min_count: int = 2) -> list[str]:
    """Patterns for the URL shapes that make up a real share of the examples, largest first.

    A shape seen once (an "about us" page in a sitemap) is noise, not a rule.
    """
    groups: dict[_Shape, list[str]] = defaultdict(list)
    urls = list(dict.fromkeys(urls))
    for url in urls:
        groups[_shape(url)].append(url)
    needed = max(min_count, int(len(urls) * min_share + 0.999))
    out: list[str] = []
    for members in sorted(groups.values(), key=len, reverse=True):
        if len(members) < needed:
            break
        pattern = generalise(members)
        if pattern and pattern not in out:
            out.append(pattern)
    return out


def pagination(urls: Iterable[str]) -> str | None:
    """How listing pages are paged, from URLs of later pages: "query" (``?page=N``),
    "path" (``/page/N/``) or None."""
    styles = set()
    for url in urls:
        query = urlsplit(url).query
        if query and _PAGE_QUERY.match(query):
            styles.add("query:" + query.split("=", 1)[0])
        elif _PAGE_PATH.search(urlsplit(url).path):
            styles.add("path")
    if not styles:
        return None
    return sorted(styles)[0]


def strip_paging(url: str) -> str:
    """The first page of a paged listing URL."""
    parts = urlsplit(url)
    path = _PAGE_PATH.sub("/", parts.path) or "/"
    query = "" if parts.query and _PAGE_QUERY.match(parts.query) else parts.query
    return parts._replace(path=path, query=query).geturl()


def listing_patterns(urls: Iterable[str], paging: str | None) -> list[str]:
    """Patterns for section pages (first pages), with their pagination.

    A varying segment becomes a slug only after a segment they share
    (``/ar/category/{name}``); sections at the top level are listed by name, since
    a top-level slug pattern would take in every other page of the site.
    """
    if paging is None:
        tail = "/?$"
    elif paging == "path":
        tail = r"(?:/page/\d+)?/?$"
    else:
        tail = rf"/?(?:\?{re.escape(paging.split(':', 1)[1])}=\d+)?$"
    groups: dict[int, list[list[str]]] = defaultdict(list)
    for url in dict.fromkeys(urls):
        segments, _, _ = _split(url)
        groups[len(segments)].append(segments)
    out = []
    for length, members in sorted(groups.items()):
        if length == 0:  # the home page
            home = {None: "", "path": r"(?:page/\d+/?)?"}.get(paging, tail[2:-1])
            out.append(f"^/{home}$")
            continue
        parts, shared = [], False
        for i in range(length):
            values = list(dict.fromkeys(m[i] for m in members))
            if len(values) == 1:
                parts.append(re.escape(values[0]))
                shared = True
            elif all(_NUMBER.match(v) for v in values):
                parts.append(r"\d+")
            elif shared:
                parts.append(SLUG)
            else:
                parts.append("(?:" + "|".join(re.escape(v) for v in values) + ")")
        out.append("^/" + "/".join(parts) + tail)
    return out
