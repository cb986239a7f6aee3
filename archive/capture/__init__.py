"""Capturing responses: the WARC writer and the crawl lock."""
