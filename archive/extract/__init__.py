"""From an article page's bytes to an article record: decoding, metadata, furniture
removal, dates, and the one call to trafilatura (``article.extract_article``)."""
