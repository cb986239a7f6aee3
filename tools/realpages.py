"""Real pages nobody here wrote: arshif's extractor beside plain trafilatura.

    python tools/realpages.py                 (make quality runs it too)
    python tools/realpages.py --floor         (exit 1 below the committed floors)
    python tools/realpages.py --worst 20      (the pages where arshif trails most)

The corpus is ``../shared/real-pages`` beside the checkout (or ``ARSHIF_REAL_PAGES``):
real pages from public extraction test suites with truth written by their
maintainers. It stays outside the project; this script only reads it.

Scores, per source and overall:
- text: word precision, recall and F1 per page (bags of lower-cased ``\\w+`` words,
  repeats counted), averaged over the pages that carry full text;
- snippets: ``with`` snippets found and ``without`` snippets leaked (whitespace-folded,
  case-sensitive substring), on the pages that carry them;
- titles: the title equal to the truth after folding whitespace and case;
- dates: the publication date right to the day.
Rows per source, for all pages, and for all but the hand-made fixtures that the
corpus marks ``synthetic`` (readability's unit tests: under 5 KB or Lorem ipsum).
Plain trafilatura runs with its default settings (fallbacks on) and its own metadata.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT.parent / "shared" / "real-pages"
_WORD = re.compile(r"\w+")
# Every page but the 37 hand-made unit fixtures of readability's suite ("synthetic").
REAL_ONLY = "all but fixtures"
_REGRESSION = 0.05  # F1 points below trafilatura that count a page as a regression

# Floors the CI check holds arshif to: issue 9's targets, which today's figures meet
# (the 310-page mean at 0.945 or more, every source at or above trafilatura), so a
# change that loses ground on real pages fails CI.
FLOORS = {
    "f1": 0.945,  # mean text F1 over the full-text pages (arshif 0.9451, trafilatura 0.9389)
    "source_gap": 0.0,  # no source's F1 below trafilatura's (readability: 0.9325 vs 0.9324)
    "real_f1": 0.951,  # the same, leaving out the hand-made fixtures (0.9516; trafilatura 0.9441)
    "max_regressions": 2,  # full-text pages more than 0.05 F1 below trafilatura
    "titles": 0.74,  # share of titles right (trafilatura: 64.6%)
}


def corpus_dir() -> Path | None:
    path = Path(os.environ.get("ARSHIF_REAL_PAGES") or DEFAULT_CORPUS)
    return path if (path / "cases.jsonl").is_file() else None


def load_cases(corpus: Path) -> list[dict[str, Any]]:
    with (corpus / "cases.jsonl").open(encoding="utf-8") as lines:
        cases = [json.loads(line) for line in lines if line.strip()]
    for case in cases:
        case["set"] = case["source"].split(":", 1)[0].split("/", 1)[1]
    return cases


def words(text: str | None) -> Counter[str]:
    return Counter(_WORD.findall((text or "").lower()))


def fold(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def prf(got: str | None, want: str) -> tuple[float, float, float]:
    g, w = words(got), words(want)
    tp = sum((g & w).values())
    p = tp / sum(g.values()) if g else 0.0
    r = tp / sum(w.values()) if w else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class Outcome:
    """One extractor's answer on one page."""

    text: str | None
    title: str | None
    date: str | None


def run_arshif(body: bytes, url: str) -> Outcome:
    from archive.extract.article import extract_article

    record = extract_article(body, url)
    return Outcome(record.text, record.title, record.published)


def run_trafilatura(body: bytes, url: str) -> Outcome:
    import trafilatura

    doc = trafilatura.bare_extraction(body, url=url or None, with_metadata=True)
    if doc is None:
        return Outcome(None, None, None)
    return Outcome(doc.text, doc.title, doc.date)


def _page(job: tuple[str, str, str, bool]) -> tuple[str, Outcome, Outcome | None]:
    corpus, file, url, with_plain = job
    body = gzip.decompress((Path(corpus) / file).read_bytes())
    ours = run_arshif(body, url)
    theirs = run_trafilatura(body, url) if with_plain else None
    return file, ours, theirs


@dataclass
class Tally:
    """Scores of one extractor over a set of pages."""

    f1: list[float] = field(default_factory=list)
    precision: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    with_found: int = 0
    with_total: int = 0
    leaks: int = 0
    without_total: int = 0
    titles: int = 0
    title_total: int = 0
    dates: int = 0
    no_date: int = 0
    date_total: int = 0

    def add(self, case: dict[str, Any], out: Outcome) -> float | None:
        f = None
        if case.get("text"):
            p, r, f = prf(out.text, case["text"])
            self.precision.append(p)
            self.recall.append(r)
            self.f1.append(f)
        text = fold(out.text)
        for snippet in case.get("with") or []:
            self.with_total += 1
            self.with_found += fold(snippet) in text
        for snippet in case.get("without") or []:
            self.without_total += 1
            self.leaks += fold(snippet) in text
        if case.get("title"):
            self.title_total += 1
            self.titles += fold(out.title).casefold() == fold(case["title"]).casefold()
        if case.get("published"):
            self.date_total += 1
            self.dates += (out.date or "")[:10] == case["published"]
            self.no_date += not out.date
        return f

    def cells(self) -> list[str]:
        def mean(xs: list[float], digits: int = 3) -> str:
            return f"{sum(xs) / len(xs):.{digits}f}" if xs else "-"

        def share(n: int, total: int) -> str:
            return f"{n / total:.1%}" if total else "-"

        return [
            str(len(self.f1)) if self.f1 else "-",
            mean(self.precision),
            mean(self.recall),
            mean(self.f1, 4),  # sources a ten-thousandth apart must not print as a tie
            f"{self.with_found}/{self.with_total}" if self.with_total else "-",
            f"{self.leaks}/{self.without_total}" if self.without_total else "-",
            share(self.titles, self.title_total),
            share(self.dates, self.date_total),
            str(self.no_date) if self.date_total else "-",
        ]

    def mean_f1(self) -> float:
        return sum(self.f1) / len(self.f1) if self.f1 else 0.0


