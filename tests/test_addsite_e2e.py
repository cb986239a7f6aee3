"""Acceptance for ``arshif add-site``: for every mirror site, the entry it proposes from
the home URL alone crawls at least 90% of the articles the hand-written entry crawls.

add-site never reads the registry's entry for the site it looks at; the proposed
entries get keys of their own (``proposed_KEY``) so the bundled entries cannot merge
into them, and only those keys are crawled. The hand-written crawl is `arshif demo`'s
(the session's demo_archive); the proposed sites are crawled together, in one run.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.discover.sites import load_registry
from mirror import BUNDLED
from mirror.server import MirrorServer
from tests.conftest import BIN, ROOT, crawl_env, run

pytestmark = pytest.mark.e2e

# The mirror's sites, by the key of their hand-written entry, and the CMS preset it uses.
SITES = {
    "lebanontab": ("https://www.lebanontab.com/", "generic"),
    "hoseinmortada": ("https://www.hoseinmortada.com/", "wordpress"),
    "hafryat": ("https://hafryat.com/", "drupal"),
    "custom_news": ("https://www.custom-news.example/", "generic"),
    "repost_blog": ("https://www.repost-blog.example/", "wordpress"),
}
NO_DELAY = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0"]


@pytest.fixture(scope="module")
def mirror() -> Iterator[MirrorServer]:
    server = MirrorServer(BUNDLED)
    server.start_in_thread()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proposed(mirror: MirrorServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sites file holding add-site's entry for every mirror site (run side by side)."""
    env = crawl_env(None)
    options = ["--delay", "0", "--proxy", mirror.proxy_url, "--ca-file", str(mirror.ca_file)]
    jobs = {
        key: subprocess.Popen(
            [str(BIN / "arshif"), "add-site", url, "--key", f"proposed_{key}", *options],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for key, (url, _) in SITES.items()
    }
    entries = []
    for key, job in jobs.items():
        out, err = job.communicate(timeout=120)
        assert job.returncode == 0, f"{key}: {err}"
        assert "Traceback" not in err
        sys.stderr.write(f"--- add-site {key}\n{err}\n")
        entries.append(out)
    path = tmp_path_factory.mktemp("addsite") / "proposed.toml"
    path.write_text("\n".join(entries), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def proposed_archive(
    proposed: Path, mirror: MirrorServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    data = tmp_path_factory.mktemp("addsite-crawl") / "data"
    keys = [f"proposed_{k}" for k in SITES]
    result = run(
        [str(BIN / "arshif"), "crawl", "--data", str(data), "--sites", str(proposed), *keys,
         *NO_DELAY],
        crawl_env(mirror.proxy_url),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return data


def articles(data: Path, site: str) -> set[str]:
    with sqlite3.connect(data / "archive.db") as db:
        return {u for (u,) in db.execute("SELECT url FROM articles WHERE site = ?", [site])}


def test_proposed_entries_load_unchanged_with_the_presets_the_sites_use(proposed):
    entries = tomllib.loads(proposed.read_text(encoding="utf-8"))["sites"]
    assert set(entries) == {f"proposed_{k}" for k in SITES}
    registry = load_registry(proposed)
    for key, (url, preset) in SITES.items():
        site = registry[f"proposed_{key}"]
        assert site.cms == preset, key
        assert site.owns(url) and site.name, key


def test_proposed_entries_crawl_nine_tenths_of_the_hand_written_articles(
    proposed_archive, demo_archive
):
    figures = {}
    for key in SITES:
        hand = articles(demo_archive, key)
        mine = articles(proposed_archive, f"proposed_{key}")
        assert len(hand) >= 30, key
        figures[key] = (len(mine & hand), len(hand), len(mine - hand))
    sys.stderr.write(
        "".join(f"{k}: {a}/{b} of the hand-written entry's articles, {x} others\n"
                for k, (a, b, x) in figures.items())
    )  # fmt: skip
    low = {k: f for k, f in figures.items() if f[0] < 0.9 * f[1]}
    assert not low, figures
