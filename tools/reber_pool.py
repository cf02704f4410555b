"""The trusted Reber string generators, and the pool of strings the grader ships instead of them.

ch14.q7 asks students to write `generate_string`, `generate_corrupted_string` and a one-hot
encoder, so the grader's wheel (which students install for `grade check`) must not carry
working generators. The grader draws every Reber string it needs from a fixed pool of strings
made here once, `grader/data/reber_pool.json`; this module lives outside the `grader` package.

    python -m tools.reber_pool          # write grader/data/reber_pool.json again (same seed: same file)

Generation walks from state 0 choosing uniformly among the current state's transitions, as the
book does (Géron, *Hands-On Machine Learning*, ch14 exercise 8). Randomness always comes from an
explicit `random.Random`, so the pool is reproducible from its seed.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from grader.data.reber import CHARS, EMBEDDED_REBER_GRAMMAR, POOL_PATH, Grammar, is_grammatical

POOL_SEED = 20261204
POOL_SIZE = 10_000  # of each kind: more than the 2,000 an evaluation set draws


def generate_string(grammar: Grammar, rng: random.Random) -> str:
    """One random string of `grammar`, walking from state 0 with uniform choices."""
    state = 0
    parts = []
    while state is not None:
        production, state = rng.choice(grammar[state])
        if not isinstance(production, str):  # a nested grammar: expand it fully
            production = generate_string(production, rng)
        parts.append(production)
    return "".join(parts)


def generate_corrupted_string(
    grammar: Grammar, rng: random.Random, chars: str = CHARS, max_attempts: int = 1000
) -> str:
    """A grammatical string with one letter replaced by a different one, never grammatical.

    Unlike the book, the result is checked: a substitution can by chance produce another
    grammatical string, and such a string must not be labelled "corrupted".
    """
    for _ in range(max_attempts):
        good = generate_string(grammar, rng)
        index = rng.randrange(len(good))
        bad_char = rng.choice(sorted(set(chars) - {good[index]}))
        corrupted = good[:index] + bad_char + good[index + 1 :]
        if not is_grammatical(corrupted, grammar):
            return corrupted
    raise RuntimeError(f"no ungrammatical substitution found in {max_attempts} attempts")


def make_pool(seed: int = POOL_SEED, size: int = POOL_SIZE) -> dict:
    """Independent draws (duplicates kept: they are part of the distribution) of each kind."""
    rng = random.Random(seed)
    good = [generate_string(EMBEDDED_REBER_GRAMMAR, rng) for _ in range(size)]
    corrupted = [generate_corrupted_string(EMBEDDED_REBER_GRAMMAR, rng) for _ in range(size)]
    return {"grammar": "embedded", "seed": seed, "grammatical": good, "corrupted": corrupted}


def pool_text(pool: dict) -> str:
    return json.dumps(pool, separators=(",", ":")) + "\n"


if __name__ == "__main__":
    POOL_PATH.write_text(pool_text(make_pool()), encoding="utf-8")
    print(f"wrote {POOL_PATH}", file=sys.stderr)
