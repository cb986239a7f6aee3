"""The site registry: the sites arshif crawls, as validated, typed data.

Sites are declared in TOML (``archive/sites.toml`` ships the listed ones) and a
user adds or overrides sites from a file of their own (``--sites FILE`` or
``ARSHIF_SITES``). Each entry names a CMS preset (``wordpress``, ``drupal``,
``generic``) whose defaults it may override field by field, so a WordPress site
is three lines. Everything is checked when the registry loads: a bad entry stops
the program at start with one message naming the file, the site and the field,
never halfway through a crawl.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from archive.urls import WEB_SCHEMES, PageKind, UrlRules, canonicalize, log_dropped, web_url

BUNDLED_SITES = Path(__file__).parent.parent / "sites.toml"
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_HOST_RE = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"
)


class SiteConfigError(ValueError):
    """A site entry is invalid. The message names the file, site and field."""


@dataclass(frozen=True)
class Politeness:
    """Per-site overrides of the crawl's politeness settings (None: the default)."""

    delay: float | None = None
    concurrency: int | None = None
    autothrottle_target: float | None = None
    # Bytes a response may reach, decompressed (a site of big photo galleries
    # may need more than the default, DOWNLOAD_MAXSIZE).
    max_size: int | None = None

    def scrapy_settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        if self.delay is not None:
            settings["DOWNLOAD_DELAY"] = self.delay
        if self.concurrency is not None:
            settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = self.concurrency
        if self.autothrottle_target is not None:
            settings["AUTOTHROTTLE_TARGET_CONCURRENCY"] = self.autothrottle_target
        if self.max_size is not None:
            settings["DOWNLOAD_MAXSIZE"] = self.max_size
            # The warning stays a quarter of the cap, as the defaults have it.
            settings["DOWNLOAD_WARNSIZE"] = self.max_size // 4
        return settings


@dataclass(frozen=True)
class Discovery:
    """Where the site's article URLs come from."""

    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    listings: tuple[str, ...] = ()
    robots_sitemaps: bool = True
    autodiscover_feeds: bool = True
    listing_depth: int = 3
    probe_budget: int | None = None  # None: ARSHIF_PROBE_BUDGET, when the site probes


@dataclass(frozen=True)
class Site:
    key: str
    name: str
    domains: tuple[str, ...]
    language: str
    cms: str
    discovery: Discovery
    urls: UrlRules
    cleanup: tuple[str, ...] = ()
    politeness: Politeness = field(default_factory=Politeness)
    timezone: str | None = None  # IANA name: for times the site prints without an offset
    source: str = ""

    @property
    def tzinfo(self) -> tzinfo | None:
        return ZoneInfo(self.timezone) if self.timezone else None

    @property
    def home(self) -> str:
        return f"https://{self.domains[0]}/"

    def owns(self, url: str) -> bool:
        """True when url is an http(s) URL on one of the site's domains or their
        subdomains. The scheme counts: ``javascript://www.site/...`` has the site's
        host and is no page of it."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in WEB_SCHEMES:
            return False
        host = (parts.hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def own_url(self, href: str, page_url: str, what: str) -> str | None:
        """href (as found on the page at page_url) canonicalised, when it is an http(s)
        URL of this site; else None, logged once naming the page and the value. For
        the URLs a page gives for itself (canonical, og:url, shortlink)."""
        url = web_url(href, page_url)
        if url is None or not self.owns(url):
            log_dropped(page_url, what, href)
            return None
        return url

    def classify(self, url: str) -> PageKind | None:
        return self.urls.classify(url) if self.owns(url) else None

    def article_url(self, fetched_url: str, declared_canonical: str | None) -> str:
        """The URL an article is archived under: the page's rel=canonical when it names
        a URL on this site, else the canonical form of the URL it was fetched from;
        then the site's canonical_urls rules, so every alias of one article agrees."""
        url = canonicalize(fetched_url)
        if declared_canonical:
            # Not logged here: extract_article logs the same page's bad canonical once.
            canonical = web_url(declared_canonical, fetched_url)
            if canonical and self.owns(canonical):
                url = canonical
        return self.urls.canonical_url(url)

    @property
    def probes(self) -> bool:
        """Whether unknown links are fetched and classified by what the page declares:
        for sites without article rules (theirs or their preset's), unless the entry
        says. Once it has rules (``arshif sites suggest``'s, say), probing stops."""
        if self.discovery.probe_budget is not None:
            return self.discovery.probe_budget > 0
        return not self.urls.article


