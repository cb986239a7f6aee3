"""add-site's parts on small pages written here: CMS clues, URL rules from examples, the
TOML it writes, and the command's one-line errors (through CliRunner, over loopback)."""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import Iterator
from email.message import Message

import click
import pytest
from click.testing import CliRunner

from archive.cli import cli
from archive.cli.addsite import _append
from archive.discover.addsite import key_for
from archive.discover.cms import detect_cms
from archive.discover.fetch import Fetcher
from archive.discover.patterns import article_patterns, listing_patterns, pagination, strip_paging
from archive.discover.sites import load_registry
from mirror.server import MirrorServer
from tests.conftest import free_port


def page(head: str = "", body: str = "") -> str:
    return f"<!DOCTYPE html><html lang='ar'><head>{head}</head><body>{body}</body></html>"


# -- CMS ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "headers", "robots", "cms", "preset"),
    [
        (page('<meta name="generator" content="WordPress 6.4.2">'), {}, "", "WordPress", "wordpress"),
        (page('<link rel="stylesheet" href="/wp-content/themes/jannah/style.css">'), {}, "", "WordPress", "wordpress"),
        (page(body='<body class="home jannah-core">'), {}, "", "WordPress", "wordpress"),
        (page('<link rel="https://api.w.org/" href="https://x.example/wp-json/">'), {}, "", "WordPress", "wordpress"),
        (page(), {"Link": '<https://x.example/wp-json/>; rel="https://api.w.org/"'}, "", "WordPress", "wordpress"),
        (page('<meta name="Generator" content="Drupal 7 (http://drupal.org)">'), {}, "", "Drupal", "drupal"),
        (page('<script>jQuery.extend(Drupal.settings, {"basePath": "/"});</script>'), {}, "", "Drupal", "drupal"),
        (page(body='<a href="/node/12">a</a><a href="/ar/node/13">b</a>'), {}, "", "Drupal", "drupal"),
        (page(), {"X-Generator": "Drupal 10 (https://www.drupal.org)"}, "", "Drupal", "drupal"),
        (page(), {"x-generator": "Drupal"}, "", "Drupal", "drupal"),  # HTTP/2: lowercase names
        (page('<meta name="generator" content="Joomla! - Open Source Content Management">'), {}, "", "Joomla", "generic"),
        (page(body='<form id="aspnetForm"><input type="hidden" name="__VIEWSTATE" value="x"></form>'), {}, "", "ASP.NET WebForms", "generic"),
        (page(), {}, "User-agent: *\nDisallow: /wp-admin/\n", "WordPress", "wordpress"),
    ],
)  # fmt: skip
def test_cms_is_recognised_by_its_clues(html, headers, robots, cms, preset):
    found = detect_cms(html, headers, robots)
    assert (found.cms, found.preset) == (cms, preset), found.reasons
    assert cms in found.summary() and found.reasons


def test_cms_headers_are_read_from_the_response_whatever_their_case():
    # What add-site passes: the fetched page's headers, as the server spelt them.
    headers = Message()
    headers["x-generator"] = "Drupal 10"
    headers["link"] = "</feed>; rel=alternate"
    headers["link"] = '<https://x.example/wp-json/>; rel="https://api.w.org/"'
    found = detect_cms(page(), headers)
    assert found.scores == {"Drupal": 5, "WordPress": 4}, found.reasons


def test_an_unknown_cms_is_generic_and_prose_mentioning_a_cms_is_no_clue():
    html = page(
        '<meta name="description" content="نصائح WordPress و Drupal للمبتدئين">',
        '<a href="/news/1.html">خبر</a>',
    )
    found = detect_cms(html)
    assert (found.cms, found.preset, found.reasons) == (None, "generic", [])


def test_wp_sitemap_and_strong_clues_outweigh_a_stray_one():
    # A WordPress site that links one /node/5 page (say, an old Drupal archive).
    html = page(body='<a href="/node/5">old</a>')
    assert detect_cms(html, wp_sitemap=True).cms == "WordPress"


# -- URL rules -----------------------------------------------------------------------


def test_article_urls_generalise_ids_slugs_and_keep_constant_segments():
    urls = [
        "https://x.example/ar/85799/%D9%83%D9%85%D8%A7",
        "https://x.example/ar/85796/story-two",
        "https://x.example/ar/1203/%D8%B9%D9%84%D9%89",
        "https://x.example/about-us",  # one of its shape: noise, not a rule
    ]
    (pattern,) = article_patterns(urls)
    assert pattern == r"^/ar/\d+/[^/?#]+/?$"
    assert all(re.search(pattern, u.split("x.example")[1]) for u in urls[:3])
    assert not re.search(pattern, "/ar/category/lebanon/extra")


