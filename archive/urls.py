"""URL canonicalisation: one spelling per page, so an article is fetched once per run.

Arabic sites link the same article as a raw IRI, percent-encoded in upper or
lower case, with tracking parameters and fragments. ``canonicalize`` maps all
of these to one ASCII URL, the same string a WARC ``WARC-Target-URI`` holds.
Query parameter order is kept: some CMSs route on it, and reordering would
fetch a URL the site never linked.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

log = logging.getLogger(__name__)
WEB_SCHEMES = frozenset({"http", "https"})

# Parameters that identify a campaign or a click, never a page.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "spm",
        "at_medium",
        "at_campaign",
        "at_source",
        "cmpid",
        "ocid",
        "amp_js_v",
        "usqp",
    }
)
TRACKING_PREFIXES = ("utm_", "__twitter", "hsa_", "pk_", "mtm_")

_SAFE_PATH = "/:@!$&'()*+,;=-._~%"
_SAFE_QUERY = _SAFE_PATH + "?"
_PCT = re.compile(r"%([0-9a-fA-F]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _normalize_escapes(part: str, safe: str) -> str:
    """Percent-encode what needs it (UTF-8) and give every escape one spelling."""
    encoded = quote(part, safe=safe, encoding="utf-8", errors="strict")

    def fix(m: re.Match[str]) -> str:
        char = chr(int(m.group(1), 16))
        return char if char in _UNRESERVED else "%" + m.group(1).upper()

    return _PCT.sub(fix, encoded)


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonicalize(url: str, base: str | None = None) -> str:
    """The canonical form of url (resolved against base when relative).

    >>> canonicalize("HTTPS://WWW.Example.com:443/a/../ب?utm_source=x&id=3#top")
    'https://www.example.com/%D8%A8?id=3'
    """
    url = url.strip()
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    try:
        host = host.encode("idna").decode("ascii") if host else host
    except UnicodeError:
        host = host.lower()
    port = parts.port
    netloc = host
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        netloc = f"{host}:{port}"
    path = _normalize_escapes(_remove_dot_segments(parts.path) or "/", _SAFE_PATH)
    query = _clean_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def web_url(href: str, base: str | None = None) -> str | None:
    """href resolved against base and canonicalised when it is an http(s) URL with a
    host; else None. A page's markup is a stranger's: ``javascript:``, ``data:`` or
    ``javascript://host/...`` (which has a host) must never become a URL we store,
    follow or render as a link.

    >>> web_url("javascript://www.example.com/%0aalert(1)") is None
    True
    >>> web_url("/a", "https://www.example.com/b")
    'https://www.example.com/a'
    """
    try:
        url = canonicalize(href, base)
        parts = urlsplit(url)
        ok = parts.scheme in WEB_SCHEMES and bool(parts.hostname)
    except ValueError:  # a bad port or IPv6 literal
        return None
    return url if ok else None


def log_dropped(page_url: str, what: str, value: str, level: int = logging.WARNING) -> None:
    """One log line naming the page and the value it offered; %r keeps a newline or
    an escape sequence in a hostile value from forging more lines."""
    log.log(level, "%s: dropped %s %r: not an http(s) URL of the site", page_url, what, value)


def _clean_query(query: str) -> str:
    if not query:
        return ""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = unquote(pair.split("=", 1)[0])
        if not is_tracking_param(name):
            kept.append(_normalize_escapes(pair, _SAFE_QUERY))
    return "&".join(kept)


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        if seg == "..":
            if len(out) > 1:
                out.pop()
            if i == len(segments) - 1:
                out.append("")
        elif seg == ".":
            if i == len(segments) - 1:
                out.append("")
        else:
            out.append(seg)
    return "/".join(out)


def display_url(url: str) -> str:
    """The URL as a reader would type it: percent-escapes of UTF-8 decoded (Arabic shown)."""
    parts = urlsplit(url)
    path = unquote(parts.path, errors="strict") if parts.path else parts.path
    return urlunsplit(parts._replace(path=path))


class PageKind(StrEnum):
    ARTICLE = "article"
    LISTING = "listing"


def rule_targets(url: str) -> tuple[str, ...]:
    """What URL rules are matched against: path?query as canonicalised (percent-encoded),
    and the same with the path's UTF-8 escapes decoded, so a rule may name an Arabic
    section either way (``/%D8%AA%D9%82...`` or ``/تقارير``)."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    encoded = (parts.path or "/") + query
    try:
        decoded = unquote(parts.path or "/", errors="strict") + query
    except UnicodeDecodeError:
        return (encoded,)
    # An escaped slash or '?' must not become a segment or query boundary.
    if decoded == encoded or re.search(r"%2F|%3F|%23", parts.path, re.IGNORECASE):
        return (encoded,)
    return (encoded, decoded)


@dataclass(frozen=True)
class UrlRules:
    """Tells an article URL from a listing URL by regular expressions over path?query.

    ``canonical`` rewrites an article URL to the one URL its article is archived
    under (a Drupal path alias ``/section/123/slug`` to ``/node/123``): pairs of a
    pattern and a replacement (``\\1`` for its groups), the first match wins.
    """

    article: tuple[re.Pattern[str], ...]
    listing: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    canonical: tuple[tuple[re.Pattern[str], str], ...] = ()

    @staticmethod
    def _any(patterns: tuple[re.Pattern[str], ...], targets: tuple[str, ...]) -> bool:
        return any(p.search(t) for p in patterns for t in targets)

    def excluded(self, url: str) -> bool:
        return self._any(self.exclude, rule_targets(url))

    def classify(self, url: str) -> PageKind | None:
        targets = rule_targets(url)
        if self._any(self.exclude, targets):
            return None
        if self._any(self.listing, targets):
            return PageKind.LISTING
        if self._any(self.article, targets):
            return PageKind.ARTICLE
        return None

    def canonical_url(self, url: str) -> str:
        """The URL the article at url is archived under: the first canonical rule that
        matches, applied; else url itself (canonicalised)."""
        url = canonicalize(url)
        if not self.canonical or self.excluded(url):
            return url
        parts = urlsplit(url)
        for pattern, replacement in self.canonical:
            for target in rule_targets(url):
                if pattern.search(target):
                    rewritten = pattern.sub(replacement, target, count=1)
                    return canonicalize(rewritten, f"{parts.scheme}://{parts.netloc}/")
        return url