# Each field: its type check and what the error says it must be.
_FIELDS = {
    "name": "a non-empty string",
    "cms": "one of the presets",
    "domains": "a non-empty list of host names such as 'www.example.com'",
    "language": "a language code such as 'ar'",
    "feeds": "a list of URLs or paths",
    "sitemaps": "a list of URLs or paths",
    "listings": "a list of URLs or paths",
    "robots_sitemaps": "true or false",
    "autodiscover_feeds": "true or false",
    "listing_depth": "a whole number from 0 to 50",
    "article_urls": "a list of regular expressions",
    "listing_urls": "a list of regular expressions",
    "exclude_urls": "a list of regular expressions",
    "canonical_urls": "a list of [pattern, replacement] pairs such as ['^/a/(\\d+)', '/node/\\1']",
    "probe_budget": "a whole number from 0 to 100000",
    "cleanup": "a list of XPath expressions or CSS selectors",
    "politeness": "a table with delay, concurrency, autothrottle_target, max_size",
    "timezone": "an IANA time zone name such as 'Asia/Beirut'",
}
_POLITENESS_FIELDS = {"delay", "concurrency", "autothrottle_target", "max_size"}
# A response cap below this would refuse ordinary article pages.
_MIN_MAX_SIZE = 100_000


class Registry(Mapping[str, Site]):
    """The sites by key, in declaration order."""

    def __init__(self, sites: Iterable[Site]) -> None:
        self._sites = {s.key: s for s in sites}

    def __getitem__(self, key: str) -> Site:
        return self._sites[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sites)

    def __len__(self) -> int:
        return len(self._sites)

    def site_for_url(self, url: str) -> Site | None:
        return next((s for s in self._sites.values() if s.owns(url)), None)

    def select(self, keys: Iterable[str]) -> list[Site]:
        """The sites named by keys; an unknown key raises SiteConfigError listing the known ones."""
        chosen = []
        for key in keys:
            if key not in self._sites:
                known = ", ".join(self._sites) or "none"
                hint = difflib.get_close_matches(key, list(self._sites), n=1)
                extra = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise SiteConfigError(f"unknown site '{key}'{extra}; known sites: {known}")
            chosen.append(self._sites[key])
        return chosen


