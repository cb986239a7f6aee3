"""WACZ export: the archive's WARC files packaged for ReplayWeb.page and pywb.

A WACZ (Web Archive Collection Zipped, 1.1.1) is a zip holding the WARC files
under ``archive/``, a CDXJ index under ``indexes/`` (written by Webrecorder's
cdxj-indexer), the pages a viewer lists under ``pages/pages.jsonl`` (here:
every archived article, with its title), and ``datapackage.json`` naming each
file with its SHA-256, plus ``datapackage-digest.json`` fixing that file.
WARC files are stored, not deflated again: each record is gzipped already.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cdxj_indexer.main import write_cdx_index

from archive import __version__
from archive.store.db import open_read_only
from archive.store.reextract import warc_files
from archive.store.writer import DB_NAME, WARC_DIR

WACZ_VERSION = "1.1.1"


@dataclass(frozen=True)
class WaczSummary:
    path: Path
    warc_files: int
    pages: int
    index_lines: int
    bytes: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def _pages(data_dir: Path, site: str | None) -> list[dict[str, str]]:
    with closing(open_read_only(data_dir / DB_NAME)) as db:
        sql = "SELECT fetched_url, fetched, title FROM articles"
        rows = db.execute(
            sql + (" WHERE site = ?" if site else "") + " ORDER BY id", [site] if site else []
        )
        return [
            {"id": f"p{n}", "url": url, "ts": _warc_ts(fetched), "title": title or url}
            for n, (url, fetched, title) in enumerate(rows)
        ]


def _warc_ts(value: str) -> str:
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def export_wacz(
    data_dir: str | Path,
    output: str | Path,
    *,
    site: str | None = None,
    title: str | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> WaczSummary:
    data_dir, output = Path(data_dir), Path(output)
    files = warc_files(data_dir, site)
    if not files:
        raise FileNotFoundError(
            f"no WARC files in {data_dir / WARC_DIR}" + (f" for site {site}" if site else "")
        )
    index = io.StringIO()
    # Only what replays: our metadata records share their page's URL and time,
    # and a replay tool would otherwise show the extraction JSON for the page.
    options = {
        "sort": True,
        "dir_root": str(data_dir / WARC_DIR),
        "records": "response,revisit,resource",
    }
    write_cdx_index(index, [str(p) for p in files], options)
    pages = _pages(data_dir, site)
    pages_jsonl = (
        "\n".join(
            [json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "Archived articles"})]
            + [json.dumps(p, ensure_ascii=False) for p in pages]
        )
        + "\n"
    )
    members: list[tuple[str, bytes | Path]] = [
        *((f"archive/{p.name}", p) for p in files),
        # CDXJ lines; named .cdx as py-wacz does, which is what pywb looks for.
        ("indexes/index.cdx", index.getvalue().encode("utf-8")),
        ("pages/pages.jsonl", pages_jsonl.encode("utf-8")),
    ]
    resources = []
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")  # never a half-written .wacz
    with zipfile.ZipFile(partial, "w", allowZip64=True) as z:
        for name, content in members:
            if isinstance(content, Path):
                z.write(content, name, compress_type=zipfile.ZIP_STORED)
                resources.append({"name": content.name, "path": name, "hash": _sha256(content),
                                  "bytes": content.stat().st_size})  # fmt: skip
                if on_file is not None:
                    on_file(content)
            else:
                z.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED)
                resources.append({"name": Path(name).name, "path": name,
                                  "hash": "sha256:" + hashlib.sha256(content).hexdigest(),
                                  "bytes": len(content)})  # fmt: skip
        package = {
            "profile": "data-package",
            "wacz_version": WACZ_VERSION,
            "title": title or "arshif archive" + (f": {site}" if site else ""),
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "software": f"arshif {__version__}",
            "resources": resources,
        }
        package_bytes = json.dumps(package, ensure_ascii=False, indent=2).encode("utf-8")
        z.writestr("datapackage.json", package_bytes)
        digest = {
            "path": "datapackage.json",
            "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest(),
        }
        z.writestr("datapackage-digest.json", json.dumps(digest))
    partial.replace(output)
    return WaczSummary(
        path=output,
        warc_files=len(files),
        pages=len(pages),
        index_lines=index.getvalue().count("\n"),
        bytes=output.stat().st_size,
    )
