from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_extractor_is_at_least_as_good_as_plain_trafilatura_and_better_on_the_mirror():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "quality.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {tuple(line.split()[:2]): line.split() for line in result.stdout.splitlines()[1:]}
    assert set(rows) == {
        (s, e) for s in ("golden", "mirror", "dates") for e in ("arshif", "trafilatura")
    }
    assert float(rows[("mirror", "arshif")][4]) > float(rows[("mirror", "trafilatura")][4])
