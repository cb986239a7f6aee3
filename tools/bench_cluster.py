"""Cluster throughput: pages per second with 1 and with 2 workers on this machine.

    python tools/bench_cluster.py [--sites 4 --articles 500]     (make bench-cluster)

The sites of `make bench-crawl` (tools/realistic_site.py: the real pages of
../shared/real-pages where that corpus is, else generated pages of the same
weight) are served by arshif's mirror proxy; a redis-server (Debian's) runs on a
free loopback port in a temporary directory. For each worker count: an empty data
directory and Redis, one `arshif ingest`, N `arshif crawl --redis` workers started
together; the clock stops when every worker has exited and the stream is drained.
Pages are the responses archive.db records.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from mirror.server import MirrorServer  # noqa: E402
from tools.child import clean_env  # noqa: E402
from tools.realistic_site import build_sites  # noqa: E402

BIN = Path(sys.executable).parent
FAST = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cluster(
    workers: int, keys: list[str], sites: Path, proxy: str, work: Path
) -> tuple[int, float]:
    """(responses recorded, seconds) of `workers` workers crawling every site once."""
    port, redis_dir, data = free_port(), work / f"redis-{workers}", work / f"data-{workers}"
    redis_dir.mkdir()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(redis_dir),
         "--save", "", "--appendonly", "yes"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    env = clean_env(proxy)
    client = redis.Redis(port=port, decode_responses=True)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        arshif = str(BIN / "arshif")
        start = time.monotonic()
        ingest = subprocess.Popen([arshif, "ingest", "--redis", url, "--data", str(data)], env=env,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        crawls = [
            subprocess.Popen(
                [
                    arshif,
                    "crawl",
                    "--redis",
                    url,
                    "--data",
                    str(data),
                    "--sites",
                    str(sites),
                    *keys,
                    *FAST,
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        for crawl in crawls:
            crawl.wait()
        while client.xlen("arshif:rows"):
            time.sleep(0.2)
        seconds = time.monotonic() - start
        ingest.terminate()
        ingest.wait()
    finally:
        server.terminate()
        server.wait()
    with sqlite3.connect(data / "archive.db") as db:
        responses = db.execute("SELECT count(*) FROM captures WHERE status IS NOT NULL").fetchone()[
            0
        ]
    return responses, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument("--articles", type=int, default=500, help="pages per site")
    parser.add_argument("--source", choices=("auto", "real", "generated"), default="auto")
    parser.add_argument("--work", type=Path, default=Path("/tmp/arshif-bench-cluster"))
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        print("bench-cluster needs redis-server (apt-get install redis-server)", file=sys.stderr)
        return 2
    shutil.rmtree(args.work, ignore_errors=True)
    built = build_sites(args.work / "sites", args.sites, args.articles, source=args.source)
    sites, keys = built.sites_file, built.site_keys
    server = MirrorServer(built.mirror_dir)
    proxy = server.start_in_thread()
    try:
        results = {n: run_cluster(n, keys, sites, proxy, args.work) for n in (1, 2)}
    finally:
        server.stop()
    print(f"{args.sites} {built.source} sites of {args.articles} pages, {os.cpu_count()} cores:")
    for n, (responses, seconds) in results.items():
        print(
            f"  {n} worker(s): {responses} responses in {seconds:.1f} s = {responses / seconds:.1f} pages/s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