HEADER = ["set", "extractor", "text pages", "P", "R", "F1", "with", "leaks", "titles", "dates"]
HEADER.append("no date")


def table(rows: Iterable[list[str]]) -> str:
    rows = [HEADER, *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    out = []
    for n, row in enumerate(rows):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


@dataclass
class Report:
    tallies: dict[str, dict[str, Tally]]
    regressions: list[tuple[float, str, float, float]]
    outcomes: dict[str, tuple[Outcome, Outcome | None]]

    def overall(self, extractor: str) -> Tally:
        return self.tallies["all"][extractor]


def score(corpus: Path, jobs: int | None = None, with_plain: bool = True) -> Report:
    cases = load_cases(corpus)
    work = [(str(corpus), c["file"], c["url"] or "", with_plain) for c in cases]
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count()) as pool:
        results = {f: (o, t) for f, o, t in pool.map(_page, work, chunksize=4)}
    tallies: dict[str, dict[str, Tally]] = defaultdict(
        lambda: {"arshif": Tally(), "trafilatura": Tally()}
    )
    regressions = []
    for case in cases:
        ours, theirs = results[case["file"]]
        groups = [case["set"], "all"]
        if not case.get("synthetic"):
            groups.append(REAL_ONLY)
        for group in groups:
            f_ours = tallies[group]["arshif"].add(case, ours)
            f_theirs = tallies[group]["trafilatura"].add(case, theirs) if theirs else None
        if f_ours is not None and f_theirs is not None and f_ours < f_theirs - _REGRESSION:
            regressions.append((f_ours - f_theirs, case["file"], f_ours, f_theirs))
    regressions.sort()
    order = [*sorted(k for k in tallies if k not in ("all", REAL_ONLY)), "all", REAL_ONLY]
    return Report({k: tallies[k] for k in order}, regressions, results)


def print_report(report: Report, worst: int) -> None:
    rows = []
    for name, by_extractor in report.tallies.items():
        for extractor, tally in by_extractor.items():
            if extractor == "trafilatura" and not tally.title_total and not tally.date_total:
                continue
            rows.append([name, extractor, *tally.cells()])
    print(table(rows))
    regs = report.regressions
    print(f"\npages more than {_REGRESSION} F1 below plain trafilatura: {len(regs)}")
    for delta, file, ours, theirs in regs[:worst]:
        print(f"  {delta:+.3f}  arshif {ours:.3f}  trafilatura {theirs:.3f}  {file}")


def check_floors(report: Report) -> list[str]:
    ours, theirs = report.overall("arshif"), report.overall("trafilatura")
    failures = []
    if ours.mean_f1() < FLOORS["f1"]:
        failures.append(f"text F1 {ours.mean_f1():.4f} < floor {FLOORS['f1']}")
    for name, by_extractor in report.tallies.items():
        a, t = by_extractor["arshif"], by_extractor["trafilatura"]
        if a.f1 and a.mean_f1() < t.mean_f1() - FLOORS["source_gap"]:
            failures.append(f"{name}: text F1 {a.mean_f1():.4f}, trafilatura {t.mean_f1():.4f}")
    if len(report.regressions) > FLOORS["max_regressions"]:
        failures.append(
            f"{len(report.regressions)} pages > {_REGRESSION} below trafilatura "
            f"(at most {FLOORS['max_regressions']})"
        )
    if ours.without_total and ours.leaks >= theirs.leaks and ours.leaks:
        failures.append(f"without-snippet leaks {ours.leaks} >= trafilatura {theirs.leaks}")
    real = report.tallies[REAL_ONLY]["arshif"].mean_f1()
    if real < FLOORS["real_f1"]:
        failures.append(f"text F1 without fixtures {real:.4f} < floor {FLOORS['real_f1']}")
    if ours.with_found < theirs.with_found:
        failures.append(f"with-snippets found {ours.with_found} < trafilatura {theirs.with_found}")
    if ours.titles < FLOORS["titles"] * ours.title_total:
        failures.append(f"titles {ours.titles}/{ours.title_total} < {FLOORS['titles']:.0%}")
    if ours.dates < theirs.dates:
        failures.append(f"dates {ours.dates} right < trafilatura {theirs.dates}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="the real-pages folder")
    parser.add_argument("--floor", action="store_true", help="exit 1 below the floors")
    parser.add_argument("--worst", type=int, default=25, help="regressions to list")
    parser.add_argument("-j", "--jobs", type=int, help="worker processes (default: all cores)")
    parser.add_argument("--json", type=Path, help="write every page's outcome here")
    args = parser.parse_args(argv)
    corpus = args.corpus or corpus_dir()
    if corpus is None or not (corpus / "cases.jsonl").is_file():
        print(f"real pages: no corpus at {args.corpus or DEFAULT_CORPUS}; skipped")
        return 0
    report = score(corpus, args.jobs)
    print_report(report, args.worst)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    f: [o.__dict__, t.__dict__ if t else None]
                    for f, (o, t) in report.outcomes.items()
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
    if args.floor:
        failures = check_floors(report)
        for failure in failures:
            print(f"real pages: below floor: {failure}")
        if not failures:
            print("real pages: every floor holds")
        return 1 if failures else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
