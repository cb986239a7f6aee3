"""The fault sites: one small generated site per fault a server or network can cause.

Each site lists two articles. ``/news/1`` is a plain page and must always be
archived (a fault elsewhere loses nothing else); ``/news/2`` (or the site's
feed) is served the way a broken or hostile server would, by the mirror
(``mirror.layout``: routes, ``fault``s). ``check`` says what the archive must
hold afterwards, as one problem line or None. Shared by ``tests/test_faults.py``
(the small sites, in one crawl) and ``tools/fault_matrix.py`` (each site on its
own, with its peak memory, in ``make reliability``).
"""

from __future__ import annotations

import gzip
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PARAGRAPH = "<p>تسعى روسيا الى وقف القتال بين اذربيجان وارمينيا، وأعلنت وزارة الدفاع عن هدنة.</p>"
TITLE = "هدنة بين اذربيجان وارمينيا"


def article(title: str = TITLE, extra: str = "", head: str = "") -> str:
    return (
        f"<html><head><title>{title}</title>{head}</head><body><article><h1>{title}</h1>"
        f"{PARAGRAPH * 30}{extra}</article></body></html>"
    )


LISTING = '<html><body><a href="/news/1">خبر 1</a> <a href="/news/2">خبر 2</a></body></html>'
PASSWD_LINE = "root:x:0:0:"


def write_bomb(path: Path, megabytes: int) -> None:
    """gzip of megabytes of spaces, written a megabyte at a time (never held whole)."""
    chunk = b" " * 1_000_000
    with gzip.GzipFile(path, "wb", compresslevel=9, mtime=0) as out:
        out.write(b"<html><body><p>")
        for _ in range(megabytes):
            out.write(chunk)


def query(data: Path, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(data / "archive.db") as db:
        return db.execute(sql, args).fetchall()


def captures(data: Path, key: str, path: str) -> list[tuple]:
    """(status, error) of every capture of the site's URL `path`."""
    url = f"https://{host(key)}{path}"
    return query(data, "SELECT status, error FROM captures WHERE url = ? ORDER BY id", url)


def stored(data: Path, key: str, path: str) -> tuple | None:
    """(title, canonical_url, encoding) of the stored article at `path`, or None."""
    rows = query(
        data,
        "SELECT title, canonical_url, encoding FROM articles WHERE url = ?",
        f"https://{host(key)}{path}",
    )
    return rows[0] if rows else None


Check = Callable[[Path, str], str | None]


@dataclass(frozen=True)
class FaultSite:
    key: str
    fault: str  # as the table names it
    statuses: tuple[str, ...]  # the run statuses that are right for it
    check: Check  # what else the archive must (not) hold
    routes: str = ""  # _mirror.toml routes for the host
    files: tuple[tuple[str, bytes], ...] = ()
    site: str = ""  # more lines of its sites.toml entry
    settings: tuple[str, ...] = ()
    stored_second: bool = False  # /news/2 itself is to be archived
    slow: bool = False  # big files: make reliability only, not make test
    known: str = ""  # a fault found and not mended yet: what goes wrong


def host(key: str) -> str:
    return f"www.{key.replace('_', '-')}.faults.example"


def _error_capture(expected: str) -> Check:
    def check(data: Path, key: str) -> str | None:
        rows = captures(data, key, "/news/2")
        if not rows or not any(e and expected in e for _, e in rows):
            return f"no capture of /news/2 with an error naming {expected!r}: {rows}"
        return None

    return check


def _site_error(expected: str) -> Check:
    def check(data: Path, key: str) -> str | None:
        rows = query(data, "SELECT url, error FROM captures WHERE site = ? AND error LIKE ?",
                     key, f"%{expected}%")  # fmt: skip
        return None if rows else f"no capture of the site with an error naming {expected!r}"

    return check


def _status_capture(status: int) -> Check:
    def check(data: Path, key: str) -> str | None:
        rows = captures(data, key, "/news/2")
        return None if rows and rows[-1][0] == status else f"/news/2 captures: {rows}"

    return check


def _not_fetched(url: str) -> Check:
    def check(data: Path, key: str) -> str | None:
        rows = query(data, "SELECT url FROM captures WHERE url LIKE ?", url + "%")
        return f"a redirect off the site was followed: {rows}" if rows else None

    return check


def _title(expected: str, encoding: str | None = None) -> Check:
    def check(data: Path, key: str) -> str | None:
        row = stored(data, key, "/news/2")
        if row is None or row[0] != expected:
            return f"/news/2 stored as {row}, not titled {expected!r}"
        if encoding is not None and row[2] != encoding:
            return f"/news/2 was read as {row[2]}, not {encoding}"
        return None

    return check


def _no_canonical(data: Path, key: str) -> str | None:
    row = stored(data, key, "/news/2")
    if row is None or row[1] is not None:
        return f"/news/2 stored as {row}: its javascript: canonical must be dropped"
    return None


def _no_entity(data: Path, key: str) -> str | None:
    hits = query(
        data, "SELECT url FROM captures WHERE url LIKE '%root:x%' OR error LIKE '%root:x%'"
    )
    hits += query(data, "SELECT url FROM articles WHERE text LIKE '%root:x%'")
    return f"an entity was expanded into the archive: {hits}" if hits else None


def _nothing_more(data: Path, key: str) -> str | None:
    return None


def _feed(body: str) -> tuple[tuple[str, bytes], ...]:
    return (("feed.xml", body.encode()),)


FEED_ITEM = "<item><link>https://{host}/news/2</link><title>خبر</title></item>"
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">'
    '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;">'
    '<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;">]>'
    "<rss><channel><title>&h;</title>" + FEED_ITEM + "</channel></rss>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<rss><channel><title>&x;</title><item><link>https://{host}/news/&x;</link></item>"
    + FEED_ITEM
    + "</channel></rss>"
)
FEED_SITE = 'feeds = ["/feed.xml"]\nlistings = ["/"]'
MISSING = ("partial", "failed")  # a page could not be had: never "ok"

