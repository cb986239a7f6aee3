"""Progress of long commands: plain lines in logs, a tqdm bar on a terminal, silence
with --quiet."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import cli
from archive.cli.progress import Progress
from tests.test_reextract_workers import write_archive

LINE = re.compile(r"^reextract: (\d+)/100 records, [\d.]+/s, ~\d+ s left$")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_at_each_tenth_then_a_final_line():
    out, clock = io.StringIO(), Clock()
    with Progress("reextract", 100, stream=out, tty=False, clock=clock) as progress:
        for _ in range(100):
            clock.now += 0.5
            progress.advance()
    lines = out.getvalue().splitlines()
    steps = [int(m.group(1)) for m in map(LINE.match, lines[:-1]) if m]
    assert steps == [10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert lines[-1] == "reextract: 100/100 records in 50 s, 2.0/s"
    assert "\r" not in out.getvalue()


def test_plain_lines_every_thirty_seconds_when_the_total_is_unknown():
    out, clock = io.StringIO(), Clock()
    progress = Progress("verify", unit="checks", stream=out, tty=False, clock=clock)
    for _ in range(10):
        clock.now += 10
        progress.advance(5)
    assert out.getvalue().splitlines() == [
        "verify: 15 checks, 0.5/s",
        "verify: 30 checks, 0.5/s",
        "verify: 45 checks, 0.5/s",
    ]


def test_time_left_follows_the_rate():
    out, clock = io.StringIO(), Clock()
    progress = Progress("export-wacz", 10_000_000, unit="bytes", stream=out, tty=False, clock=clock)
    clock.now += 20
    progress.advance(2_000_000)  # 0.1 MB/s: 80 s to go
    assert out.getvalue() == "export-wacz: 2.0/10.0 MB, 0.1 MB/s, ~80 s left\n"


def test_a_terminal_gets_a_tqdm_bar():
    out = io.StringIO()
    with Progress("reindex", unit="articles", stream=out, tty=True) as progress:
        progress.set_total(5)
        for _ in range(5):
            progress.advance()
    text = out.getvalue()
    assert "\r" in text and "reindex" in text and "5/5" in text and "100%" in text


def test_quiet_writes_nothing():
    out = io.StringIO()
    for tty in (True, False):
        with Progress("export", 3, stream=out, tty=tty, quiet=True) as progress:
            progress.advance(3)
    assert out.getvalue() == ""


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    write_archive(data, articles=12)
    return data


def test_the_long_commands_print_plain_progress_lines_off_a_terminal(data, tmp_path):
    runner = CliRunner()
    commands = {
        "reextract": ["reextract", "--workers", "2"],
        "verify": ["verify", "-w", "2"],
        "export": ["export", "--format", "jsonl"],
        "export-wacz": ["export-wacz", "-o", str(tmp_path / "a.wacz")],
        "reindex": ["reindex"],
    }
    for label, args in commands.items():
        result = runner.invoke(cli, [*args, "--data", str(data)])
        assert result.exit_code == 0, result.output
        last = [line for line in result.stderr.splitlines() if line.startswith(f"{label}: ")]
        assert last and re.match(rf"^{label}: [\d./]+ [\w ]*in \d+ s", last[-1]), result.stderr
        assert "\r" not in result.stderr
        if label == "export":  # standard output stays the export's own
            assert len(result.stdout.splitlines()) == 12  # one row per article
        quiet = runner.invoke(cli, [*args, "--data", str(data), "--quiet"])
        assert quiet.exit_code == 0
        assert not any(line.startswith(f"{label}: ") for line in quiet.stderr.splitlines())
