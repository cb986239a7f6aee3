"""One crawl at a time per data directory.

Cron starts a crawl every hour whether or not the last one finished; a crawl
that finds another running leaves at once. The lock is an flock on
DATA/crawl.lock, released by the kernel if the holder dies, so a crash never
leaves a stale lock behind; the file holds the holder's pid and start time
for the message.
"""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

LOCKED_EXIT = 75  # EX_TEMPFAIL: try again later


class CrawlLocked(RuntimeError):
    """Another crawl holds the data directory."""


class CrawlLock:
    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / "crawl.lock"
        self._fd: int | None = None

    def __enter__(self) -> CrawlLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            where = self.path.parent
            raise CrawlLocked(
                f"another arshif crawl is running on {where} ({holder}); not starting"
            ) from None
        os.ftruncate(fd, 0)
        os.write(
            fd,
            f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}\n".encode(),
        )
        self._fd = fd
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
