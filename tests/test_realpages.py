"""The real-page scorer (tools/realpages.py): scored on a corpus the test writes, so the
arithmetic is checked without the shared corpus; the corpus itself is checked only
where it is present (CI runs the floor check on it, see .ci/run)."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import realpages  # noqa: E402

ARTICLE = [
    "The council voted on Tuesday to extend the tram line to the northern districts.",
    "Work is expected to start next spring and to last about three years in all.",
    "Residents had asked for the extension for more than a decade, the mayor said.",
]


def _write(corpus: Path, cases: list[tuple[str, str, dict]]) -> None:
    (corpus / "pages" / "suite").mkdir(parents=True)
    lines = []
    for name, html, truth in cases:
        path = corpus / "pages" / "suite" / f"{name}.html.gz"
        path.write_bytes(gzip.compress(html.encode()))
        lines.append(
            json.dumps(
                {
                    "file": f"pages/suite/{name}.html.gz",
                    "url": f"https://news.example/2024/03/05/{name}",
                    "source": "someone/suite:tests/x@abc",
                    "lang": "en",
                    **truth,
                }
            )
        )
    (corpus / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_prf_counts_repeated_words():
    assert realpages.prf("a a b", "a b") == pytest.approx((2 / 3, 1.0, 0.8))
    assert realpages.prf(None, "a b") == (0.0, 0.0, 0.0)


def test_scores_a_small_corpus(tmp_path):
    page = (
        "<html><head><title>Tram line extended</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        "<article><h1>Tram line extended</h1>"
        + "".join(f"<p>{s}</p>" for s in ARTICLE)
        + "</article><footer>Copyright Example News</footer></body></html>"
    )
    _write(
        tmp_path,
        [
            ("full", page, {"text": "\n".join(ARTICLE), "title": "Tram line extended"}),
            (
                "snippets",
                page,
                {
                    "with": ["extend the tram line", "not in the page at all"],
                    "without": ["Copyright Example News"],
                    "published": "2024-03-05",
                },
            ),
        ],
    )
    report = realpages.score(tmp_path, jobs=1)
    ours = report.overall("arshif")
    assert ours.f1 == [pytest.approx(1.0)]
    assert (ours.with_found, ours.with_total, ours.leaks, ours.without_total) == (1, 2, 0, 1)
    assert (ours.titles, ours.title_total) == (1, 1)
    assert (ours.dates, ours.date_total) == (1, 1)  # the permalink's day
    assert set(report.tallies) == {"suite", "all", realpages.REAL_ONLY}
    assert report.regressions == []


def test_without_a_corpus_it_says_so_and_exits_0(tmp_path, capsys):
    assert realpages.main(["--corpus", str(tmp_path / "missing")]) == 0
    assert "no corpus" in capsys.readouterr().out


@pytest.mark.skipif(realpages.corpus_dir() is None, reason="../shared/real-pages is absent")
def test_the_shared_corpus_loads():
    corpus = realpages.corpus_dir()
    cases = realpages.load_cases(corpus)
    assert len(cases) >= 700
    assert all((corpus / c["file"]).is_file() for c in cases)
    assert {c["set"] for c in cases} >= {"readability", "fundus", "trafilatura", "htmldate"}
