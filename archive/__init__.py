"""arshif's archive library: sites, URLs, discovery, WARC, database, extraction.

Nothing here imports Scrapy or Twisted, so an archive can be read, checked and
rebuilt from its WARC files on a machine with no crawler installed.
"""

from __future__ import annotations

__version__ = "0.1.0"


def user_agent(contact: str = "") -> str:
    """The User-Agent every arshif request sends: the crawl's and add-site's alike, so a
    site operator sees one honest name with a way to reach whoever runs it."""
    who = contact or "contact unset: set ARSHIF_CONTACT"
    return f"arshif/{__version__} (news archive crawler; +{who})"
