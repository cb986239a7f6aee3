"""One child process of the reliability harness, measured: exit, output, peak RSS, time.

Peak resident memory comes from the kernel when the child is reaped (``os.wait4``,
in a small launcher: see LAUNCHER), so it is the child's own, not the harness's. A
child may be killed on a deadline, or by a callback polled while it runs (the kill
trials' timer).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


@dataclass
class Finished:
    code: int  # the exit status; -9 when SIGKILLed, -15 for SIGTERM
    stdout: str
    stderr: str
    peak_mb: float
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.output


def clean_env(proxy: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of an arshif child: no proxy or ARSHIF_ setting of the caller's,
    the mirror's proxy when given, then extra."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if "proxy" not in k.lower() and not k.startswith("ARSHIF_")
    }
    if proxy:
        clean |= {"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy}
    return clean | extra


def env(proxy: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a crawl child of the reliability harness."""
    return clean_env(proxy, **({"ARSHIF_CONTACT": "reliability@example.org"} | extra))


# The child runs under this small launcher, which forks it and reads its peak RSS when it
# ends. Linux carries a process's peak RSS across exec from the process it was forked
# (or vforked) from: measured straight from the harness, every child would start at the
# harness's own peak. Forked from a fresh interpreter, it starts from a few MB.
LAUNCHER = """
import os, sys
status = sys.argv[1]
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
with open(status, "w") as f:
    f.write(f"{pid}\\n")
_, code, usage = os.wait4(pid, 0)
with open(status, "a") as f:
    f.write(f"{os.waitstatus_to_exitcode(code)} {usage.ru_maxrss}\\n")
"""


def _status(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:
        return []


def run(
    args: list[str],
    environment: dict[str, str],
    timeout: float = 600,
    poll: Callable[[int, float], None] | None = None,
) -> Finished:
    """Run args to its end (or kill it at timeout); poll(pid, elapsed) is called every 20 ms
    with the pid of the command itself (for signals) once it is known."""
    with tempfile.TemporaryDirectory(prefix="arshif-child-") as tmp:
        status, out_path, err_path = (Path(tmp) / n for n in ("status", "out", "err"))
        started = time.monotonic()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            launcher = subprocess.Popen(
                [sys.executable, "-c", LAUNCHER, str(status), *args],
                env=environment, cwd=ROOT, stdout=out, stderr=err,
            )  # fmt: skip
            pid, timed_out = 0, False
            while launcher.poll() is None:
                elapsed = time.monotonic() - started
                pid = pid or int((_status(status) or [0])[0])
                if elapsed > timeout and not timed_out:
                    timed_out = True
                    with contextlib.suppress(ProcessLookupError):  # it ended a moment before
                        os.kill(pid or launcher.pid, signal.SIGKILL)
                elif poll is not None and pid:
                    poll(pid, elapsed)
                time.sleep(0.02)
        fields = _status(status)
        code, peak = (
            (int(fields[1]), int(fields[2])) if len(fields) == 3 else (launcher.returncode, 0)
        )
        return Finished(
            code,
            out_path.read_text("utf-8", "replace"),
            err_path.read_text("utf-8", "replace"),
            peak / 1024,
            time.monotonic() - started,
        )


def arshif(*args: str) -> list[str]:
    return [str(BIN / "arshif"), *args]
