"""Read-only and broken archives, and inputs that are not what a command expects: one
line naming the path and the problem, exit 2, never a traceback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import cli
from archive.store.writer import Archive
from tests.test_cli import error_line
from tests.test_store import SITE, _capture


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def _archive(data: Path) -> Path:
    """A small, whole archive (closed: its WAL checkpointed into archive.db)."""
    archive = Archive.open(data)
    archive.register_site(SITE)
    for n in range(1, 4):
        archive.save_article(_capture(n, url=f"https://hafryat.com/node/{n}", text=f"خبر {n}"))
    archive.close()
    return data / "archive.db"


def _random(db: Path) -> None:
    db.write_bytes(os.urandom(8192))


def _text(db: Path) -> None:
    db.write_text("this is a text file, not an archive\n" * 50)


def _truncated(db: Path) -> None:
    whole = db.read_bytes()
    db.write_bytes(whole[: len(whole) // 2 + 100])


def _empty(db: Path) -> None:
    db.write_bytes(b"")


def _directory(db: Path) -> None:
    db.unlink()
    db.mkdir()


BREAKAGES = {
    "random": (_random, "not an SQLite database"),
    "text": (_text, "not an SQLite database"),
    "truncated": (_truncated, "truncated"),
    "empty": (_empty, "empty file (0 bytes)"),
    "directory": (_directory, "a directory"),
}

COMMANDS = [
    ["search", "خبر"],
    ["stats"],
    ["export", "--format", "jsonl"],
    ["export-wacz"],
    ["verify"],
    ["serve", "--port", "0"],
    ["reindex"],
    ["reextract"],
    ["sites", "suggest", "hafryat"],
]


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_a_file_that_is_not_an_archive_is_one_line_and_exit_2(runner, tmp_path, breakage):
    data = tmp_path / "data"
    db = _archive(data)
    spoil, problem = BREAKAGES[breakage]
    spoil(db)
    before = sorted(p.name for p in data.iterdir())
    for args in COMMANDS:
        result = runner.invoke(cli, [*args, "--data", str(data)])
        line = error_line(result)
        assert result.exit_code == 2, (args, result.output)
        assert str(db) in line and problem in line, (args, line)
    # Nothing was made of it: reindex/reextract did not take it for an empty archive.
    assert sorted(p.name for p in data.iterdir()) == before
    if breakage == "empty":
        assert db.stat().st_size == 0


@pytest.mark.parametrize("breakage", ["random", "text", "truncated", "directory"])
def test_crawl_refuses_to_write_over_a_file_that_is_not_an_archive(runner, tmp_path, breakage):
    data = tmp_path / "data"
    db = _archive(data)
    BREAKAGES[breakage][0](db)
    result = runner.invoke(cli, ["crawl", "--data", str(data), "hafryat"])
    assert result.exit_code == 2, result.output
    assert str(db) in error_line(result) and BREAKAGES[breakage][1] in result.output


def test_an_sqlite_database_that_is_not_an_archive_is_one_line(runner, tmp_path):
    import sqlite3

    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "archive.db")
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    result = runner.invoke(cli, ["stats", "--data", str(data)])
    assert result.exit_code == 2 and "not an arshif archive" in error_line(result)


@pytest.fixture()
def read_only_media(demo_archive: Path, tmp_path: Path, monkeypatch) -> Path:
    """A copy of the demo archive on "read-only media". Tests run as root, where chmod
    stops no write: the read-only directory is simulated by os.access saying so."""
    data = tmp_path / "media"
    shutil.copytree(demo_archive, data, ignore=shutil.ignore_patterns("*.wacz"))
    real_access = os.access

    def access(path: str | os.PathLike, mode: int, *args: object, **kwargs: object) -> bool:
        if Path(path).resolve() == data.resolve() and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    return data


def test_read_only_media_are_read_immutable_and_left_untouched(runner, read_only_media, tmp_path):
    """What this proves: where the directory is not writable, arshif opens the archive
    immutable: the commands work and SQLite creates no -shm/-wal beside it, as the
    plain mode=ro open does. Not that a real read-only mount works end to end."""
    data, db = read_only_media, read_only_media / "archive.db"
    Path(f"{db}-wal").unlink(missing_ok=True)
    Path(f"{db}-shm").unlink(missing_ok=True)
    before = {p: p.stat().st_mtime_ns for p in data.rglob("*")}
    out = tmp_path / "out"
    out.mkdir()
    for args in (
        ["search", "خبر"],
        ["stats"],
        ["export", "--format", "jsonl", "-o", str(out / "a.jsonl")],
        ["export-wacz", "-o", str(out / "a.wacz")],
        ["verify"],
    ):
        result = runner.invoke(cli, [*args, "--data", str(data)])
        assert result.exit_code == 0, (args, result.output)
        assert {p: p.stat().st_mtime_ns for p in data.rglob("*")} == before, args
    assert (out / "a.jsonl").stat().st_size > 0 and (out / "a.wacz").stat().st_size > 0


def test_serve_opens_read_only_media_immutable(runner, read_only_media, monkeypatch):
    db = read_only_media / "archive.db"
    Path(f"{db}-shm").unlink(missing_ok=True)
    seen: list[list[str]] = []
    from datasette import cli as datasette_cli

    monkeypatch.setattr(datasette_cli.cli, "main", lambda args, **kw: seen.append(args))
    result = runner.invoke(cli, ["serve", "--data", str(read_only_media), "--port", "0"])
    assert result.exit_code == 0, result.output
    assert seen and "-i" in seen[0] and str(db) in seen[0]


def test_a_sites_file_that_is_not_utf8_is_one_line(runner, tmp_path):
    for name, content in {
        "latin1.toml": '[sites.x]\nname = "caf\xe9"\n'.encode("latin-1"),
        "utf16.toml": "[sites.x]\n".encode("utf-16"),
        "random.toml": b"\x00\xff" + os.urandom(2000),
    }.items():
        path = tmp_path / name
        path.write_bytes(content)
        for args in (["sites", "list"], ["crawl", "--data", str(tmp_path / "d"), "x"]):
            line = error_line(runner.invoke(cli, [*args, "--sites", str(path)]))
            assert str(path) in line and "not UTF-8" in line, line


def test_extract_bounds_its_input(runner, tmp_path, monkeypatch):
    monkeypatch.setattr("archive.cli.MAX_EXTRACT_BYTES", 2**20, raising=False)
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * (2**20 // 4))  # over the bound, and no tag in it
    result = runner.invoke(cli, ["extract", str(big), "--url", "https://x.example/a"])
    assert result.exit_code == 2 and str(big) in error_line(result) and "MB" in result.output


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n" + os.urandom(512), b"%PDF-1.7\n" + os.urandom(512), os.urandom(4096)],
    ids=["png", "pdf", "random"],
)
def test_extract_refuses_binary_data_in_one_line(runner, tmp_path, content):
    if b"\x00" not in content[:8192] and not content.startswith((b"\x89PNG", b"%PDF")):
        content += b"\x00"
    path = tmp_path / "file.bin"
    path.write_bytes(content)
    result = runner.invoke(cli, ["extract", str(path), "--url", "https://x.example/a"])
    assert result.exit_code == 2
    line = error_line(result)
    assert str(path) in line and "binary data, not HTML or text" in line


def test_extract_still_reads_utf16_html(runner, tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes("<html><body><p>نص</p></body></html>".encode("utf-16"))
    result = runner.invoke(cli, ["extract", str(path), "--url", "https://x.example/a"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "query", ["خبر " * 40, "أذربيجان" * 80], ids=["too-many-words", "too-long"]
)
def test_an_over_long_query_is_one_line_and_exit_2(runner, tmp_path, query):
    data = tmp_path / "data"
    _archive(data)
    result = runner.invoke(cli, ["search", query, "--data", str(data)])
    assert result.exit_code == 2
    line = error_line(result)
    assert "the query" in line and "at most" in line
