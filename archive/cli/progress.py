"""Progress of long commands: a bar on a terminal, plain lines in a log.

``reextract``, ``verify``, ``export``, ``export-wacz`` and ``reindex`` can run
for minutes. On a terminal they draw a tqdm bar (done / total, rate, time
left); anywhere else (cron, a pipe, a log file) a bar's carriage returns make
a mess, so they print a plain line every 10 % or every 30 seconds, whichever
comes first, and one at the end:

    reextract: 1200/5000 records, 85/s, ~45 s left

All of it goes to standard error, so standard output stays the command's own
(an export's JSON lines). ``--quiet`` silences it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from tqdm import tqdm

# A plain line at least this often, and at each tenth of the work.
PLAIN_EVERY_SECONDS = 30.0
PLAIN_STEPS = 10


def _amount(value: float, unit: str) -> str:
    return f"{value / 1e6:.1f}" if unit == "bytes" else f"{int(value)}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """Counts work done out of a total, shown as a bar on a terminal, as lines elsewhere.

    The total may be unknown at first (None) and told later with set_total: the
    work is often counted by the same pass that starts it.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        unit: str = "records",
        quiet: bool = False,
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.unit, self.quiet = label, unit, quiet
        self.stream = stream if stream is not None else sys.stderr
        self.tty = _isatty(self.stream) if tty is None else tty
        self.total, self.done = total, 0
        self._clock = clock
        self._start = self._last_line = clock()
        self._last_step = 0
        self._bar: tqdm | None = None
        if not quiet and self.tty:
            self._bar = tqdm(
                total=total,
                desc=label,
                unit=" B" if unit == "bytes" else f" {unit}",
                unit_scale=unit == "bytes",
                file=self.stream,
                dynamic_ncols=True,
                leave=True,
            )

    def set_total(self, total: int) -> None:
        self.total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        if self._bar is not None:
            self._bar.update(amount)
        elif not self.quiet:
            self._maybe_line()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif not self.quiet:
            elapsed = self._clock() - self._start
            rate = f", {self._rate(elapsed)}" if elapsed > 0 else ""
            self._write(f"{self._count()} in {_duration(elapsed)}{rate}")

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        elif self._bar is not None:  # stopped: leave the bar where it got to, no summary
            self._bar.close()
            self._bar = None

    # -- plain lines -----------------------------------------------------------

    def _maybe_line(self) -> None:
        now = self._clock()
        step = self.done * PLAIN_STEPS // self.total if self.total else 0
        if step > self._last_step and self.done < (self.total or 0):
            self._last_step = step
        elif now - self._last_line < PLAIN_EVERY_SECONDS:
            return
        self._last_line = now
        elapsed = now - self._start
        line = self._count()
        if elapsed > 0 and self.done:
            line += f", {self._rate(elapsed)}"
            if self.total:
                left = (self.total - self.done) / (self.done / elapsed)
                line += f", ~{_duration(left)} left"
        self._write(line)

    def _count(self) -> str:
        total = f"/{_amount(self.total, self.unit)}" if self.total is not None else ""
        unit = " MB" if self.unit == "bytes" else f" {self.unit}"
        return f"{_amount(self.done, self.unit)}{total}{unit}"

    def _rate(self, elapsed: float) -> str:
        per_second = self.done / elapsed
        if self.unit == "bytes":
            return f"{per_second / 1e6:.1f} MB/s"
        return f"{per_second:.0f}/s" if per_second >= 10 else f"{per_second:.1f}/s"

    def _write(self, text: str) -> None:
        self.stream.write(f"{self.label}: {text}\n")
        self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream: no terminal
        return False
