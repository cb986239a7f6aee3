"""Scrapy settings for arshif. Everything arshif adds is prefixed ARSHIF_.

Politeness is the default, not an option: robots.txt obeyed, an honest
User-Agent with the operator's contact, AutoThrottle, at most two concurrent
requests per domain, retries that back off and honour Retry-After.
"""

from __future__ import annotations

import os

from archive import user_agent

BOT_NAME = "arshif"
SPIDER_LOADER_CLASS = "crawler.spiderloader.SiteSpiderLoader"
SPIDER_MODULES: list[str] = []

# -- arshif ------------------------------------------------------------------
# Extra sites files (os.pathsep-separated), merged over the bundled registry.
ARSHIF_SITES = os.environ.get("ARSHIF_SITES", "")
# The archive: archive.db and warc/ live here.
ARSHIF_DATA_DIR = os.environ.get("ARSHIF_DATA_DIR", "data")
# Who runs this crawler, for the User-Agent and the WARC warcinfo record.
ARSHIF_CONTACT = os.environ.get("ARSHIF_CONTACT", "")
ARSHIF_WARC_MAX_SIZE = 1_000_000_000
# Articles younger than this (by publication, else first fetch) are fetched once
# more on a later run, to catch the corrections of a story's first hours.
ARSHIF_RECHECK_HOURS = 48
# Unknown same-site links (no article, listing or exclude rule matches) fetched
# per site and run on generic sites and sites without article rules, and
# classified by what the page declares (0: never). A site's probe_budget wins.
ARSHIF_PROBE_BUDGET = os.environ.get("ARSHIF_PROBE_BUDGET", "200")
# Back-off between retries: base * 2**attempt seconds, at most ARSHIF_RETRY_MAX_DELAY.
ARSHIF_RETRY_BACKOFF = 1.0
ARSHIF_RETRY_MAX_DELAY = 120.0
# The longest Retry-After honoured. A site that asks for more is deferred: the
# rest of it waits for the next run instead of holding this one (Retry-After:
# 100000 once held a run for ten minutes).
ARSHIF_RETRY_AFTER_MAX = 300.0
# Decoded HTML beyond this many characters is recorded too-large and never parsed:
# trafilatura on a page of megabytes would stall every site crawled alongside.
ARSHIF_EXTRACT_MAX_SIZE = 5_000_000
# Worker processes that extract pages while the crawl process downloads and stores
# ("": one per core; 0: extraction runs in the crawl process, on the reactor thread).
ARSHIF_EXTRACT_WORKERS = os.environ.get("ARSHIF_EXTRACT_WORKERS", "")
# Seconds one page's extraction may take before its worker is killed and the page
# recorded extract-timeout (0: no bound). Needs workers: in process, nothing can stop it.
ARSHIF_EXTRACT_TIMEOUT = 60.0
# Seconds extractions in flight get to finish once a run stops (SIGTERM, a full disk);
# the rest are recorded extract-interrupted for reextract. One SIGTERM ends a run in 30 s.
ARSHIF_EXTRACT_SHUTDOWN_GRACE = 10.0
# Seconds a run that has decided to stop (a full disk, SIGTERM) may take to end; past
# them the process records each run as it stands and ends anyway (0: wait for ever).
ARSHIF_STOP_TIMEOUT = 30.0
# Bytes kept in DATA/EMERGENCY_BALLAST while crawling and deleted when the disk refuses
# a write, so a full disk still lets the run end `failed` with its cause (0: none).
ARSHIF_DISK_RESERVE = 1 << 20
# Test-only: seconds a worker sleeps before extracting a page whose URL matches
# ARSHIF_EXTRACT_TEST_DELAY_URLS (a regex; empty: every page). Never set it for a crawl.
ARSHIF_EXTRACT_TEST_DELAY = 0.0
ARSHIF_EXTRACT_TEST_DELAY_URLS = ""
# Seconds between the progress lines `arshif crawl` prints per site when stderr is
# no terminal (a terminal gets a live line). 0 here: `scrapy crawl` logs to stderr
# already; `arshif crawl` sets 60 when the log goes to a file.
ARSHIF_PROGRESS_INTERVAL = os.environ.get("ARSHIF_PROGRESS_INTERVAL", "0")

# The cluster's Redis (`arshif crawl --redis URL`); empty: archive.db, as always.
ARSHIF_REDIS_URL = ""

# Seconds per stage in the stats (crawler/timing.py); with a file, each spider's
# stats are written there as a JSON line when it closes (make bench-crawl).
ARSHIF_STAGE_TIMES = True
ARSHIF_STATS_FILE = os.environ.get("ARSHIF_STATS_FILE", "")

USER_AGENT = user_agent(ARSHIF_CONTACT)

# -- politeness --------------------------------------------------------------
ROBOTSTXT_OBEY = True
ROBOTSTXT_PARSER = "crawler.robots.SitemapAwareRobotParser"
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [408, 429, 500, 502, 503, 504, 522, 524]
DOWNLOAD_TIMEOUT = 30
# Scrapy's 1 GB default let a gzip bomb (1.1 MB on the wire) inflate to 1.13 GB of
# memory. The cap also bounds decompressed bodies (HttpCompressionMiddleware stops
# inflating at it); a site's politeness.max_size may raise it.
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
DNS_TIMEOUT = 10
# Bytes of response bodies a site may have waiting in the crawl process (for its
# callback, extraction or storage) before its downloads pause. Scrapy's 5 MB counts
# bodies alone, but a page held costs about three times its body (the text Scrapy
# decodes for meta refresh, 2 bytes a character, besides the bytes): at real weight,
# 20 to 30 pages a site and 70 MB for four sites, waiting with no gain in speed.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 1_000_000
COOKIES_ENABLED = False
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "ar,en;q=0.5",
}

# -- components --------------------------------------------------------------
# A failed write of the on-disk request queue stops the run, as a full disk must.
SCHEDULER = "crawler.scheduler.StorageAwareScheduler"

DOWNLOADER_MIDDLEWARES = {
    # Above HttpCompressionMiddleware (590), RedirectMiddleware (600) and
    # RetryMiddleware (550): sees every response as it came off the wire,
    # still compressed, redirects and errors included.
    "crawler.middlewares.WarcCaptureMiddleware": 950,
    # Scrapy's decompression, in its place, with a bomb recorded as too-large.
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.middlewares.BoundedCompressionMiddleware": 590,
    # Scrapy's redirects, in their place, with a loop recorded instead of dropped.
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.redirects.LoopAwareRedirectMiddleware": 600,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
}
ITEM_PIPELINES = {
    "crawler.pipelines.ExtractPipeline": 300,
    "crawler.pipelines.ArchivePipeline": 800,
}
SPIDER_MIDDLEWARES = {
    # Cluster workers only (ARSHIF_REDIS_URL): marks a request done in the Redis frontier.
    "crawler.frontier.InflightDone": 10,
}
EXTENSIONS = {
    "crawler.extensions.RunRecorder": 100,
    "crawler.failure.DiskReserve": 150,
    "crawler.extensions.Progress": 200,
    "crawler.extensions.ContactWarning": 300,
    "crawler.timing.StageTimes": 400,
    # Both listen on a port: an unattended archive crawler needs neither.
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
}

LOG_LEVEL = os.environ.get("ARSHIF_LOG_LEVEL", "INFO")
FEED_EXPORT_ENCODING = "utf-8"
