"""Spiders are not modules here: one is built per registered site (see crawler.spiderloader)."""
