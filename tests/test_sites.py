from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from archive.discover.sites import PageKind, SiteConfigError, compile_cleanup_rule, load_registry
from archive.urls import canonicalize
from mirror import BUNDLED, EXTRA_SITES

REGISTRY = load_registry(EXTRA_SITES)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_bundled_registry_lists_the_three_sites():
    registry = load_registry()
    assert list(registry) == ["lebanontab", "hoseinmortada", "hafryat"]
    assert registry["hoseinmortada"].cms == "wordpress"
    assert registry["hafryat"].domains == ("hafryat.com",)


def test_wordpress_site_in_three_lines(tmp_path):
    path = write(
        tmp_path,
        """
        [sites.newsblog]
        cms = "wordpress"
        domains = ["news.example.org"]
    """,
    )
    site = load_registry(path)["newsblog"]
    assert site.discovery.feeds == ("https://news.example.org/feed/",)
    assert site.discovery.sitemaps == ("https://news.example.org/wp-sitemap.xml",)
    assert site.classify("https://news.example.org/2024/01/02/a-story/") is PageKind.ARTICLE
    assert site.classify("https://news.example.org/?p=12") is PageKind.ARTICLE
    assert site.classify("https://news.example.org/category/x/page/2/") is PageKind.LISTING
    assert site.classify("https://news.example.org/feed/") is None
    assert site.classify("https://elsewhere.example.org/2024/01/02/a-story/") is None


def test_user_file_overrides_a_bundled_site_field_by_field(tmp_path):
    path = write(
        tmp_path,
        """
        [sites.hafryat]
        listing_depth = 1
        [sites.hafryat.politeness]
        delay = 5
    """,
    )
    site = load_registry(path)["hafryat"]
    assert site.discovery.listing_depth == 1
    assert site.politeness.scrapy_settings() == {"DOWNLOAD_DELAY": 5.0}
    assert site.cms == "drupal"  # the rest of the bundled entry stays


def test_a_site_may_raise_its_response_size_cap(tmp_path):
    path = write(tmp_path, "[sites.hafryat.politeness]\nmax_size = 32_000_000\n")
    assert load_registry(path)["hafryat"].politeness.scrapy_settings() == {
        "DOWNLOAD_MAXSIZE": 32_000_000,
        "DOWNLOAD_WARNSIZE": 8_000_000,
    }


@pytest.mark.parametrize(
    ("entry", "field", "problem"),
    [
        ("domains = []", "domains", "non-empty list"),
        ('domains = ["not a host"]', "domains", "not a host name"),
        ('domains = ["a.example"]\ncms = "joomla"', "cms", "unknown preset"),
        (
            'domains = ["a.example"]\narticle_urls = ["(unclosed"]',
            "article_urls",
            "not a regular expression",
        ),
        (
            'domains = ["a.example"]\nfeeds = ["https://other.example/feed"]',
            "feeds",
            "not on the site's domains",
        ),
        ('domains = ["a.example"]\nlisting_depth = -1', "listing_depth", "whole number"),
        ('domains = ["a.example"]\ncleanup = ["div[[["]', "cleanup", "not a valid"),
        (
            'domains = ["a.example"]\narticle_urls = ["^/a/"]\npoliteness = { concurrency = 0 }',
            "politeness",
            "concurrency",
        ),
        (
            'domains = ["a.example"]\narticle_urls = ["^/a/"]\npoliteness = { max_size = 1000 }',
            "politeness",
            "max_size",
        ),
        (
            'domains = ["a.example"]\narticle_urls = ["^/a/"]\n'
            'canonical_urls = [["^/a/(\\\\d+)", "/node/\\\\2"]]',
            "canonical_urls",
            "invalid group reference",
        ),
        (
            'domains = ["a.example"]\narticle_urls = ["^/a/"]\ncanonical_urls = ["^/a/"]',
            "canonical_urls",
            "pairs",
        ),
        ('domains = ["a.example"]\nprobe_budget = -1', "probe_budget", "whole number"),
    ],
)
def test_bad_entry_names_site_and_field(tmp_path, entry, field, problem):
    path = write(tmp_path, "[sites.broken]\n" + entry + "\n")
    with pytest.raises(SiteConfigError) as info:
        load_registry(path)
    message = str(info.value)
    assert "site 'broken'" in message and f"field '{field}'" in message and problem in message
    assert str(path) in message
    assert "\n" not in message


def test_unknown_field_suggests_the_right_one(tmp_path):
    path = write(tmp_path, '[sites.x]\ndomians = ["a.example"]\n')
    with pytest.raises(
        SiteConfigError, match=r"unknown field 'domians' \(did you mean 'domains'\?\)"
    ):
        load_registry(path)


def test_unknown_site_key_lists_known_sites():
    with pytest.raises(
        SiteConfigError, match=r"unknown site 'hafryt' \(did you mean 'hafryat'\?\)"
    ):
        load_registry().select(["hafryt"])


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(SiteConfigError, match="sites file not found"):
        load_registry(tmp_path / "nope.toml")
    with pytest.raises(SiteConfigError, match="not valid TOML"):
        load_registry(write(tmp_path, "[sites.x\n"))


