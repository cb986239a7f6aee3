"""The plugin's own pages: an article's original page from its WARC record, and the dashboard."""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from pathlib import Path
from typing import Any

from datasette.utils.asgi import NotFound, Response
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archive.store.writer import WARC_DIR

log = logging.getLogger(__name__)

# The archived page runs nothing and loads nothing: no scripts, no requests.
SANDBOX = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"


class NoRecord(ValueError):
    """The row's WARC pointer leads to no response record (a bad or stale offset)."""


def read_response(warc_path: Path, offset: Any) -> tuple[bytes, str | None, str | None]:
    """(payload as stored, Content-Type, Content-Encoding) of the response record at offset.

    Raises NoRecord, one line, when offset is no record's start: not a whole number,
    negative, past the end, or inside a record (a row edited by hand, a WARC cut short).
    """
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise NoRecord(f"{warc_path.name}: offset {offset!r} is not a byte offset")
    if offset >= warc_path.stat().st_size:
        raise NoRecord(f"{warc_path.name}: offset {offset} is past the end of the file")
    with warc_path.open("rb") as f:
        f.seek(offset)
        try:
            record = next(iter(ArchiveIterator(f)))
            if record.rec_type != "response":
                raise NoRecord(f"{warc_path.name}@{offset} is a {record.rec_type} record")
            payload = record.raw_stream.read()
        except NoRecord:
            raise
        except (StopIteration, ArchiveLoadFailed, OSError, EOFError, zlib.error, ValueError):
            # warcio reads the bytes there as whatever they look like: nothing whole.
            raise NoRecord(f"{warc_path.name}: no WARC record starts at offset {offset}") from None
        headers = record.http_headers
        if headers is None:
            raise NoRecord(f"{warc_path.name}@{offset} has no HTTP headers")
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
    try:
        payload, content_type, encoding = read_response(warc, row["warc_offset"])
    except NoRecord as e:
        log.warning("%s: article %s: %s", request.path, request.url_vars["id"], e)
        raise NotFound(f"no archived page for article {request.url_vars['id']}") from None
    headers = {
        "Content-Security-Policy": SANDBOX,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, max-age=3600",
    }
    if encoding:
        headers["Content-Encoding"] = encoding  # the bytes stay as captured; the browser decodes
    return Response(payload, status=200, headers=headers, content_type=content_type or "text/html")


async def page(datasette: Any, request: Any) -> Response:
    """The original page inside a replay banner, as Wayback-style tools show it.

    The banner (capture time, WARC file and offset, links back) lives in this
    wrapper; the archived bytes stay in ``original``'s response, framed and
    sandboxed, so nothing of ours is ever injected into them.
    """
    name = request.url_vars["database"]
    try:
        db = datasette.get_database(name)
    except KeyError:
        raise NotFound(f"no database {name}") from None
    article_id = int(request.url_vars["id"])
    row = (
        await db.execute(
            "SELECT id, url, title, site, fetched, warc_filename, warc_offset FROM articles"
            " WHERE id = ?",
            [article_id],
        )
    ).first()
    if row is None:
        raise NotFound("no such article")
    html = await datasette.render_template(
        "arshif_page.html",
        {
            "database": name,
            "article": dict(row),
            "row_url": datasette.urls.row(name, "articles", str(article_id)),
            "frame_url": datasette.urls.path(f"/-/arshif/original/{name}/{article_id}"),
        },
        request=request,
    )
    # The wrapper itself needs no script and fetches only our stylesheet and the frame.
    headers = {
        "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline';"
        " img-src 'self' data:; frame-src 'self'; form-action 'self'; base-uri 'none'",
        "Referrer-Policy": "no-referrer",
    }
    return Response.html(html, headers=headers)


# Captures that are not errors of the crawl, named for what they are: robots.txt
# said no (Scrapy reports it as an IgnoreRequest), or the site answered with an
# HTTP error status (a 503 the retry got past, a 404 a listing linked to). A
# response kept but not read (too-large, deferred) is named so, not by its 200.
_REFUSED = "refused by robots.txt"
OUTCOMES_SQL = f"""
SELECT site,
  CASE
    WHEN error LIKE '%robots.txt%' THEN '{_REFUSED}'
    WHEN error LIKE 'IgnoreRequest%' THEN 'skipped by a filter'
    WHEN error LIKE 'too-large:%' THEN 'too-large'
    WHEN error LIKE 'deferred:%' THEN 'deferred'
    WHEN error LIKE 'extract-%:%' THEN substr(error, 1, instr(error, ':') - 1)
    WHEN status IS NOT NULL THEN 'HTTP ' || status
    ELSE substr(error, 1, instr(error || ':', ':') - 1)
  END AS problem,
  count(*) AS n
FROM captures WHERE error IS NOT NULL OR status >= 400
GROUP BY site, problem ORDER BY site, n DESC
"""


