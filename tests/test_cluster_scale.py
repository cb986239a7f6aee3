"""The issue's done-when test: three workers and one ingest over the bundled mirror plus
a generated site of 2,000 articles; one worker and the ingest SIGKILLed in the middle,
Redis restarted (its append-only file on), replacements started. The archive must end
with exactly the article set of a single-process crawl of the same mirror: nothing
missing, nothing twice, ``arshif verify`` passing.

Real redis-server (tests/redis_server.py); skipped without it outside CI. About a
minute or two on two cores.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import redis

from archive.cluster.connection import Keys
from mirror import BUNDLED, EXTRA_SITES
from mirror.server import MirrorServer
from tests.conftest import BIN, ROOT, crawl_env, run

pytestmark = pytest.mark.e2e

ARTICLES = 2000
FAST = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
]  # fmt: skip


def _generator():  # tools/ is no package: load the generated-site builder by path
    spec = importlib.util.spec_from_file_location(
        "bench_crawl_memory", ROOT / "tools" / "bench_crawl_memory.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mirror_root(tmp_path_factory) -> Path:
    """The bundled mirror plus one generated site, in one tree: one proxy serves both."""
    root = tmp_path_factory.mktemp("cluster-mirror") / "mirror"
    shutil.copytree(BUNDLED, root)
    generated = root.parent / "generated"
    _generator().build_mirror(generated, ARTICLES)
    host = next(p for p in generated.iterdir() if p.is_dir())
    shutil.move(host, root / host.name)
    shutil.move(generated / "sites.toml", root / "generated-sites.toml")
    return root


def articles(data: Path) -> list[str]:
    with sqlite3.connect(data / "archive.db") as db:
        return [r[0] for r in db.execute("SELECT url FROM articles ORDER BY url")]


def wait_for(what: str, predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_three_workers_survive_kills_and_a_redis_restart(redis_server, mirror_root, tmp_path):
    server = MirrorServer(mirror_root)
    proxy = server.start_in_thread()
    sites = ["--sites", str(EXTRA_SITES), "--sites", str(mirror_root / "generated-sites.toml")]
    env = crawl_env(proxy)
    arshif = str(BIN / "arshif")
    url, data, logs = redis_server.url, tmp_path / "cluster", tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        log = (logs / f"{name}.log").open("w")
        proc = subprocess.Popen([arshif, *args], env=env, stdout=log, stderr=log, cwd=ROOT)
        procs.append(proc)
        return proc

    def worker(name: str) -> subprocess.Popen:
        return start(
            name, "crawl", "--redis", url, "--data", str(data), "--lease", "3", *sites, *FAST
        )

    def ingest(name: str) -> subprocess.Popen:
        return start(
            name,
            "ingest",
            "--redis",
            url,
            "--data",
            str(data),
            "--claim-after",
            "1",
            "--dead-after",
            "5",
        )

    client = redis.Redis.from_url(url, decode_responses=True)
    started = time.monotonic()
    try:
        first_ingest = ingest("ingest-1")
        workers = [worker(f"worker-{n}") for n in (1, 2, 3)]

        # In the middle of the generated site: its worker and the ingest die.
        def bench_half_done() -> bool:
            lease = client.hget(Keys.active, "bench")
            return lease is not None and client.scard(Keys.seen("bench")) > ARTICLES / 3

        wait_for("the generated site to be under way", bench_half_done, 120)
        # Redis restarts mid-crawl (AOF on), under every worker and the ingest: they wait
        # and reconnect. (Later, the survivors may have nothing left to ask Redis.)
        last = client.xinfo_stream(Keys.stream)["last-generated-id"]
        redis_server.restart()
        client = redis.Redis.from_url(url, decode_responses=True)
        wait_for(
            "the workers to write rows again after the restart",
            lambda: client.xinfo_stream(Keys.stream)["last-generated-id"] != last,
            120,
        )
        holder = json.loads(client.hget(Keys.active, "bench"))["worker"]
        victim = next(p for p in workers if holder.endswith(f":{p.pid}"))
        victim.send_signal(signal.SIGKILL)

        # The ingest dies holding entries it read and had not acknowledged: frozen at
        # a moment it holds some (an entry is acknowledged within milliseconds).
        def frozen_holding() -> bool:
            first_ingest.send_signal(signal.SIGSTOP)
            if client.xpending(Keys.stream, Keys.group)["pending"] > 0:
                return True
            first_ingest.send_signal(signal.SIGCONT)
            return False

        wait_for("the ingest to hold entries", frozen_holding, 60)
        first_ingest.send_signal(signal.SIGKILL)
        victim.wait(10), first_ingest.wait(10)
        pending = client.xpending(Keys.stream, Keys.group)["pending"]
        assert pending > 0
        print(f"killed {holder} and the ingest at {time.monotonic() - started:.0f} s")

        replacement_ingest = ingest("ingest-2")
        replacement = worker("worker-4")

        for proc in [p for p in workers if p is not victim] + [replacement]:
            proc.wait(240)
            log = logs / f"worker-{workers.index(proc) + 1 if proc in workers else 4}.log"
            assert proc.returncode == 0, log.read_text()[-3000:]
        wait_for("the stream to drain", lambda: client.xlen(Keys.stream) == 0, 120)
        replacement_ingest.send_signal(signal.SIGTERM)
        assert replacement_ingest.wait(30) == 0, (logs / "ingest-2.log").read_text()[-3000:]
        print(f"cluster done in {time.monotonic() - started:.0f} s; {pending} entries were pending")

        single_data = tmp_path / "single"
        alone = run([arshif, "crawl", "--data", str(single_data), *sites, *FAST], env, timeout=600)
        assert alone.returncode == 0, alone.stdout + alone.stderr[-3000:]
        print(f"single crawl done at {time.monotonic() - started:.0f} s")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        server.stop()
    cluster = articles(data)
    single = articles(single_data)
    assert len(single) > ARTICLES
    missing, extra = set(single) - set(cluster), set(cluster) - set(single)
    assert not missing and not extra, (sorted(missing)[:5], sorted(extra)[:5])
    assert len(cluster) == len(set(cluster)) == len(single)  # nothing twice
    with sqlite3.connect(data / "archive.db") as db:
        # Each article once in the index, with the one version its one capture made.
        assert db.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == len(cluster)
        assert db.execute("SELECT max(versions) FROM articles").fetchone()[0] == 1
        runs = dict(db.execute("SELECT status, count(*) FROM crawl_runs GROUP BY status"))
    assert runs.get("interrupted") == 1, runs  # the killed worker's run says so
    # The processes waited out the restart, saying so, and carried on.
    said = "".join(p.read_text() for p in (data / "logs").glob("*.log"))
    assert "retrying with back-off" in said
    # The taker resumed the dead worker's frontier from Redis, what it held included.
    assert "a stopped worker had taken queued again" in said
    verify = run([arshif, "verify", "--data", str(data)], env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
