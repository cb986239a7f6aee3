"""Golden pages, in the manner of Fundus: every site has stored pages with their expected output.

The stored pages are the mirror's; the expected output is tests/golden/gold.json
for the five seed pages (the annotated ground truth) and mirror-truth.json for
every other mirror article. A registered site without a golden page fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive.discover.sites import load_registry
from archive.extract.article import extract_article
from mirror import BUNDLED, EXTRA_SITES

HERE = Path(__file__).parent / "golden"
GOLD = json.loads((HERE / "gold.json").read_text(encoding="utf-8"))
TRUTH = json.loads((HERE / "mirror-truth.json").read_text(encoding="utf-8"))
REGISTRY = load_registry(EXTRA_SITES)
SEEDS = {t["seed"]: t for t in TRUTH if t["seed"]}


def ws(text: str | None) -> str:
    return " ".join((text or "").split())


def extract(entry: dict, site=True):
    body = (BUNDLED / entry["file"]).read_bytes()
    return extract_article(
        body, entry["url"], REGISTRY[entry["site"]] if site else None, content_type="text/html"
    )


@pytest.mark.parametrize("key", list(REGISTRY))
def test_every_registered_site_has_a_golden_page(key):
    assert any(t["site"] == key and t["seed"] for t in TRUTH), f"site {key} has no golden page"


@pytest.mark.parametrize("seed", sorted(GOLD))
def test_seed_page_matches_gold_exactly(seed):
    gold, entry = GOLD[seed], SEEDS[seed]
    record = extract(entry)
    assert ws(record.text) == ws(" ".join(gold["text_paragraphs"]))
    assert record.title == gold["title"]
    assert record.published[:10] == gold["published"]
    paragraphs = record.text.split("\n\n")
    for line in gold["boilerplate"]:
        assert line["line"] not in paragraphs, line
        if len(line["line"].split()) > 1:
            assert line["line"] not in record.text, line
    for quote in gold["pullquotes_excluded"]:
        assert quote not in paragraphs
    for subhead in gold["subheads_kept_in_text"]:
        assert subhead in paragraphs
    if gold["category"]:
        assert record.category == gold["category"]
    assert record.language == "ar"


@pytest.mark.parametrize(
    "entry", TRUTH, ids=[f"{t['site']}:{t['file'].rsplit('/', 1)[-1][:24]}" for t in TRUTH]
)
def test_every_mirror_article_is_free_of_its_sites_widgets(entry):
    record = extract(entry)
    assert ws(record.text) == ws(" ".join(entry["text_paragraphs"]))
    assert record.title == entry["title"]
    assert record.published[:10] == entry["published"]
    assert record.encoding == entry["encoding"]


@pytest.mark.parametrize("seed", sorted(GOLD))
def test_generic_path_without_site_rules(seed):
    """The common furniture rules alone, as for a page from an unregistered site."""
    record = extract(SEEDS[seed], site=False)
    assert ws(record.text) == ws(" ".join(GOLD[seed]["text_paragraphs"]))
    assert record.title == GOLD[seed]["title"]
