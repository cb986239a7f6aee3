"""Spiders from the site registry: one NewsSpider subclass per registered site.

Scrapy asks its spider loader for names (``scrapy list``) and classes
(``scrapy crawl KEY``). This loader builds them from the registry, so a site
added in a user's sites file is a spider with no code. Configuration errors
surface as ``UsageError``, which Scrapy prints as one line instead of a
traceback.
"""

from __future__ import annotations

from typing import Any, Self

from scrapy import Request
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings

from archive.discover.sites import Registry, SiteConfigError, load_registry
from archive.store.writer import DataDirError, check_data_dir
from crawler.spiders.news import NewsSpider, spider_class_for


class SiteSpiderLoader:
    def __init__(self, settings: BaseSettings) -> None:
        self.settings = settings
        self._registry: Registry | None = None
        self._spiders: dict[str, type[NewsSpider]] = {}

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        return cls(settings)

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            extra: Any = self.settings.get("ARSHIF_SITES") or None
            if isinstance(extra, list | tuple):
                extra = [p for p in extra if p]
            try:
                self._registry = load_registry(extra)
            except SiteConfigError as e:
                raise UsageError(str(e), print_help=False) from None
            self._spiders = {key: spider_class_for(site) for key, site in self._registry.items()}
        return self._registry

    def load(self, spider_name: str) -> type[NewsSpider]:
        try:
            self.registry.select([spider_name])
        except SiteConfigError as e:
            raise UsageError(str(e), print_help=False) from None
        try:
            check_data_dir(self.settings.get("ARSHIF_DATA_DIR"))
        except DataDirError as e:
            raise UsageError(str(e), print_help=False) from None
        return self._spiders[spider_name]

    def list(self) -> list[str]:
        return list(self.registry)

    def find_by_request(self, request: Request) -> list[str]:
        site = self.registry.site_for_url(request.url)
        return [site.key] if site else []
