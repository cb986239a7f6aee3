"""The disk reserve: a file of real blocks a crawl keeps in its data directory, and
deletes the moment the disk refuses a write, so that the failure can be recorded.

A full disk refuses every write, the last ones too: without room, the run's row in
archive.db could not be updated (it stayed ``running``, the cause unsaid), and the
next run had to close it. SQLite rolls back the transaction the full disk broke and
its connection stays usable (tried on a tmpfs: the same connection's ``UPDATE`` of
the run row fails while the disk is full and succeeds once the reserve is gone), so
freeing the reserve first is enough for the run to end ``failed`` with its cause.
CockroachDB keeps such a file for the same reason (``EMERGENCY_BALLAST``); the name
also tells an operator who finds the disk full that this file may go.

Its blocks are allocated (``posix_fallocate``, zeros written where that is not
supported), never a sparse file: a sparse file frees nothing when deleted.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

BALLAST_NAME = "EMERGENCY_BALLAST"
DEFAULT_SIZE = 1 << 20  # the run row, the WAL frames of its update, a log line or two
_CHUNK = 1 << 16


def ballast_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / BALLAST_NAME


def reserve(data_dir: str | Path, size: int = DEFAULT_SIZE) -> bool:
    """Make sure data_dir holds a ballast of `size` allocated bytes; True when it had to
    be made (or grown). Raises OSError when the disk cannot give it, after removing
    whatever part was made: half a reserve would hold space the failing run needs."""
    path = ballast_path(data_dir)
    try:
        if os.stat(path).st_blocks * 512 >= size:
            return False
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        try:
            os.posix_fallocate(fd, 0, size)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
            _write_zeros(fd, size)  # a filesystem without fallocate
        os.fsync(fd)
    except OSError:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    return True


def _write_zeros(fd: int, size: int) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    chunk = b"\0" * _CHUNK
    written = 0
    while written < size:
        written += os.write(fd, chunk[: min(_CHUNK, size - written)])


def release(data_dir: str | Path) -> int:
    """Delete the ballast; the bytes it held (0: there was none, or it is gone already)."""
    path = ballast_path(data_dir)
    try:
        held = os.stat(path).st_blocks * 512
        path.unlink()
    except FileNotFoundError:
        return 0
    return held
