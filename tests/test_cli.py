from __future__ import annotations

import codecs
import csv
import json
import socket
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from archive.cli import cli
from mirror import BUNDLED


@pytest.fixture()
def runner():
    return CliRunner()


def test_every_command_has_help_with_an_example(runner):
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0
    for name in ["add-site", "crawl", "demo", "mirror", "serve", "sites"]:
        assert name in top.output
    for args in (
        ["add-site"],
        ["crawl"],
        ["demo"],
        ["serve"],
        ["mirror", "serve"],
        ["mirror", "path"],
        ["sites"],
        ["sites", "suggest"],
        ["sites", "list"],
    ):
        result = runner.invoke(cli, [*args, "--help"])
        assert result.exit_code == 0 and "Example" in result.output, args


def test_mirror_path(runner):
    result = runner.invoke(cli, ["mirror", "path"])
    assert result.exit_code == 0 and result.output.strip() == str(BUNDLED)


def error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code != 0
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_unknown_site_is_one_line(runner, tmp_path):
    line = error_line(runner.invoke(cli, ["crawl", "--data", str(tmp_path), "nosuch"]))
    assert "unknown site 'nosuch'" in line and "hafryat" in line


def test_bad_site_entry_is_one_line(runner, tmp_path):
    sites = tmp_path / "mine.toml"
    sites.write_text(
        '[sites.mine]\ncms = "wordpress"\ndomains = ["ok.example"]\nlisting_depth = "deep"\n'
    )
    line = error_line(runner.invoke(cli, ["crawl", "--data", str(tmp_path), "--sites", str(sites)]))
    assert "site 'mine'" in line and "field 'listing_depth'" in line and str(sites) in line