@pytest.mark.parametrize(
    ("urls", "expected"),
    [
        (["https://x.example/news/230774.html", "https://x.example/news/230763.html"], [r"^/news/\d+\.html$"]),
        (["https://x.example/?p=41224", "https://x.example/?p=41196"], [r"^/\?p=\d+$"]),
        (["https://x.example/2022/09/18/a/", "https://x.example/2021/01/02/b/"], [r"^/\d+/\d+/\d+/[^/?#]+/?$"]),
        (["https://x.example/article.aspx?id=5", "https://x.example/article.aspx?id=9"], [r"^/article\.aspx\?id=\d+$"]),
        (["https://x.example/a/1", "https://x.example/a/2", "https://x.example/b/x/y", "https://x.example/b/z/w"], [r"^/a/\d+/?$", r"^/b/[^/?#]+/[^/?#]+/?$"]),
    ],
)  # fmt: skip
def test_article_url_shapes(urls, expected):
    assert article_patterns(urls) == expected


def test_listing_patterns_name_top_level_sections_and_generalise_nested_ones():
    top = ["https://x.example/", "https://x.example/akhbar", "https://x.example/taqarir"]
    assert listing_patterns(top, "query:page") == [
        r"^/(?:\?page=\d+)?$",
        r"^/(?:akhbar|taqarir)/?(?:\?page=\d+)?$",
    ]
    nested = ["https://x.example/ar/category/lebanon", "https://x.example/ar/category/world"]
    (pattern,) = listing_patterns(nested, "query:page")
    assert re.search(pattern, "/ar/category/sport?page=3")
    assert not re.search(pattern, "/ar/85799/story")
    assert listing_patterns(["https://x.example/"], "path") == [r"^/(?:page/\d+/?)?$"]
    assert listing_patterns(["https://x.example/"], None) == ["^/$"]


def test_pagination_styles_and_first_pages():
    assert pagination(["https://x.example/?page=2"]) == "query:page"
    assert pagination(["https://x.example/category/a/page/3/"]) == "path"
    assert pagination(["https://x.example/news/1.html"]) is None
    assert strip_paging("https://x.example/category/a/page/2/") == "https://x.example/category/a/"
    assert strip_paging("https://x.example/akhbar?page=1") == "https://x.example/akhbar"


@pytest.mark.parametrize(
    ("host", "key"),
    [("www.lebanontab.com", "lebanontab"), ("hafryat.com", "hafryat"),
     ("www.custom-news.example", "custom_news"), ("news.bbc.co.uk", "bbc"), ("www.24.ae", "site_24")],
)  # fmt: skip
def test_keys_come_from_the_domain(host, key):
    assert key_for(host) == key


# -- the command, over a small mirror of our own -------------------------------------

STORY = page(
    "<title>{title} | أخبار الصغيرة</title><meta property='article:published_time' content='2024-03-0{n}T10:00:00+02:00'>",
    "<article><h1>{title}</h1>" + "<p>هذه فقرة من نص الخبر رقم {n} وفيها كلام كثير عن الأحداث الجارية في المنطقة.</p>" * 4 + "</article>",
)  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MirrorServer]:
    """www.tiny.example: four stories under /story/N.html, one of them barred by robots.txt;
    www.empty.example: a page with no articles; www.tiny.example/data.json: not HTML."""
    root = tmp_path_factory.mktemp("tiny-mirror")
    site = root / "www.tiny.example"
    (site / "story").mkdir(parents=True)
    links = "".join(f'<li><a href="/story/{n}.html">خبر {n}</a></li>' for n in range(1, 5))
    (site / "index.html").write_text(
        page("<title>الصغيرة | أخبار</title>", f"<ul>{links}</ul>"), encoding="utf-8"
    )
    for n in range(1, 5):
        (site / "story" / f"{n}.html").write_text(
            STORY.format(n=n, title=f"عنوان الخبر {n}"), encoding="utf-8"
        )
    (site / "robots.txt").write_text("User-agent: *\nDisallow: /story/4.html\n")
    (site / "data.json").write_text("{}")
    (root / "www.empty.example").mkdir()
    (root / "www.empty.example" / "index.html").write_text(
        page("<title>فارغ</title>", "<p>لا شيء</p>")
    )
    # www.saudi.example and www.junk-lang.example: www.tiny.example with another <html lang>.
    for host, lang in [("www.saudi.example", "ar_SA"), ("www.junk-lang.example", "arabic")]:
        shutil.copytree(site, root / host)
        for path in (root / host).rglob("*.html"):
            html = path.read_text(encoding="utf-8")
            path.write_text(html.replace("lang='ar'", f"lang='{lang}'"), encoding="utf-8")
    server = MirrorServer(root)
    server.start_in_thread()
    yield server
    server.stop()


