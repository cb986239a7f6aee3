"""Where article URLs come from: the site registry, URL rules, feeds, sitemaps and
listings, page classification, and proposing a new site's entry (add-site)."""