async def dashboard(datasette: Any, request: Any) -> Response:
    from archive.browse import _archive_names

    names = _archive_names(datasette)
    if not names:
        raise NotFound("no arshif archive is open")
    db = datasette.get_database(names[0])
    # ?days=N: only the last N days of publication dates the archive holds (default: all).
    days = request.args.get("days", "")
    window = (
        f" AND published >= (SELECT date(max(substr(published, 1, 10)), '-{int(days)} days')"
        " FROM articles WHERE published IS NOT NULL)"
        if days.isdigit()
        else ""
    )
    per_day = (
        await db.execute(
            "SELECT substr(published, 1, 10) AS day, site, count(*) AS n FROM articles"
            f" WHERE published IS NOT NULL{window} GROUP BY day, site ORDER BY day"
        )
    ).rows
    runs = (
        await db.execute(
            "SELECT id, site, started, finished, status, requests, responses, articles, errors"
            " FROM crawl_runs ORDER BY id DESC LIMIT 20"
        )
    ).rows
    # Errors per site are the runs' own figures, the one count the crawl reports.
    errors = (
        await db.execute(
            "SELECT site, sum(errors) AS n, count(*) AS runs,"
            " group_concat(nullif(error_kinds, '{}'), ' ') AS kinds"
            " FROM crawl_runs GROUP BY site ORDER BY n DESC, site"
        )
    ).rows
    outcomes = (await db.execute(OUTCOMES_SQL)).rows
    return Response.html(
        await datasette.render_template(
            "arshif_dashboard.html",
            {
                "database": names[0],
                "chart": bar_chart([dict(r) for r in per_day]),
                "runs": [dict(r) for r in runs],
                "errors": [dict(r) for r in errors],
                "outcomes": [dict(r) for r in outcomes],
            },
            request=request,
        )
    )


_COLOURS = ["#1b7837", "#2166ac", "#b2182b", "#e08214", "#762a83", "#35978f", "#8c510a"]


def _bucket(day: dt.date, unit: str) -> dt.date:
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())  # weeks start on Monday (ISO)
    if unit == "month":
        return day.replace(day=1)
    return day


def _next(start: dt.date, unit: str) -> dt.date:
    if unit == "week":
        return start + dt.timedelta(days=7)
    if unit == "month":
        return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start + dt.timedelta(days=1)


def bar_chart(
    points: list[dict[str, Any]], width: int = 900, height: int = 240, max_bars: int = 180
) -> dict[str, Any]:
    """Articles per day, week or month as stacked SVG bars, empty periods drawn as zero.

    A line through the days that have articles hides the gaps; bars over every
    period of the range show them. The period grows with the range so there are
    at most ``max_bars`` bars. No script, nothing fetched.
    """
    if not points:
        return {"bars": [], "sites": [], "width": width, "height": height}
    days = [dt.date.fromisoformat(p["day"]) for p in points]
    first, last = min(days), max(days)
    span = (last - first).days + 1
    unit = "day" if span <= max_bars else "week" if span <= max_bars * 7 else "month"
    if unit == "month" and (last.year - first.year) * 12 + last.month - first.month >= max_bars:
        unit = "year"
    sites = sorted({p["site"] for p in points})
    colour = {s: _COLOURS[i % len(_COLOURS)] for i, s in enumerate(sites)}
    counts: dict[tuple[dt.date, str], int] = {}
    for day, p in zip(days, points, strict=True):
        key = (_year(day) if unit == "year" else _bucket(day, unit), p["site"])
        counts[key] = counts.get(key, 0) + p["n"]
    periods = []
    start = _year(first) if unit == "year" else _bucket(first, unit)
    while start <= last:
        periods.append(start)
        start = start.replace(year=start.year + 1) if unit == "year" else _next(start, unit)
    totals = [sum(counts.get((d, s), 0) for s in sites) for d in periods]
    top = max(totals)
    left, bottom, plot_h = 40, height - 30, height - 50
    step = (width - left - 20) / len(periods)
    bars = []
    for start, total in zip(periods, totals, strict=True):
        x = left + step * len(bars)
        y = float(bottom)
        segments = []
        for s in sites:
            n = counts.get((start, s), 0)
            if n:
                h = plot_h * n / top
                y -= h
                segments.append({"site": s, "n": n, "y": round(y, 1), "h": round(h, 1),
                                 "colour": colour[s]})  # fmt: skip
        label = _label(start, unit)
        bars.append({"x": round(x, 1), "w": round(max(step - 1, 1), 1), "label": label,
                     "total": total, "segments": segments})  # fmt: skip
    return {
        "bars": bars,
        "sites": [{"site": s, "colour": colour[s]} for s in sites],
        "unit": unit,
        "first": _label(periods[0], unit),
        "last": _label(periods[-1], unit),
        "top": top,
        "empty": totals.count(0),
        "width": width,
        "height": height,
        "bottom": bottom,
    }


def _year(day: dt.date) -> dt.date:
    return day.replace(month=1, day=1)


def _label(start: dt.date, unit: str) -> str:
    if unit == "month":
        return start.strftime("%Y-%m")
    if unit == "year":
        return str(start.year)
    if unit == "week":
        return f"week of {start.isoformat()}"
    return start.isoformat()
