"""Compare arshif's light stemmer with the Snowball Arabic stemmer on an archive.

    python tools/compare_stemmers.py [DATA_DIR]     (default: ./data, e.g. after make demo)

For each stemmer: how many distinct index terms the archive's words become;
whether the spellings a reader expects to be one word fall together (the
issue's examples and more); which unrelated words each wrongly merges; and,
per query, how many articles a search finds (all words required).
"""

from __future__ import annotations

import re
import sqlite3
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import snowballstemmer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.normalize import stem, tokens  # noqa: E402

SNOWBALL = snowballstemmer.stemmer("arabic")
_RAW = re.compile(r"\w+")
Split = Callable[[str], list[str]]
# Each stemmer gets words the way it expects them: ours normalised by arshif,
# Snowball's raw (it does its own normalisation).
STEMMERS = {"arshif": (stem, tokens), "snowball": (SNOWBALL.stemWord, _RAW.findall)}
# Spellings a reader expects to find one another.
GROUPS = [
    ["أذربيجان", "اذربيجان", "وأذربيجان", "بأذربيجان", "أَذْرَبِيجَان", "الأذربيجانية", "لأذربيجان"],
    ["الكتاب", "والكتاب", "بالكتاب", "للكتاب"],
    ["وزارة", "الوزارة", "بوزارة", "والوزارة"],
    ["أرمينيا", "وأرمينيا", "بأرمينيا"],
    ["الأرميني", "الأرمينية", "الأرمينيين"],
    ["السوري", "السورية", "السوريين"],
    ["لبنان", "اللبنانية", "اللبناني"],
]
# Words that must stay apart.
APART = [("وزارة", "زار"), ("لبنان", "لبن"), ("الدفاع", "دفع"), ("محمد", "حمد")]


def main() -> int:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "data"
    with sqlite3.connect(data / "archive.db") as db:
        texts = [f"{t or ''} {x or ''}" for t, x in db.execute("SELECT title, text FROM articles")]
    print(f"archive: {len(texts)} articles\n")
    for name, (fn, split) in STEMMERS.items():
        stems = defaultdict(set)
        for word in {w for t in texts for w in split(t)}:
            stems[fn(word)].add(word)

        def one(word: str, fn: Callable[[str], str] = fn, split: Split = split) -> str:
            return fn(split(word)[0])

        together = sum(len({one(w) for w in group}) == 1 for group in GROUPS)
        apart = sum(one(a) != one(b) for a, b in APART)
        print(
            f"{name}: {len(stems)} index terms; {together}/{len(GROUPS)} spelling groups together;"
        )
        print(f"   {apart}/{len(APART)} unrelated pairs kept apart")
        for group in GROUPS:
            result = {w: one(w) for w in group}
            if len(set(result.values())) > 1:
                print("   split:", ", ".join(f"{w}→{s}" for w, s in result.items()))
        for a, b in APART:
            if one(a) == one(b):
                print(f"   merged: {a} and {b} → {one(a)}")
    print("\narticles found (every word required), by query:")
    for query in ["أذربيجان", "وأذربيجان", "الأذربيجانية", "أرمينيا", "وزارة الدفاع", "قره باغ"]:
        counts = []
        for fn, split in STEMMERS.values():
            wanted = [fn(w) for w in split(query)]
            counts.append(sum(all(s in {fn(w) for w in split(t)} for s in wanted) for t in texts))
        print(f"  {query:<16} arshif {counts[0]:>4}   snowball {counts[1]:>4}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
