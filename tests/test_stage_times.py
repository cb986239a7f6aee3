"""Where a crawl's time goes (crawler/timing.py): per-stage seconds in the crawl's stats,
written to ARSHIF_STATS_FILE for `make bench-crawl`."""

from __future__ import annotations

import asyncio
import json

import pytest
from scrapy.utils.test import get_crawler

from crawler.timing import timed
from tests.conftest import BIN, crawl_env, run


class _Stage:
    def __init__(self) -> None:
        self.crawler = get_crawler()

    @timed("work")
    def work(self, fail: bool) -> str:
        sum(range(200_000))  # a few milliseconds of CPU
        if fail:
            raise ValueError("broken page")
        return "done"

    @timed("wait")
    async def wait(self) -> str:
        await asyncio.sleep(0.01)
        return "awaited"


def test_a_timed_stage_adds_its_seconds_whether_it_returns_or_raises():
    stage = _Stage()
    assert stage.work(False) == "done"
    first = stage.crawler.stats.get_value("arshif/time/work")
    assert first > 0
    with pytest.raises(ValueError):
        stage.work(True)
    assert stage.crawler.stats.get_value("arshif/time/work") > first
    wall = stage.crawler.stats.get_value("arshif/wall/work")
    assert stage.crawler.stats.get_value("arshif/time/work") <= wall * 1.05 + 0.001
    assert asyncio.run(stage.wait()) == "awaited"
    # Awaited work runs elsewhere: its wall time only, at least the time slept.
    assert stage.crawler.stats.get_value("arshif/wall/wait") >= 0.01
    assert stage.crawler.stats.get_value("arshif/time/wait") is None


def test_a_crawl_writes_its_stage_times_to_the_stats_file(mirror_proxy, tmp_path):
    stats_file = tmp_path / "stats.jsonl"
    env = crawl_env(mirror_proxy, ARSHIF_STATS_FILE=str(stats_file), ARSHIF_LOG_LEVEL="WARNING")
    data = tmp_path / "data"
    args = [str(BIN / "arshif"), "crawl", "hafryat", "--data", str(data)]
    result = run([*args, "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"], env)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    (line,) = stats_file.read_text(encoding="utf-8").splitlines()
    stats = json.loads(line)
    assert stats["spider"] == "hafryat" and stats["arshif/articles_saved"] >= 30
    times = {k.removeprefix("arshif/time/"): v for k, v in stats.items() if "/time/" in k}
    walls = {k.removeprefix("arshif/wall/"): v for k, v in stats.items() if "/wall/" in k}
    assert set(times) == set(walls) == {"extract", "store", "warc", "warc_metadata"}
    assert all(v > 0 for v in times.values()), times
    # CPU time never exceeds wall time (a little slack for the clocks' resolution).
    assert all(times[k] <= walls[k] * 1.05 + 0.001 for k in times), (times, walls)
    # The metadata records are part of both the WARC time and the store stage.
    assert times["warc_metadata"] < times["warc"] and times["warc_metadata"] < times["store"]
    assert sum(times.values()) < stats["elapsed_time_seconds"]
