"""The cluster: several machines crawl, one ingest writes archive.db (``--redis``).

Redis holds what the machines share: the due sites and their leases, each site's
frontier (scrapy-redis), the stream of rows for the one writer, and the known-URL
state that incremental crawling asks. This package imports redis-py, never Scrapy.
"""
