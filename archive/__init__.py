"""arshif's archive library: sites, URLs, discovery, WARC, database, extraction.

Nothing here imports Scrapy or Twisted, so an archive can be read, checked and
rebuilt from its WARC files on a machine with no crawler installed.
"""

from __future__ import annotations

__version__ = "0.1.0"
