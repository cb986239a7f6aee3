"""Shared fixtures: the offline mirror on loopback and crawls run against it.

Crawls run in subprocesses (Twisted's reactor cannot restart in one process),
through the mirror proxy, so every test crawl uses real sockets and never the
internet.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mirror import BUNDLED, EXTRA_SITES, TEST_SITES
from mirror.server import MirrorServer
from tests.redis_server import redis_server  # noqa: F401  (a fixture, for the cluster tests)

ROOT = Path(__file__).resolve().parent.parent
GOLD = json.loads((ROOT / "tests" / "golden" / "gold.json").read_text(encoding="utf-8"))
BIN = Path(sys.executable).parent


def crawl_env(proxy: str | None, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if "proxy" not in k.lower() and not k.startswith("ARSHIF_")
    }
    if proxy:
        env |= {"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy}
    return env | extra


def free_port() -> int:
    """A loopback port nothing listens on (yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    """Poll url until the server answers (any HTTP status), or fail if it dies or stalls."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"no server answered at {url}") from None
            time.sleep(0.2)


def run(
    args: list[str], env: dict[str, str], cwd: Path = ROOT, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def mirror_proxy() -> Iterator[str]:
    server = MirrorServer(BUNDLED)
    yield server.start_in_thread()
    server.stop()


@pytest.fixture(scope="session")
def demo_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive built the way a user builds one: `arshif demo`."""
    data = tmp_path_factory.mktemp("demo") / "data"
    result = run([str(BIN / "arshif"), "demo", "--data", str(data)], crawl_env(None))
    assert result.returncode == 0, result.stdout + result.stderr
    return data


@pytest.fixture(scope="session")
def browse_archive(
    demo_archive: Path, mirror_proxy: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The demo archive plus the mirror's hostile test site, for the browsing tests.

    The demo never shows hostile pages; tests that check nothing of them runs or
    renders as markup crawl them explicitly, into a copy.
    """
    data = tmp_path_factory.mktemp("browse") / "data"
    shutil.copytree(demo_archive, data)
    result = run(
        [str(BIN / "arshif"), "crawl", "--data", str(data), "--sites", str(TEST_SITES), "hostile",
         "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0"],
        crawl_env(mirror_proxy),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return data


@pytest.fixture(scope="session")
def gold() -> dict:
    return GOLD


@pytest.fixture(scope="session")
def extra_sites() -> Path:
    return EXTRA_SITES