FAULTS = [
    FaultSite("http_500", "HTTP 500 on an article", MISSING, _status_capture(500),
              routes='url = "/news/2"\nfile = "news/2"\nstatus = 500\n'),
    FaultSite("retry_after", "429 with Retry-After: 100000", ("deferred",),
              _error_capture("deferred: HTTP 429 with Retry-After 100000"),
              routes='url = "/news/2"\nfile = "news/2"\nfail_first = 99\nfail_status = 429\n'
                     "retry_after = 100000\n"),
    FaultSite("reset", "connection reset", MISSING, _error_capture("Connection"),
              routes='url = "/news/2"\nfile = "news/2"\nfault = "reset"\n'),
    FaultSite("truncated", "body cut short of Content-Length", MISSING, _error_capture("Error"),
              routes='url = "/news/2"\nfile = "news/2"\nfault = "truncate"\n'),
    FaultSite("timeout", "no answer (DOWNLOAD_TIMEOUT 8 s)", MISSING, _error_capture("Timeout"),
              routes='url = "/news/2"\nfile = "news/2"\nfault = "stall"\n',
              settings=("DOWNLOAD_TIMEOUT=8", "RETRY_TIMES=0")),
    FaultSite("redirect_loop", "redirect loop", MISSING, _site_error("redirect-loop: "),
              routes='url = "/news/2"\nredirect = "/news/3"\n\n[[route]]\n'
                     'url = "/news/3"\nredirect = "/news/2"\n'),
    FaultSite("offsite_redirect", "redirect to another site", ("ok", "partial"),
              _not_fetched("https://evil.example/"),
              routes='url = "/news/2"\nredirect = "https://evil.example/steal"\n'),
    FaultSite("private_redirect", "redirect to 169.254.169.254", ("ok", "partial"),
              _not_fetched("http://169.254.169.254/"),
              routes='url = "/news/2"\nredirect = "http://169.254.169.254/latest/meta-data/"\n'),
    FaultSite("broken_feed", "feed of broken XML", ("ok", "partial"), _nothing_more,
              files=_feed("<rss><channel><item><link>https://{host}/news/1</link>\x00\x01<item"),
              site=FEED_SITE, stored_second=True),
    FaultSite("billion_laughs", "billion-laughs feed", ("ok", "partial"), _nothing_more,
              files=_feed(LAUGHS), site=FEED_SITE, stored_second=True),
    FaultSite("xxe", "XXE feed (file:///etc/passwd)", ("ok", "partial"), _no_entity,
              files=_feed(XXE), site=FEED_SITE, stored_second=True),
    FaultSite("cp1256", "windows-1256, no charset anywhere", ("ok",), _title("خبر قديم", "cp1256"),
              routes='url = "/news/2"\nfile = "news/2"\ncontent_type = "text/html"\n',
              files=(("news/2", article("خبر قديم").encode("cp1256")),), stored_second=True),
    FaultSite("stray_bytes", "UTF-8 with one stray byte", ("ok",), _title(TITLE, "utf-8"),
              files=(("news/2", article(extra="<p>\xff</p>").encode().replace(b"\xc3\xbf", b"\xff")),),
              stored_second=True),
    FaultSite("empty_200", "empty 200", MISSING, _error_capture("empty-body: HTTP 200"),
              routes='url = "/news/2"\nstatus = 200\n'),
    FaultSite("js_canonical", "javascript: canonical", ("ok",), _no_canonical,
              files=(("news/2", article(head='<link rel="canonical" href="javascript://'
                      'www.js-canonical.faults.example/%0aalert(1)">').encode()),),
              stored_second=True),
    FaultSite("many_figures", "1 MB page, 140 figures", ("ok",), _title("صور كثيرة"),
              files=(("news/2", article("صور كثيرة", extra="".join(
                  f"<figure><img src='/i{i}.jpg'><figcaption>{PARAGRAPH * 3}</figcaption></figure>"
                  f"<blockquote>{PARAGRAPH * 2}</blockquote>{PARAGRAPH * 40}" for i in range(140)
              )).encode()),), stored_second=True, slow=True),
    FaultSite("huge_page", "30 MB page", MISSING, _error_capture("too-large"),
              files=(("news/2", article(extra=PARAGRAPH * 190_000).encode()),), slow=True),
    FaultSite("gzip_bomb", "gzip bomb, 1 GB inflated", MISSING, _error_capture("too-large"),
              routes='url = "/news/2"\nfile = "bomb.gz"\ncontent_type = "text/html; charset=utf-8"\n'
                     'headers = { Content-Encoding = "gzip" }\n', slow=True),
]  # fmt: skip
BY_KEY = {f.key: f for f in FAULTS}


