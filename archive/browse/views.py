"""The plugin's own pages: an article's original page from its WARC record, and the dashboard."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from datasette.utils.asgi import NotFound, Response
from warcio.archiveiterator import ArchiveIterator

from archive.store.writer import WARC_DIR

# The archived page runs nothing and loads nothing: no scripts, no requests.
SANDBOX = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"


def read_response(warc_path: Path, offset: int) -> tuple[bytes, str | None, str | None]:
    """(payload as stored, Content-Type, Content-Encoding) of the response record at offset."""
    with warc_path.open("rb") as f:
        f.seek(offset)
        record = next(iter(ArchiveIterator(f)))
        if record.rec_type != "response":
            raise ValueError(f"{warc_path.name}@{offset} is a {record.rec_type} record")
        payload = record.raw_stream.read()
        headers = record.http_headers
        return payload, headers.get_header("Content-Type"), headers.get_header("Content-Encoding")


async def original(datasette: Any, request: Any) -> Response:
    name = request.url_vars["database"]
    try:
        db = datasette.get_database(name)
    except KeyError:
        raise NotFound(f"no database {name}") from None
    row = (
        await db.execute(
            "SELECT warc_filename, warc_offset FROM articles WHERE id = ?",
            [int(request.url_vars["id"])],
        )
    ).first()
    if row is None or not db.path:
        raise NotFound("no such article")
    warc = Path(db.path).parent / WARC_DIR / Path(row["warc_filename"]).name
    if not warc.is_file():
        raise NotFound(f"WARC file {row['warc_filename']} is missing")
    payload, content_type, encoding = read_response(warc, row["warc_offset"])
    headers = {
        "Content-Security-Policy": SANDBOX,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, max-age=3600",
    }
    if encoding:
        headers["Content-Encoding"] = encoding  # the bytes stay as captured; the browser decodes
    return Response(payload, status=200, headers=headers, content_type=content_type or "text/html")


async def dashboard(datasette: Any, request: Any) -> Response:
    from archive.browse import _archive_names

    names = _archive_names(datasette)
    if not names:
        raise NotFound("no arshif archive is open")
    db = datasette.get_database(names[0])
    # ?days=N: only the last N days of publication dates the archive holds (default: all).
    days = request.args.get("days", "")
    window = (
        f" WHERE published >= (SELECT date(max(substr(published, 1, 10)), '-{int(days)} days')"
        " FROM articles)"
        if days.isdigit()
        else " WHERE published IS NOT NULL"
    )
    per_day = (
        await db.execute(
            "SELECT substr(published, 1, 10) AS day, site, count(*) AS n FROM articles"
            f"{window} GROUP BY day, site ORDER BY day"
        )
    ).rows
    runs = (
        await db.execute(
            "SELECT id, site, started, finished, status, requests, responses, articles, errors"
            " FROM crawl_runs ORDER BY id DESC LIMIT 20"
        )
    ).rows
    errors = (
        await db.execute(
            "SELECT site, coalesce("
            "   CAST(status AS TEXT), substr(error, 1, instr(error || ':', ':') - 1)"
            " ) AS problem, count(*) AS n FROM captures WHERE error IS NOT NULL OR status >= 400"
            " GROUP BY site, problem ORDER BY site, n DESC"
        )
    ).rows
    return Response.html(
        await datasette.render_template(
            "arshif_dashboard.html",
            {
                "database": names[0],
                "chart": day_chart([dict(r) for r in per_day]),
                "runs": [dict(r) for r in runs],
                "errors": [dict(r) for r in errors],
            },
            request=request,
        )
    )


_COLOURS = ["#1b7837", "#2166ac", "#b2182b", "#e08214", "#762a83", "#35978f", "#8c510a"]


def day_chart(points: list[dict[str, Any]], width: int = 760, height: int = 220) -> dict[str, Any]:
    """Articles per day per site as SVG polylines (no script, nothing fetched)."""
    if not points:
        return {"series": [], "width": width, "height": height, "days": []}
    days = sorted({p["day"] for p in points})
    first = dt.date.fromisoformat(days[0])
    span = max((dt.date.fromisoformat(days[-1]) - first).days, 1)
    top = max(p["n"] for p in points)
    series = []
    for i, site in enumerate(sorted({p["site"] for p in points})):
        counts = {p["day"]: p["n"] for p in points if p["site"] == site}
        coords = []
        for day, n in sorted(counts.items()):
            x = 40 + (width - 60) * (dt.date.fromisoformat(day) - first).days / span
            y = height - 30 - (height - 50) * n / top
            coords.append((round(x, 1), round(y, 1), day, n))
        series.append({"site": site, "colour": _COLOURS[i % len(_COLOURS)], "points": coords})
    return {
        "series": series,
        "width": width,
        "height": height,
        "days": [days[0], days[-1]],
        "top": top,
    }
