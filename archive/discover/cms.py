"""Which CMS a news site runs, from its home page, headers and robots.txt, and why.

The answer picks a registry preset (``wordpress``, ``drupal``, ``generic``),
so it only has to tell the CMSs that have one from the rest. Each clue is
weighed and named, so ``arshif add-site`` can say what it saw: a wrong guess
is then easy to spot and to correct by hand in the proposed entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message

# CMS -> the registry preset its sites start from.
PRESETS = {
    "WordPress": "wordpress",
    "Drupal": "drupal",
    "Joomla": "generic",
    "ASP.NET WebForms": "generic",
}

# (CMS, weight, why, pattern searched in the page's HTML). A generator meta tag
# is the site saying so; the rest are traces its templates leave.
_META = re.compile(r"<meta\b[^>]*>", re.I)
_GENERATOR = re.compile(r"""name\s*=\s*["']?generator\b""", re.I)
_HTML_CLUES: list[tuple[str, int, str, re.Pattern[str]]] = [
    (cms, weight, why, re.compile(pattern, re.I))
    for cms, weight, why, pattern in [
        ("WordPress", 3, "links its /wp-json/ API", r"/wp-json/|api\.w\.org"),
        ("WordPress", 2, "loads files from wp-content/wp-includes", r"/wp-(?:content|includes)/"),
        # Jannah (TieLabs) is a WordPress theme many Arabic news sites use.
        (
            "WordPress",
            3,
            "uses the Jannah theme (a WordPress theme)",
            r"""(?:href|src|class)\s*=\s*["'][^"']*jannah""",
        ),
        ("WordPress", 1, "has TieLabs theme classes", r"\btie-(?:container|wrapper)\b"),
        ("WordPress", 1, "links ?p=N short links", r"""href=["'][^"']*/\?p=\d+["']"""),
        (
            "Drupal",
            3,
            "has Drupal.settings / drupal.js",
            r"Drupal\.settings|drupal\.js|data-drupal-",
        ),
        (
            "Drupal",
            2,
            "links /node/N pages",
            r"""href=["'](?:https?://[^/"']+)?(?:/[a-z]{2})?/node/\d+/?["']""",
        ),
        (
            "Drupal",
            1,
            "loads files from sites/default/files",
            r"/sites/(?:default|all)/(?:files|themes|modules)/",
        ),
        (
            "Joomla",
            3,
            "loads Joomla's media/system or com_content",
            r"/media/system/js/|option=com_content|/media/jui/",
        ),
        ("ASP.NET WebForms", 4, "has __VIEWSTATE / aspnetForm", r"__VIEWSTATE|aspnetForm"),
        ("ASP.NET WebForms", 1, "links .aspx pages", r"""href=["'][^"']+\.aspx\b"""),
    ]
]

_HEADER_CLUES: list[tuple[str, int, str, str, re.Pattern[str]]] = [
    ("Drupal", 5, "X-Generator header says Drupal", "X-Generator", re.compile("drupal", re.I)),
    ("WordPress", 4, "Link header names the WordPress API", "Link", re.compile(r"api\.w\.org")),
    ("Drupal", 3, "X-Drupal-Cache header", "X-Drupal-Cache", re.compile(".")),
    ("ASP.NET WebForms", 2, "X-AspNet-Version header", "X-AspNet-Version", re.compile(".")),
]

_ROBOTS_CLUES: list[tuple[str, int, str, re.Pattern[str]]] = [
    ("WordPress", 2, "robots.txt disallows /wp-admin/", re.compile(r"/wp-admin/")),
    ("Drupal", 2, "robots.txt disallows /node/add/", re.compile(r"/node/add/")),
]


@dataclass
class Detection:
    """The CMS found (None: none recognised), the preset it maps to, and the clues."""

    cms: str | None = None
    reasons: list[str] = field(default_factory=list)
    scores: dict[str, int] = field(default_factory=dict)

    @property
    def preset(self) -> str:
        return PRESETS.get(self.cms or "", "generic")

    def add(self, cms: str, weight: int, reason: str) -> None:
        self.scores[cms] = self.scores.get(cms, 0) + weight
        self.reasons.append(f"{cms}: {reason}")

    def decide(self) -> Detection:
        if self.scores:
            # Ties go to the CMS listed first in PRESETS: the one with a richer preset.
            order = list(PRESETS)
            self.cms = max(self.scores, key=lambda c: (self.scores[c], -order.index(c)))
        return self

    def summary(self) -> str:
        if self.cms is None:
            return "none recognised (generic preset)"
        why = "; ".join(r.split(": ", 1)[1] for r in self.reasons if r.startswith(self.cms + ":"))
        return f"{self.cms} → preset '{self.preset}' ({why})"


def detect_cms(
    html: str,
    headers: Mapping[str, str] | Message | None = None,
    robots: str = "",
    wp_sitemap: bool = False,
) -> Detection:
    """Weigh every clue in a page's HTML, its response headers and robots.txt.

    ``wp_sitemap``: the site answered ``/wp-sitemap.xml`` with a sitemap, which
    only WordPress (5.5 and later) serves at that path.
    """
    found = Detection()
    # Header names are case-insensitive (HTTP/2 sends them lowercased); a repeated
    # header's values are one comma-separated list.
    named: dict[str, str] = {}
    for name, value in (headers or {}).items():
        key = name.lower()
        named[key] = f"{named[key]}, {value}" if key in named else value
    for meta in _META.findall(html):
        if _GENERATOR.search(meta):
            for cms in ("WordPress", "Drupal", "Joomla"):
                if cms.lower() in meta.lower():
                    found.add(cms, 5, f"generator meta says {cms}")
    for cms, weight, reason, pattern in _HTML_CLUES:
        if pattern.search(html):
            found.add(cms, weight, reason)
    for cms, weight, reason, name, pattern in _HEADER_CLUES:
        value = named.get(name.lower())
        if value and pattern.search(value):
            found.add(cms, weight, reason)
    for cms, weight, reason, pattern in _ROBOTS_CLUES:
        if pattern.search(robots):
            found.add(cms, weight, reason)
    if wp_sitemap:
        found.add("WordPress", 3, "serves /wp-sitemap.xml")
    return found.decide()