def test_cleanup_rules_accept_css_and_xpath():
    assert compile_cleanup_rule("//div[@id='x']") == "//div[@id='x']"
    assert "latest-videos" in compile_cleanup_rule("section.latest-videos")


# One test over every registered site (bundled and the mirror's extra ones), in
# the manner of Kingfisher Collect: a site is only data, so the data must hold.
@pytest.mark.parametrize("key", list(REGISTRY))
def test_every_site_has_a_mirror_whose_article_urls_it_recognises(key):
    site = REGISTRY[key]
    folder = BUNDLED / site.domains[0]
    assert folder.is_dir(), f"{key}: no mirror folder {folder}"
    assert (folder / "robots.txt").is_file()
    pages = [p for p in folder.rglob("*") if p.is_file() and p.suffix in ("", ".html")]
    articles = []
    for page in pages:
        rel = page.relative_to(folder).as_posix()
        url = f"https://{site.domains[0]}/" + (
            rel[: -len("index.html")] if rel.endswith("index.html") else rel
        )
        if site.classify(url) is PageKind.ARTICLE:
            articles.append(url)
    assert len(articles) >= 30, f"{key}: only {len(articles)} article pages in its mirror"
    assert site.classify(site.home) is not PageKind.ARTICLE


def test_timezone_is_validated(tmp_path):
    path = write(
        tmp_path,
        '[sites.x]\ncms = "wordpress"\ndomains = ["a.example"]\ntimezone = "Mars/Olympus"\n',
    )
    with pytest.raises(
        SiteConfigError, match=r"field 'timezone': 'Mars/Olympus' is not an IANA time zone"
    ):
        load_registry(path)


def test_drupal_path_alias_with_an_arabic_section_is_an_article(tmp_path):
    path = write(tmp_path, '[sites.drup]\ncms = "drupal"\ndomains = ["d.example"]\n')
    site = load_registry(path)["drup"]
    # Rules see the URL canonicalised, that is percent-encoded: both spellings must match.
    for url in [
        "https://d.example/تقارير/2662/some-slug",
        canonicalize("https://d.example/تقارير/2662/some-slug"),
        "https://d.example/ar/%D8%AA%D9%82%D8%A7%D8%B1%D9%8A%D8%B1/2662/%D8%B3/",
        "https://d.example/reports/2662/some-slug",
        "https://d.example/node/2662",
    ]:
        assert site.classify(url) is PageKind.ARTICLE, url
    for url in [
        "https://d.example/node/2662/edit",
        "https://d.example/user/5/edit",
        "https://d.example/taxonomy/term/5",
        "https://d.example/reports?page=2",
    ]:
        assert site.classify(url) is not PageKind.ARTICLE, url
    # The preset alone maps nothing: a number in a Drupal path is not always a node id.
    assert site.urls.canonical_url("https://d.example/reports/2662/x") == (
        "https://d.example/reports/2662/x"
    )


def test_hafryat_alias_and_node_are_one_article():
    site = REGISTRY["hafryat"]
    alias = canonicalize("https://hafryat.com/تقارير/2662/بعض-العنوان")
    assert site.classify(alias) is PageKind.ARTICLE
    assert site.urls.canonical_url(alias) == "https://hafryat.com/node/2662"
    assert site.urls.canonical_url("https://hafryat.com/ar/node/2662") == (
        "https://hafryat.com/node/2662"
    )
    # Whatever the page names canonical, the article is archived under /node/N.
    assert site.article_url(alias, alias) == "https://hafryat.com/node/2662"
    assert site.article_url("https://hafryat.com/node/2662", None) == (
        "https://hafryat.com/node/2662"
    )
    assert site.urls.canonical_url("https://hafryat.com/user/5/edit") == (
        "https://hafryat.com/user/5/edit"  # excluded URLs are never rewritten
    )


def test_wordpress_permalink_aliases_are_articles_and_listings_stay_listings(tmp_path):
    path = write(tmp_path, '[sites.wp]\ncms = "wordpress"\ndomains = ["wp.example"]\n')
    site = load_registry(path)["wp"]
    for target in [
        "/politics/a-story/",  # /%category%/%postname%/
        "/سياسة/قصة-ما/",
        "/archives/123",
        "/a-story/",
        "/2024/01/a-story/",
        "/2024/01/02/a-story/",
        "/?p=12",
    ]:
        assert site.classify(canonicalize("https://wp.example" + target)) is PageKind.ARTICLE, (
            target
        )
    for target in [
        "/category/politics/",
        "/category/politics/local/",
        "/category/سياسة/page/2/",
        "/tag/x/",
        "/author/someone/",
        "/page/3/",
        "/2024/",
        "/2024/01/",
        "/2024/01/02/",
        "/?cat=4",
        "/?paged=2",
    ]:
        assert site.classify(canonicalize("https://wp.example" + target)) is PageKind.LISTING, (
            target
        )
    for target in ["/a-story/amp/", "/a-story/feed/", "/a-story/attachment/pic/", "/wp-json/x"]:
        assert site.classify("https://wp.example" + target) is None, target
