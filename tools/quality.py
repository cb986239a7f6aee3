"""Extraction quality: arshif's extractor beside plain trafilatura, on pages with known answers.

    python tools/quality.py            (or: make quality)

Page sets: "golden", the five seed pages against tests/golden/gold.json; and
"mirror", every mirror article against tests/golden/mirror-truth.json. Text is
scored at the word level (bag of words, with repeats): precision is the share
of extracted words that belong to the article, recall the share of the
article's words extracted, F1 their harmonic mean, summed over the pages.
Titles and dates are scored as exact matches (dates on the day). Plain
trafilatura runs with its default settings (fallbacks on) and its own title
and date metadata.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import trafilatura

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.discover.sites import load_registry  # noqa: E402
from archive.extract.article import extract_article  # noqa: E402
from mirror import BUNDLED, EXTRA_SITES  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"


def words(text: str | None) -> Counter[str]:
    return Counter((text or "").split())


class Score:
    def __init__(self) -> None:
        self.tp = self.extracted = self.expected = 0
        self.pages = self.exact = self.titles = self.dates = 0

    def add(self, text: str | None, title: str | None, date: str | None, truth: dict) -> None:
        got, want = words(text), words(" ".join(truth["text_paragraphs"]))
        self.tp += sum((got & want).values())
        self.extracted += sum(got.values())
        self.expected += sum(want.values())
        self.pages += 1
        self.exact += " ".join((text or "").split()) == " ".join(
            " ".join(truth["text_paragraphs"]).split()
        )
        self.titles += (title or "").strip() == truth["title"]
        self.dates += (date or "")[:10] == truth["published"]

    def row(self) -> tuple[float, float, float, str, str, str]:
        p = self.tp / self.extracted if self.extracted else 0.0
        r = self.tp / self.expected if self.expected else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        n = self.pages
        return p, r, f, f"{self.exact}/{n}", f"{self.titles}/{n}", f"{self.dates}/{n}"


def plain(body: bytes, url: str) -> tuple[str | None, str | None, str | None]:
    doc = trafilatura.bare_extraction(body, url=url, with_metadata=True)
    if doc is None:
        return None, None, None
    return doc.text, doc.title, doc.date


FETCHED = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)  # the date table's "now", for relative dates


def date_pages() -> list[tuple[dict, dict]]:
    """One small article page per row of the date table (tests/test_dates.py), its date line
    under the title, as a regional news site prints it."""
    from tests.test_dates import CASES

    body_text = [
        "قالت وزارة الخارجية في بيان إن المحادثات بين الجانبين ستستأنف الأسبوع المقبل في العاصمة.",
        "وأضاف البيان أن الوفدين اتفقا على تشكيل لجان فنية لمتابعة الملفات العالقة بينهما.",
    ] * 3
    pages = []
    for n, (line, expected, _kind, _calendar) in enumerate(CASES):
        title = f"المحادثات تستأنف الأسبوع المقبل في جولة جديدة رقم {n}"
        html = (
            f'<html lang="ar"><head><title>{title} - موقع الأخبار</title></head><body>'
            f'<article><h1>{title}</h1><div class="article-date">{line}</div>'
            + "".join(f"<p>{p}</p>" for p in body_text)
            + "</article></body></html>"
        )
        entry = {"url": f"https://news.example/a/{n}", "body": html.encode()}
        truth = {
            "title": title,
            "published": expected[:10],
            "text_paragraphs": body_text,
            "kind": _kind,
        }
        pages.append((entry, truth))
    return pages


def main() -> int:
    registry = load_registry(EXTRA_SITES)
    gold = json.loads((GOLDEN / "gold.json").read_text(encoding="utf-8"))
    truth = json.loads((GOLDEN / "mirror-truth.json").read_text(encoding="utf-8"))
    seeds = [
        (t, {**gold[t["seed"]], "published": gold[t["seed"]]["published"]})
        for t in truth
        if t["seed"]
    ]
    sets = {"golden": seeds, "mirror": [(t, t) for t in truth], "dates": date_pages()}
    results: dict[str, dict[str, Score]] = {}
    for name, pages in sets.items():
        ours, theirs = Score(), Score()
        for entry, expected in pages:
            body = entry.get("body") or (BUNDLED / entry["file"]).read_bytes()
            site = registry[entry["site"]] if entry.get("site") else None
            record = extract_article(
                body, entry["url"], site, content_type="text/html", fetched=FETCHED
            )
            # A line labelled as an update ("آخر تحديث") is the modified date.
            date = record.modified if expected.get("kind") == "modified" else record.published
            ours.add(record.text, record.title, date, expected)
            theirs.add(*plain(body, entry["url"]), expected)
        results[name] = {"arshif": ours, "trafilatura": theirs}

    widths = [8, 12, 9, 7, 6, 11, 8, 8]

    def line(cells: list[str]) -> str:
        padded = zip(cells, widths, strict=True)
        return " ".join(f"{c:<{w}}" if i < 2 else f"{c:>{w}}" for i, (c, w) in enumerate(padded))

    print(
        line(["pages", "extractor", "precision", "recall", "F1", "exact text", "titles", "dates"])
    )
    ok = True
    for name, scores in results.items():
        for extractor, score in scores.items():
            p, r, f, exact, titles, dates = score.row()
            print(line([name, extractor, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", exact, titles, dates]))
        ours_f, theirs_f = scores["arshif"].row()[2], scores["trafilatura"].row()[2]
        ok &= ours_f >= theirs_f and (name != "mirror" or ours_f > theirs_f)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
