"""The SQLite archive: schema and migrations, the one writer, search, export,
verification, WACZ, and re-extraction from WARC."""
