"""make reliability: SIGKILL trials over a generated site's crawl, then the fault matrix.

    python tools/reliability.py [--seed N] [--kills 20] [--articles 3000]

1. Kill trials (tools/kill_trials.py): a crawl of a generated site of
   --articles articles (tools/bench_crawl_memory.py's generator, served by
   mirror.server.MirrorServer) is SIGKILLed --kills times at moments drawn
   from the seed, each kill followed by checks and the next resume; a last
   resume runs to its end and the archive must hold every article once.
2. The fault matrix (tools/fault_matrix.py): every fault a server, a disk or
   a user can cause, each crawled or applied on its own, in one table row:
   fault, outcome, status reported, exit, peak RSS of the child, time.

Green: the expected outcome (status, exit code, one-line error, nothing lost)
and a peak RSS under 400 MB. Exits 1 when any trial or row is not green. As
root, the full disk is a 3 MB tmpfs and the read-only archive a read-only bind
mount; otherwise those rows say they were skipped.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mirror.server import MirrorServer  # noqa: E402
from tools import fault_matrix, kill_trials  # noqa: E402
from tools.bench_crawl_memory import HOST, build_mirror  # noqa: E402

PEAK_LIMIT_MB = 400


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, help="default: drawn, and printed")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/arshif-reliability"))
    parser.add_argument("--only", choices=["kills", "faults"])
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    print(
        f"seed {seed} (again: python tools/reliability.py --seed {seed}); load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores",
        flush=True,
    )
    fault_matrix.unmount_stale(args.work)
    mirror = args.work / "mirror"
    data = args.work / "data"
    started = time.monotonic()
    if args.only == "faults" and (data / "archive.db").is_file():
        # The matrix alone reads the last kill trials' archive again: keep it.
        for path in args.work.iterdir():
            if path in (mirror, data):
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink()
    else:
        shutil.rmtree(args.work, ignore_errors=True)
        build_mirror(mirror, args.articles, seed=seed)
    sites = mirror / "sites.toml"
    server = MirrorServer(mirror)
    proxy = server.start_in_thread()
    fetch = kill_trials.FetchKill(server.mirror)
    green = True
    try:
        if args.only != "faults":
            expected = {f"https://{HOST}/news/{n}" for n in range(1, args.articles + 1)}
            trials = kill_trials.plan(seed, args.kills)
            print(
                f"\n{args.kills} SIGKILL trials over a crawl of {args.articles:,} articles",
                flush=True,
            )
            trials, final = kill_trials.run_trials(data, sites, proxy, fetch, trials, expected)
            everything = [*trials, final]
            clean = sum(not t.problems for t in trials)
            peak = max(t.peak_mb for t in everything)
            green &= clean == len(trials) and not final.problems and peak < PEAK_LIMIT_MB
            print(
                f"{clean}/{len(trials)} kill trials clean; final resume "
                f"{'clean' if not final.problems else 'NOT clean'}; {final.articles:,} articles;"
                f" peak RSS {peak:.1f} MB",
                flush=True,
            )
        if args.only != "kills":
            rows = fault_matrix.run_matrix(args.work, proxy, sites, data)
            print()
            print(fault_matrix.table(rows, PEAK_LIMIT_MB))
            green &= all(r.green(PEAK_LIMIT_MB) for r in rows)
    finally:
        server.stop()
        fault_matrix.unmount_all()
    minutes = (time.monotonic() - started) / 60
    print(f"\n{'all green' if green else 'NOT all green'} in {minutes:.1f} min (seed {seed})")
    return 0 if green else 1


if __name__ == "__main__":
    raise SystemExit(main())
