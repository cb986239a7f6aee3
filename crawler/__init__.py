"""arshif's Scrapy project: one spider per registered site, WARC capture, archive pipelines."""
