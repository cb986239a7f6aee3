"""Near-duplicate detection: a 64-bit simhash of an article's normalised Arabic text.

Two texts that differ by a few words (an auto-blog's repost of a wire story
with its own title and a "Source link") have fingerprints a few bits apart;
unrelated texts, even sharing a paragraph, are far apart. Fingerprints within
``MAX_DISTANCE`` bits always share one of four 16-bit bands exactly, so the
archive finds candidates with an indexed lookup instead of comparing every pair.
"""

from __future__ import annotations

import hashlib

from archive.normalize import stem, tokens

BITS = 64
BANDS = 4
BAND_BITS = BITS // BANDS
MAX_DISTANCE = 3
SHINGLE = 3


def simhash(text: str | None) -> int | None:
    """The text's simhash over word 3-grams of its stems, or None for a text too short to tell."""
    words = [stem(w) for w in tokens(text or "")]
    if len(words) < SHINGLE * 4:
        return None
    weights = [0] * BITS
    for i in range(len(words) - SHINGLE + 1):
        shingle = " ".join(words[i : i + SHINGLE]).encode("utf-8")
        value = int.from_bytes(hashlib.blake2b(shingle, digest_size=8).digest(), "big")
        for bit in range(BITS):
            weights[bit] += 1 if value >> bit & 1 else -1
    return sum(1 << bit for bit in range(BITS) if weights[bit] > 0)


def bands(fingerprint: int) -> list[tuple[int, int]]:
    mask = (1 << BAND_BITS) - 1
    return [(band, fingerprint >> (band * BAND_BITS) & mask) for band in range(BANDS)]


def distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def to_hex(fingerprint: int) -> str:
    return f"{fingerprint:016x}"
