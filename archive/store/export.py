"""Exporting articles for researchers who take the text elsewhere: JSON lines, CSV, Parquet."""

from __future__ import annotations

import csv
import functools
import json
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from archive.store.db import open_read_only
from archive.store.writer import DB_NAME

FORMATS = ("jsonl", "csv", "parquet")
COLUMNS = (
    "id", "url", "site", "title", "text", "published", "modified", "language", "category",
    "authors", "tags", "word_count", "versions", "duplicate_group", "fetched", "warc_filename",
    "warc_offset", "payload_digest",
)  # fmt: skip
_JSON_LISTS = ("authors", "tags")


def _where(site: str | None, since: str | None, until: str | None) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if site:
        where.append("site = ?")
        params.append(site)
    if since:
        where.append("published >= ?")
        params.append(since)
    if until:
        # published is ISO 8601: an 'until' day includes that whole day.
        where.append("substr(published, 1, ?) <= ?")
        params += [len(until), until]
    return (" WHERE " + " AND ".join(where) if where else ""), params


def count(data_dir: Path, site: str | None, since: str | None, until: str | None) -> int:
    """How many articles rows() yields with the same filters."""
    where, params = _where(site, since, until)
    db = open_read_only(data_dir / DB_NAME)
    try:
        return db.execute(f"SELECT count(*) FROM articles{where}", params).fetchone()[0]
    finally:
        db.close()


def rows(
    data_dir: Path, site: str | None, since: str | None, until: str | None
) -> Iterator[dict[str, Any]]:
    """Articles in publication order, filtered; streamed, so memory stays flat."""
    where, params = _where(site, since, until)
    sql = f"SELECT {', '.join(COLUMNS)} FROM articles{where} ORDER BY published, id"
    db = open_read_only(data_dir / DB_NAME)
    db.row_factory = sqlite3.Row
    try:
        for row in db.execute(sql, params):
            record = dict(row)
            for name in _JSON_LISTS:
                record[name] = json.loads(record[name]) if record[name] else []
            yield record
    finally:
        db.close()


def write_jsonl(records: Iterator[dict[str, Any]], out: TextIO) -> int:
    count = 0
    for count, record in enumerate(records, start=1):  # noqa: B007
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return count


def write_csv(records: Iterator[dict[str, Any]], out: TextIO, bom: bool = False) -> int:
    if bom:  # Excel reads a CSV without it in the locale's code page, garbling Arabic
        out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    count = 0
    for count, record in enumerate(records, start=1):  # noqa: B007
        writer.writerow({k: "; ".join(v) if isinstance(v, list) else v for k, v in record.items()})
    return count


def write_parquet(records: Iterator[dict[str, Any]], path: Path, batch: int = 5000) -> int:
    import pyarrow as pa  # only this format needs it
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            (
                c,
                pa.list_(pa.string())
                if c in _JSON_LISTS
                else pa.int64()
                if c in _INTS
                else pa.string(),
            )
            for c in COLUMNS
        ]
    )
    count, chunk = 0, []
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for record in records:
            chunk.append(record)
            count += 1
            if len(chunk) == batch:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                chunk = []
        if chunk or count == 0:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
    return count


_INTS = ("id", "word_count", "versions", "duplicate_group", "warc_offset")


def _counted(
    records: Iterator[dict[str, Any]], on_row: Callable[[int], None]
) -> Iterator[dict[str, Any]]:
    for record in records:
        yield record
        on_row(1)


def export(
    data_dir: str | Path,
    fmt: str,
    output: str | Path | None = None,
    *,
    site: str | None = None,
    since: str | None = None,
    until: str | None = None,
    bom: bool = False,
    on_row: Callable[[int], None] | None = None,
) -> int:
    """Write the selected articles in fmt to output (stdout for jsonl and csv); returns how many.

    bom: start a CSV with the UTF-8 byte order mark, for Excel. on_row is called
    with 1 for each article as it is read.
    """
    data_dir = Path(data_dir)
    records = rows(data_dir, site, since, until)
    if on_row is not None:
        records = _counted(records, on_row)
    if fmt == "parquet":
        if output is None:
            raise ValueError("parquet needs an output file (-o)")
        return write_parquet(records, Path(output))
    writer = functools.partial(write_csv, bom=bom) if fmt == "csv" else write_jsonl
    if output is None:
        return writer(records, sys.stdout)
    with Path(output).open("w", encoding="utf-8", newline="") as out:
        return writer(records, out)
