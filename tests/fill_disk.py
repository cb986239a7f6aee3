"""`arshif`, with the filesystem under its data directory filled at a chosen moment.

    python -m tests.fill_disk WHEN LEAVE arshif-arguments...

WHEN is `save_article`, `finish_run` or `write_exchange`, optionally `:N` (the Nth
call, default the first): just before that call runs, a file `filler` in the data
directory (`--data`) takes every free byte of its filesystem but LEAVE. Nothing is
faked: the write that follows meets the kernel's own ENOSPC. On a tmpfs of a few MB
this makes a full disk land exactly where a crawl of minutes met it once in 14
runs: during an archive.db write (save_article, the run row's end) or inside a WARC
record (write_exchange with LEAVE smaller than the record).
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Any

from archive.capture.warc import WarcFileWriter
from archive.store.writer import Archive

TARGETS: dict[str, type] = {
    "save_article": Archive,
    "finish_run": Archive,
    "write_exchange": WarcFileWriter,
}
FILLER = "filler"


def free_bytes(directory: Path) -> int:
    stat = os.statvfs(directory)
    return stat.f_bavail * stat.f_frsize


def fill(directory: Path, leave: int) -> int:
    """Grow directory/filler until its filesystem has at most `leave` bytes free; returns
    the bytes free after. Blocks are allocated for real (no sparse file)."""
    fd = os.open(directory / FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        if (extra := free_bytes(directory) - leave) > 0:
            try:
                os.posix_fallocate(fd, os.fstat(fd).st_size, extra)
            except OSError as e:
                if e.errno not in (errno.ENOSPC, errno.EOPNOTSUPP, errno.EINVAL):
                    raise
        chunk = b"\0" * 4096
        while leave == 0:  # a full disk: nothing at all left, down to the last block
            try:
                os.write(fd, chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
    finally:
        os.close(fd)
    return free_bytes(directory)


def _data_dir(args: list[str]) -> Path:
    for n, arg in enumerate(args):
        if arg == "--data":
            return Path(args[n + 1])
        if arg.startswith("--data="):
            return Path(arg.removeprefix("--data="))
    raise SystemExit("fill_disk: pass --data DIR")


def install(when: str, leave: int, data_dir: Path) -> None:
    name, _, nth = when.partition(":")
    owner = TARGETS[name]
    real = getattr(owner, name)
    calls = [0]

    def filled_first(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == int(nth or 1):
            fill(data_dir, leave)
        return real(self, *args, **kwargs)

    setattr(owner, name, filled_first)


def main() -> None:
    when, leave, *args = sys.argv[1:]
    install(when, int(leave), _data_dir(args))
    from archive.cli import main as arshif

    sys.argv = ["arshif", *args]
    arshif()


if __name__ == "__main__":
    main()