def add_site(server: MirrorServer, *args: str):
    options = ["--proxy", server.proxy_url, "--ca-file", str(server.ca_file), "--delay", "0"]
    return CliRunner().invoke(cli, ["add-site", *args, *options])


def one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_add_site_proposes_an_entry_that_loads(tiny, tmp_path):
    result = add_site(tiny, "https://www.tiny.example/")
    assert result.exit_code == 0, result.output
    toml = result.stdout[result.stdout.index("# Proposed") :]
    entry = tomllib.loads(toml)["sites"]["tiny"]
    assert entry["article_urls"] == [r"^/story/\d+\.html$"] and entry["cms"] == "generic"
    assert entry["name"] == "الصغيرة" and entry["language"] == "ar"
    (tmp_path / "tiny.toml").write_text(toml, encoding="utf-8")
    site = load_registry(tmp_path / "tiny.toml")["tiny"]
    assert site.classify("https://www.tiny.example/story/9.html") == "article"
    # The report: each sample's title, date and first line; robots.txt was obeyed.
    assert "title: عنوان الخبر 1" in result.stderr and "2024-03-01T10:00:00+02:00" in result.stderr
    assert "text:  هذه فقرة من نص الخبر رقم 1" in result.stderr
    assert "robots.txt forbids https://www.tiny.example/story/4.html" in result.stderr


@pytest.mark.parametrize("host", ["www.saudi.example", "www.junk-lang.example"])
def test_a_region_or_junk_in_html_lang_leaves_a_plain_language_code(tiny, host):
    # <html lang="ar_SA"> (an underscore, as some CMSs write it) or lang="arabic".
    result = add_site(tiny, f"https://{host}/", "--key", "news")
    assert result.exit_code == 0, result.output
    entry = tomllib.loads(result.stdout[result.stdout.index("# Proposed") :])["sites"]["news"]
    assert entry["language"] == "ar"
    assert "<html lang> says" not in result.stderr


def test_output_appends_and_refuses_a_key_it_already_has(tiny, tmp_path):
    out = tmp_path / "mine.toml"
    out.write_text('[sites.other]\ndomains = ["www.other.example"]\narticle_urls = ["^/a/"]\n')
    first = add_site(tiny, "www.tiny.example", "--key", "tiny_news", "--output", str(out))
    assert first.exit_code == 0, first.output
    assert set(load_registry(out)) >= {"other", "tiny_news"}
    again = add_site(tiny, "www.tiny.example", "--key", "tiny_news", "--output", str(out))
    assert "already has [sites.tiny_news]" in one_line(again)


def test_an_output_file_that_cannot_be_written_is_refused_before_fetching(tmp_path, monkeypatch):
    out = tmp_path / "missing" / "s.toml"
    fetched = []
    monkeypatch.setattr("archive.cli.addsite.propose", lambda *a, **k: fetched.append(a))
    result = CliRunner().invoke(cli, ["add-site", "www.tiny.example", "-o", str(out)])
    assert "s.toml: no such directory" in one_line(result) and not fetched


def test_a_failed_write_is_one_line_naming_the_file(tmp_path):
    out = tmp_path / "gone" / "s.toml"  # say, removed while add-site was fetching
    with pytest.raises(click.ClickException, match=r"s\.toml: cannot write the entry"):
        _append(out, "", "[sites.x]\n")


def test_errors_are_one_line_naming_the_url(tiny):
    dead = CliRunner().invoke(
        cli, ["add-site", "https://www.tiny.example/", "--proxy", f"http://127.0.0.1:{free_port()}"]
    )
    line = one_line(dead)
    assert "https://www.tiny.example/" in line and "connection refused" in line
    line = one_line(add_site(tiny, "https://www.tiny.example/data.json"))
    assert "https://www.tiny.example/data.json: not HTML (application/json)" in line
    line = one_line(add_site(tiny, "https://www.empty.example/"))
    assert line.startswith("Error: https://www.empty.example/: no articles found (0 feed(s)")
    assert "CMS:" in line
    untrusted = CliRunner().invoke(
        cli, ["add-site", "https://www.tiny.example/", "--proxy", tiny.proxy_url]
    )
    assert "TLS certificate not trusted" in one_line(untrusted)


def test_fetches_are_bounded_and_identify_themselves(tiny):
    fetcher = Fetcher(proxy=tiny.proxy_url, ca_file=str(tiny.ca_file), delay=0, max_bytes=100)
    assert fetcher.user_agent.startswith("arshif/0.1.0 (news archive crawler; +")
    with pytest.raises(Exception, match="larger than 100 bytes"):
        fetcher.get("https://www.tiny.example/story/1.html")
