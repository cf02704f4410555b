"""`--shard K/N`: split a class into N stable shares for plain job arrays.

The ids are sorted and dealt round-robin, so every id is in exactly one shard, the shards of a
class differ in size by at most one, and each holds a mix of students (a class sorted by name
keeps a student's notebooks apart, which spreads heavy and light assignments alike).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """"K/N" -> (K, N), 1 <= K <= N; ValueError with the fix otherwise."""
    match = _SHARD.match(text)
    if not match:
        raise ValueError(f"--shard {text!r}: use K/N, e.g. 2/8 (shard 2 of 8)")
    k, n = int(match[1]), int(match[2])
    if not 1 <= k <= n:
        raise ValueError(f"--shard {text!r}: K must be between 1 and N")
    return k, n


def shard(ids: Iterable[str], k: int, n: int) -> list[str]:
    """The ids shard K of N runs (1-based), in sorted order."""
    if not 1 <= k <= n:
        raise ValueError(f"shard {k}/{n}: K must be between 1 and N")
    ordered = sorted(set(ids))
    return ordered[k - 1 :: n]


def in_shard(submissions: list, k: int, n: int) -> list:
    """The submissions (anything with .student and .assignment) of shard K of N."""
    keep = set(shard((f"{s.student}/{s.assignment}" for s in submissions), k, n))
    return [s for s in submissions if f"{s.student}/{s.assignment}" in keep]
