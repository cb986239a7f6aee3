"""Redirects that lead nowhere: a loop, or more hops than Scrapy follows.

Scrapy's RedirectMiddleware gives up on too many hops with an IgnoreRequest,
the answer a robots.txt refusal gets, and a loop (A -> B -> A) ends quietly
when the scheduler drops A the second time as a duplicate request: either way
the page is lost and the run said ok. Here both are a ``redirect-loop``
outcome on the last hop's captures row, counted as an error of the run.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest

from crawler.middlewares import record_outcome

logger = logging.getLogger(__name__)


class LoopAwareRedirectMiddleware(RedirectMiddleware):
    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if redirected.url in chain:
            self._lost(request, f"redirect loop: {' -> '.join([*chain, redirected.url])}")
        hops = request.meta.get("redirect_times", 0) + 1
        if hops > self.max_redirect_times:
            self._lost(request, f"more than {self.max_redirect_times} redirects from {chain[0]}")
        return super()._redirect(redirected, request, reason)

    def _lost(self, request: Request, detail: str) -> None:
        name = self.crawler.spider.name if self.crawler.spider else "?"
        logger.warning("%s: %s: redirect-loop: %s", name, request.url, detail)
        record_outcome(self.crawler, request.meta.get("arshif_capture_id"), "redirect-loop", detail)
        raise IgnoreRequest(detail)