def test_unwritable_data_directory_is_one_line(runner, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = error_line(runner.invoke(cli, ["crawl", "--data", str(blocker / "data"), "hafryat"]))
    assert "data directory" in line and str(blocker / "data") in line


def test_serve_without_an_archive_says_what_to_do(runner, tmp_path):
    line = error_line(runner.invoke(cli, ["serve", "--data", str(tmp_path)]))
    assert "no archive" in line and "arshif demo" in line


def test_archive_library_imports_neither_scrapy_nor_twisted():
    # Every module of the archive library, found by walking the package: a new module
    # that pulls in Scrapy is caught without being listed here.
    code = (
        "import importlib, pkgutil, sys, archive, mirror.layout, mirror.server;"
        " [importlib.import_module(m.name) for m in"
        " pkgutil.walk_packages(archive.__path__, 'archive.')];"
        " bad = [m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted')];"
        " print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[]" in result.stdout


def test_sites_suggest_errors_are_one_line(runner, tmp_path):
    unknown = runner.invoke(cli, ["sites", "suggest", "nosuch", "--data", str(tmp_path)])
    assert unknown.exit_code == 2
    assert error_line(unknown).startswith("Error: unknown site 'nosuch'")
    line = error_line(runner.invoke(cli, ["sites", "suggest", "hafryat", "--data", str(tmp_path)]))
    assert "no archive" in line
    from archive.store.writer import Archive

    Archive.open(tmp_path).close()  # an archive, but nothing crawled for the site
    line = error_line(runner.invoke(cli, ["sites", "suggest", "hafryat", "--data", str(tmp_path)]))
    assert "no pages of site 'hafryat'" in line and "crawl it first" in line


@pytest.mark.parametrize("url", ["http://[::1", "not a url", "ftp://x.example/a"])
def test_extract_refuses_a_url_that_is_not_http_in_one_line(runner, tmp_path, url):
    page = tmp_path / "p.html"
    page.write_bytes(b"<html><body><p>x</p></body></html>")
    result = runner.invoke(cli, ["extract", str(page), "--url", url])
    assert result.exit_code == 2
    assert "is not an http(s) URL" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("body", [b"", b" \n\t\n"])
def test_extract_refuses_an_empty_file_in_one_line(runner, tmp_path, body):
    page = tmp_path / "empty.html"
    page.write_bytes(body)
    result = runner.invoke(cli, ["extract", str(page), "--url", "https://x.example/a"])
    assert result.exit_code == 2, result.output
    assert f"{page}: empty, no page to extract" in result.output
    assert "Traceback" not in result.output and "{" not in result.output


def test_extract_on_a_page_without_an_article_prints_an_empty_record(runner, tmp_path):
    page = tmp_path / "blank.html"
    page.write_bytes(b"<html><body></body></html>")
    result = runner.invoke(cli, ["extract", str(page), "--url", "https://x.example/a"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["text"] is None


@pytest.mark.parametrize(
    "args",
    [
        ["sites", "suggest", "hafryat"],
        ["stats"],
        ["search", "خبر"],
        ["export", "--format", "jsonl"],
        ["verify"],
    ],
)
def test_read_only_commands_open_an_archive_whose_folder_has_a_hash(runner, tmp_path, args):
    # Written as file:{path}?mode=ro, "my #2 ?data" cut the path at "#": SQLite then
    # created an empty "my " beside it and the command read that.
    from archive.store.writer import Archive

    data = tmp_path / "my #2 ?data"
    Archive.open(data).close()
    before = sorted(tmp_path.iterdir())
    result = runner.invoke(cli, [*args, "--data", str(data)])
    if args[0] == "sites":
        assert "no pages of site 'hafryat'" in error_line(result)  # not "predates ..."
    else:
        assert result.exit_code == 0, result.output
    assert sorted(tmp_path.iterdir()) == before


def test_read_only_uri_keeps_a_hash_and_a_question_mark_in_the_path(tmp_path):
    from archive.store.db import connect, readonly_uri
    from archive.store.wacz import _pages
    from archive.store.writer import DB_NAME, Archive

    data = tmp_path / "a#b?c%d"
    Archive.open(data).close()
    assert readonly_uri(data / DB_NAME).endswith("/a%23b%3Fc%25d/archive.db?mode=ro")
    db = connect(data / DB_NAME, read_only=True)
    assert db["articles"].exists()
    db.conn.close()
    assert _pages(data, None) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a#b?c%d"]


def test_suggested_rules_saved_beside_the_sites_file_override_its_entry(runner, tmp_path):
    # The documented flow: suggest > mysite-rules.toml, then --sites mine --sites rules.
    import tomllib

    from archive.discover.sites import load_registry
    from archive.store.writer import Archive

    mine = tmp_path / "my-sites.toml"
    mine.write_text('[sites.mysite]\ndomains = ["www.mysite.example"]\nlistings = ["/"]\n')
    data = tmp_path / "data"
    archive = Archive.open(data)
    with archive.db.conn:
        for url, kind in [("/ar/85700/a-b-c", "article"), ("/ar/85712/d-e-f", "article"),
                          ("/", "listing")]:  # fmt: skip
            archive.db.execute(
                "INSERT INTO page_kinds (site, url, kind, decided) VALUES ('mysite', ?, ?, 'x')",
                [f"https://www.mysite.example{url}", kind],
            )
    archive.close()
    result = runner.invoke(
        cli, ["sites", "suggest", "mysite", "--data", str(data), "--sites", str(mine)]
    )
    assert result.exit_code == 0, result.output
    rules = tmp_path / "mysite-rules.toml"
    rules.write_text(result.stdout, encoding="utf-8")
    listed = runner.invoke(cli, ["sites", "list", "--sites", str(mine), "--sites", str(rules)])
    assert listed.exit_code == 0 and "www.mysite.example" in listed.output, listed.output
    site = load_registry([mine, rules])["mysite"]
    assert list(site.domains) == ["www.mysite.example"] and not site.probes
    assert site.classify("https://www.mysite.example/ar/99999/x-y-z") == "article"
    # Appended to the file defining the site, as the help once showed, TOML refuses it.
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(mine.read_text() + result.stdout)
    for args in (["sites"], ["sites", "suggest"]):
        help_text = runner.invoke(cli, [*args, "--help"]).output
        assert ">> my-sites.toml" not in help_text and "> mysite-rules.toml" in help_text


@pytest.fixture()
def small_archive(tmp_path):
    """An archive with one registered site and no articles: enough for argument checks."""
    from archive.store.writer import Archive

    Archive.open(tmp_path).close()
    with sqlite3.connect(tmp_path / "archive.db") as db:
        db.execute(
            "INSERT INTO sites VALUES ('hafryat', 'Hafryat', 'drupal', 'ar', '[]', 'https://hafryat.com/')"
        )
    return tmp_path


@pytest.mark.parametrize("value", ["2020-13-45", "2020-02-31", "2020-00", "20201001", "yesterday"])
@pytest.mark.parametrize(
    "args",
    [
        ["search", "x", "--since"],
        ["export", "--format", "jsonl", "--since"],
        ["export", "--format", "csv", "--until"],
    ],
)
def test_a_date_that_is_not_in_the_calendar_is_one_line(runner, small_archive, args, value):
    result = runner.invoke(cli, [*args, value, "--data", str(small_archive)])
    assert result.exit_code == 2
    line = error_line(result)
    assert f"{args[-1]} '{value}' is not a date" in line and "YYYY-MM-DD" in line


@pytest.mark.parametrize("value", ["2020", "2020-02", "2020-02-29"])
def test_real_dates_and_their_prefixes_are_accepted(runner, small_archive, value):
    for args in (
        ["search", "x", "--since", value],
        ["export", "--format", "jsonl", "--until", value],
    ):
        result = runner.invoke(cli, [*args, "--data", str(small_archive)])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args", [["search", "x"], ["export", "--format", "jsonl"], ["stats"]])
def test_an_unknown_site_is_one_line_naming_the_known_ones(runner, small_archive, args):
    result = runner.invoke(cli, [*args, "--site", "nosuchsite", "--data", str(small_archive)])
    assert result.exit_code == 2
    assert error_line(result) == "Error: unknown site 'nosuchsite'; the archive holds hafryat"
    known = runner.invoke(cli, [*args, "--site", "hafryat", "--data", str(small_archive)])
    assert known.exit_code == 0, known.output


def test_serve_on_a_busy_port_is_one_line_before_serving(runner, small_archive):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(cli, ["serve", "--data", str(small_archive), "--port", str(port)])
    line = error_line(result)
    assert line.startswith(f"Error: cannot listen on 127.0.0.1:{port}: ") and "serving" not in line


def test_csv_export_starts_with_a_bom_for_excel(runner, demo_archive, tmp_path):
    out = tmp_path / "articles.csv"
    args = ["export", "--data", str(demo_archive), "--format", "csv", "--site", "hafryat"]
    assert runner.invoke(cli, [*args, "-o", str(out)]).exit_code == 0
    assert out.read_bytes().startswith(codecs.BOM_UTF8 + b"id,url,")
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and next(iter(rows[0])) == "id" and all(r["site"] == "hafryat" for r in rows)
    assert any("أذربيجان" in r["text"] for r in rows)
    piped = runner.invoke(cli, args)
    assert piped.stdout_bytes.startswith(codecs.BOM_UTF8 + b"id,url,")
    assert runner.invoke(cli, [*args, "--no-bom", "-o", str(out)]).exit_code == 0
    assert out.read_bytes().startswith(b"id,url,")
    jsonl = runner.invoke(cli, [*args[:-4], "--format", "jsonl", "--bom"])
    assert jsonl.exit_code == 2 and "--bom is for --format csv" in error_line(jsonl)
