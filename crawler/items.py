"""What the spider hands the pipelines: an article page as fetched, then as extracted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archive.capture.warc import WarcPointer
from archive.extract.article import ArticleRecord


@dataclass
class ArticlePage:
    site: str
    url: str  # canonical URL (rel=canonical when the page names one on its site)
    fetched_url: str
    body: bytes = field(repr=False)  # content-decoded (gunzipped) page bytes
    content_type: str | None
    fetched: str
    warc: WarcPointer | None
    capture_id: int | None = None
    discovery: dict[str, Any] = field(default_factory=dict, repr=False)
    aliases: list[str] = field(default_factory=list)  # other URLs it was requested under
    revisit: bool = False  # the payload is identical to an earlier capture (a revisit record)
    record: ArticleRecord | None = field(default=None, repr=False)
    # (text, simhash(text)) when a worker computed it: the writer need not.
    fingerprint: tuple[str | None, int | None] | None = field(default=None, repr=False)