def load_registry(extra: str | Path | Iterable[str | Path] | None = None) -> Registry:
    """The bundled sites, then each extra file's presets and sites merged over them.

    ``extra`` may be one path, several, or an ``os.pathsep``-separated string
    (the form ``ARSHIF_SITES`` takes).
    """
    paths: list[Path] = [BUNDLED_SITES]
    if isinstance(extra, str):
        paths += [Path(p) for p in extra.split(os.pathsep) if p.strip()]
    elif isinstance(extra, Path):
        paths.append(extra)
    elif extra is not None:
        paths += [Path(p) for p in extra]

    presets: dict[str, dict[str, Any]] = {}
    raw_sites: dict[str, tuple[dict[str, Any], str]] = {}
    for path in paths:
        data = _read_toml(path)
        unknown = set(data) - {"presets", "sites"}
        if unknown:
            raise SiteConfigError(
                f"{path}: unknown top-level table '{sorted(unknown)[0]}'"
                " (expected [presets.NAME] or [sites.KEY])"
            )
        for name, preset in _tables(data, "presets", path).items():
            presets[name] = {**presets.get(name, {}), **preset}
        for key, entry in _tables(data, "sites", path).items():
            previous = raw_sites.get(key, ({}, ""))[0]
            raw_sites[key] = ({**previous, **entry}, str(path))
    return Registry(build_site(key, entry, presets, src) for key, (entry, src) in raw_sites.items())


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise SiteConfigError(f"sites file not found: {path}") from None
    except OSError as e:
        raise SiteConfigError(f"sites file {path}: cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise SiteConfigError(f"sites file {path}: not valid TOML: {e}") from None
    except UnicodeDecodeError as e:  # TOML is UTF-8; tomllib lets the decoder's error out
        raise SiteConfigError(
            f"sites file {path}: not UTF-8 text (byte 0x{e.object[e.start]:02x}"
            f" at offset {e.start}), so not TOML"
        ) from None


def _tables(data: dict[str, Any], name: str, path: Path) -> dict[str, dict[str, Any]]:
    tables = data.get(name, {})
    if not isinstance(tables, dict) or not all(isinstance(v, dict) for v in tables.values()):
        raise SiteConfigError(f"{path}: [{name}] must hold tables such as [{name}.KEY]")
    return tables


def build_site(
    key: str, entry: Mapping[str, Any], presets: Mapping[str, Mapping[str, Any]], source: str = ""
) -> Site:
    """Validate one entry (merged over its preset) into a Site."""
    where = f"{source}: site '{key}'" if source else f"site '{key}'"

    def fail(fld: str, problem: str) -> SiteConfigError:
        return SiteConfigError(f"{where}, field '{fld}': {problem}")

    if not _KEY_RE.match(key):
        raise SiteConfigError(
            f"{where}: the key must be lower-case letters, digits and _ (it is the spider name)"
        )
    for name in entry:
        if name not in _FIELDS:
            hint = difflib.get_close_matches(name, list(_FIELDS), n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise SiteConfigError(f"{where}: unknown field '{name}'{extra}")

    cms = entry.get("cms", "generic")
    if cms not in presets:
        raise fail("cms", f"unknown preset {cms!r}; presets: {', '.join(sorted(presets))}")
    merged: dict[str, Any] = {**presets[cms], **entry}

    def text(fld: str, default: str | None = None) -> str:
        value = merged.get(fld, default)
        if not isinstance(value, str) or not value.strip():
            raise fail(fld, f"must be {_FIELDS[fld]}")
        return value.strip()

    def strings(fld: str, required: bool = False) -> tuple[str, ...]:
        value = merged.get(fld, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise fail(fld, f"must be {_FIELDS[fld]}")
        if required and not value:
            raise fail(fld, f"must be {_FIELDS[fld]}")
        return tuple(value)

    def flag(fld: str, default: bool) -> bool:
        value = merged.get(fld, default)
        if not isinstance(value, bool):
            raise fail(fld, f"must be {_FIELDS[fld]}")
        return value

    domains = tuple(d.lower().rstrip(".") for d in strings("domains", required=True))
    for d in domains:
        if not _HOST_RE.match(d):
            raise fail("domains", f"{d!r} is not a host name; give e.g. 'www.example.com'")

    language = text("language", "ar")
    if not re.match(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", language):
        raise fail("language", f"{language!r} is not {_FIELDS['language']}")

    def urls(fld: str) -> tuple[str, ...]:
        out = []
        for value in strings(fld):
            url = urljoin(f"https://{domains[0]}/", value)
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            if parts.scheme not in ("http", "https"):
                raise fail(fld, f"{value!r} is not an http(s) URL or a path")
            if not any(host == d or host.endswith("." + d) for d in domains):
                raise fail(fld, f"{value!r} is not on the site's domains {list(domains)}")
            out.append(url)
        return tuple(out)

    def patterns(fld: str, required: bool = False) -> tuple[re.Pattern[str], ...]:
        compiled = []
        for value in strings(fld, required):
            try:
                compiled.append(re.compile(value))
            except re.error as e:
                raise fail(fld, f"{value!r} is not a regular expression: {e}") from None
        return tuple(compiled)

    def rewrites(fld: str) -> tuple[tuple[re.Pattern[str], str], ...]:
        value = merged.get(fld, [])
        if not isinstance(value, list) or not all(
            isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) and x for x in v)
            for v in value
        ):
            raise fail(fld, f"must be {_FIELDS[fld]}")
        compiled = []
        for pattern, replacement in value:
            try:
                regex = re.compile(pattern)
                regex.sub(replacement, "")  # a group the pattern lacks fails here, not mid-crawl
            except re.error as e:
                raise fail(fld, f"{[pattern, replacement]!r}: {e}") from None
            compiled.append((regex, replacement))
        return tuple(compiled)

    budget = merged.get("probe_budget")
    if budget is not None and (
        not isinstance(budget, int) or isinstance(budget, bool) or not 0 <= budget <= 100_000
    ):
        raise fail("probe_budget", f"must be {_FIELDS['probe_budget']}")

    depth = merged.get("listing_depth", 3)
    if not isinstance(depth, int) or isinstance(depth, bool) or not 0 <= depth <= 50:
        raise fail("listing_depth", f"must be {_FIELDS['listing_depth']}")

    cleanup = strings("cleanup")
    for rule in cleanup:
        try:
            compile_cleanup_rule(rule)
        except ValueError as e:
            raise fail("cleanup", f"{rule!r}: {e}") from None

    timezone = merged.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise fail("timezone", f"{timezone!r} is not {_FIELDS['timezone']}") from None

    return Site(
        key=key,
        timezone=timezone,
        name=text("name", key),
        domains=domains,
        language=language,
        cms=cms,
        discovery=Discovery(
            feeds=urls("feeds"),
            sitemaps=urls("sitemaps"),
            listings=urls("listings") or (f"https://{domains[0]}/",),
            robots_sitemaps=flag("robots_sitemaps", True),
            autodiscover_feeds=flag("autodiscover_feeds", True),
            listing_depth=depth,
            probe_budget=budget,
        ),
        urls=UrlRules(
            article=patterns("article_urls"),
            listing=patterns("listing_urls"),
            exclude=patterns("exclude_urls"),
            canonical=rewrites("canonical_urls"),
        ),
        cleanup=cleanup,
        politeness=_politeness(merged.get("politeness", {}), fail),
        source=source,
    )


def _politeness(value: Any, fail: Any) -> Politeness:
    if not isinstance(value, dict):
        raise fail("politeness", f"must be {_FIELDS['politeness']}")
    unknown = set(value) - _POLITENESS_FIELDS
    if unknown:
        raise fail("politeness", f"unknown setting '{sorted(unknown)[0]}'")
    delay = value.get("delay")
    if delay is not None and (not isinstance(delay, int | float) or not 0 <= delay <= 600):
        raise fail("politeness", "delay must be seconds from 0 to 600")
    concurrency = value.get("concurrency")
    if concurrency is not None and (
        not isinstance(concurrency, int)
        or isinstance(concurrency, bool)
        or not 1 <= concurrency <= 8
    ):
        raise fail("politeness", "concurrency must be a whole number from 1 to 8")
    target = value.get("autothrottle_target")
    if target is not None and (not isinstance(target, int | float) or not 0 < target <= 8):
        raise fail("politeness", "autothrottle_target must be a number above 0, at most 8")
    max_size = value.get("max_size")
    if max_size is not None and (
        not isinstance(max_size, int) or isinstance(max_size, bool) or max_size < _MIN_MAX_SIZE
    ):
        raise fail(
            "politeness", f"max_size must be a whole number of bytes, at least {_MIN_MAX_SIZE}"
        )
    return Politeness(
        delay=float(delay) if delay is not None else None,
        concurrency=concurrency,
        autothrottle_target=float(target) if target is not None else None,
        max_size=max_size,
    )


def compile_cleanup_rule(rule: str) -> str:
    """The XPath for a cleanup rule: XPath as given, CSS selectors translated.

    Rules starting with '/', '(' or './/' are XPath; anything else is CSS.
    """
    from lxml import etree  # lxml is a core dependency; imported here to keep start-up light

    if rule.startswith(("/", "(", "./")):
        xpath = rule
    else:
        try:
            from cssselect import GenericTranslator, SelectorError

            xpath = GenericTranslator().css_to_xpath(rule, prefix="//")
        except SelectorError as e:
            raise ValueError(f"not a valid CSS selector: {e}") from None
    try:
        etree.XPath(xpath)
    except etree.XPathSyntaxError as e:
        raise ValueError(f"not a valid XPath expression: {e}") from None
    return xpath


# The sites files a crawl used, kept in its data directory: later commands on the same
# archive (reextract, sites suggest) read the same registry without --sites.
SITES_RECORD = "sites-files.txt"


def record_sites_files(data_dir: Path, files: Iterable[Path]) -> None:
    """Add files to the data directory's record (earlier crawls' files stay first)."""
    known = [str(p) for p in recorded_sites_files(data_dir, missing=lambda _: None)]
    for path in files:
        resolved = str(Path(path).resolve())
        if resolved not in known:
            known.append(resolved)
    if known:
        (data_dir / SITES_RECORD).write_text("".join(f"{p}\n" for p in known), encoding="utf-8")


def recorded_sites_files(
    data_dir: Path | None, missing: Callable[[Path], None] | None = None
) -> list[Path]:
    """The sites files crawls into data_dir used; ``missing`` hears of each one gone since."""
    record = data_dir / SITES_RECORD if data_dir is not None else None
    if record is None or not record.is_file():
        return []
    found = []
    for line in record.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        path = Path(line.strip())
        if path.is_file():
            found.append(path)
        elif missing is not None:
            missing(path)
    return found