def build(root: Path, faults: list[FaultSite]) -> Path:
    """Write the fault sites' mirror under root; returns their sites file."""
    entries = []
    for fault in faults:
        folder = root / host(fault.key)
        (folder / "news").mkdir(parents=True, exist_ok=True)
        (folder / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
        (folder / "index.html").write_text(LISTING, encoding="utf-8")
        for name in ("1", "2"):
            (folder / "news" / name).write_text(article(f"{TITLE} {name}"), encoding="utf-8")
        for name, content in fault.files:
            (folder / name).write_bytes(content.replace(b"{host}", host(fault.key).encode()))
        if fault.key == "gzip_bomb":
            write_bomb(folder / "bomb.gz", 1000)
        if fault.routes:
            (folder / "_mirror.toml").write_text(f"[[route]]\n{fault.routes}", encoding="utf-8")
        entries.append(
            f'[sites.{fault.key}]\ndomains = ["{host(fault.key)}"]\n'
            f"article_urls = ['^/news/\\d+$']\nautodiscover_feeds = false\n"
            f"robots_sitemaps = false\n{fault.site or 'listings = [' + chr(34) + '/' + chr(34) + ']'}\n"
        )
    sites = root / "fault-sites.toml"
    sites.write_text("\n".join(entries), encoding="utf-8")
    return sites


def problems(data: Path, fault: FaultSite, status: str | None) -> list[str]:
    """What is wrong in the archive after crawling the fault's site (none: all is right)."""
    found = []
    if status not in fault.statuses:
        found.append(f"status {status}, expected {' or '.join(fault.statuses)}")
    for path in ("/news/1", "/news/2") if fault.stored_second else ("/news/1",):
        if stored(data, fault.key, path) is None:
            found.append(f"{path} was not archived")
    if not fault.stored_second and stored(data, fault.key, "/news/2"):
        found.append("/news/2 was archived from a faulty answer")
    problem = fault.check(data, fault.key)
    return found + ([problem] if problem else [])
