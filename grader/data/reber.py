"""The (embedded) Reber grammar: the grader's recognizer, encodings and evaluation strings.

Grammars use the format of the book's exercise (Géron, *Hands-On Machine Learning*, ch14
exercise 8): a list of states, each a list of ``(production, next_state)`` transitions.
State 0 is the start. A production is either a letter or a whole grammar (which expands to
one full string of that grammar); ``next_state is None`` ends the string. A string's
probability is that of the walk from state 0 choosing uniformly among transitions.

ch14.q7 asks students to write the generators, and `grade check` ships this module to them:
so it holds no generator. Every string the grader needs comes from a fixed pool drawn once by
the trusted generators in `tools/reber_pool.py` (outside the package): `reber_pool.json`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
from pathlib import Path
from typing import Sequence

import numpy as np

CHARS = "BEPSTVX"

DEFAULT_REBER_GRAMMAR = [
    [("B", 1)],  # (state 0) =B=> (state 1)
    [("T", 2), ("P", 3)],  # (state 1) =T=> (state 2) or =P=> (state 3)
    [("S", 2), ("X", 4)],
    [("T", 3), ("V", 5)],
    [("X", 3), ("S", 6)],
    [("P", 4), ("V", 6)],
    [("E", None)],  # (state 6) =E=> end of string
]

EMBEDDED_REBER_GRAMMAR = [
    [("B", 1)],
    [("T", 2), ("P", 3)],
    [(DEFAULT_REBER_GRAMMAR, 4)],  # a whole default Reber string
    [(DEFAULT_REBER_GRAMMAR, 5)],
    [("T", 6)],  # the letter after the inner string repeats the one before it...
    [("P", 6)],  # ...which is the long-range dependency the RNN must learn
    [("E", None)],
]

Grammar = list  # list[list[tuple[str | Grammar, int | None]]]

POOL_PATH = Path(__file__).with_name("reber_pool.json")


# --- recognition --------------------------------------------------------------------------


def is_grammatical(string: str, grammar: Grammar = EMBEDDED_REBER_GRAMMAR) -> bool:
    """Whether a walk through `grammar` can produce exactly `string`.

    Simulates the grammar as a nondeterministic machine over all positions, so it needs
    neither a deterministic grammar nor a particular nesting depth. (A grammar whose nested
    grammar could produce the empty string at the same position forever is not supported;
    the Reber grammars consume at least one letter per transition.)
    """
    if not isinstance(string, str):
        return False
    return len(string) in _match_ends(string, 0, grammar, memo={})


def _match_ends(string: str, start: int, grammar: Grammar, memo: dict) -> frozenset[int]:
    """All positions `end` such that string[start:end] is one complete string of `grammar`."""
    key = (id(grammar), start)  # grammars are lists (unhashable); they outlive the memo
    if key not in memo:
        ends = set()
        seen = set()
        pending = [(0, start)]  # (state, position) configurations still to expand
        while pending:
            state, position = pending.pop()
            if (state, position) in seen:
                continue
            seen.add((state, position))
            for production, next_state in grammar[state]:
                for after in _production_ends(string, position, production, memo):
                    if next_state is None:
                        ends.add(after)
                    else:
                        pending.append((next_state, after))
        memo[key] = frozenset(ends)
    return memo[key]


def _production_ends(string: str, position: int, production, memo: dict) -> Sequence[int]:
    """Where `production` (a letter or a nested grammar) can end if it starts at `position`."""
    if isinstance(production, str):
        return [position + len(production)] if string.startswith(production, position) else []
    return _match_ends(string, position, production, memo)


def is_one_substitution_from_grammatical(
    string: str, grammar: Grammar = EMBEDDED_REBER_GRAMMAR, chars: str = CHARS
) -> bool:
    """Whether replacing exactly one letter of `string` by a letter of `chars` makes it grammatical.

    Brute force over every position and letter: slow-ish but obviously right.
    """
    for index, original in enumerate(string):
        for char in chars:
            if char != original and is_grammatical(string[:index] + char + string[index + 1 :], grammar):
                return True
    return False


# --- encoding -----------------------------------------------------------------------------


def string_to_one_hot(string: str, n_steps: int, chars: str = CHARS) -> np.ndarray:
    """float32 array (n_steps, len(chars)): row i one-hot encodes string[i]; rows after the end are 0."""
    if n_steps < len(string):
        raise ValueError(f"string of length {len(string)} does not fit in {n_steps} steps")
    unknown = sorted(set(string) - set(chars))
    if unknown:
        raise ValueError(f"letter {unknown[0]!r} of {string!r} is not one of {chars!r}")
    rows = np.zeros((n_steps, len(chars)), dtype=np.float32)
    rows[: len(string)] = np.eye(len(chars), dtype=np.float32)[[chars.index(c) for c in string]]
    return rows


def one_hot_batch(strings: Sequence[str], n_steps: int, chars: str = CHARS) -> np.ndarray:
    """float32 array (len(strings), n_steps, len(chars)) of `string_to_one_hot` encodings."""
    batch = np.zeros((len(strings), n_steps, len(chars)), dtype=np.float32)
    for index, string in enumerate(strings):
        batch[index] = string_to_one_hot(string, n_steps, chars)
    return batch


# --- the evaluation set -------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _pool() -> dict:
    return json.loads(POOL_PATH.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def pool_digest() -> str:
    """Of the pool file: a run plan names it, so a new pool runs the notebooks again."""
    return hashlib.sha256(POOL_PATH.read_bytes()).hexdigest()[:16]


def pool_strings(kind: str = "grammatical") -> list[str]:
    """The pool's embedded Reber strings: "grammatical", or "corrupted" (one letter replaced,
    checked ungrammatical). Independent draws, in the order drawn."""
    return _pool()[kind]


def evaluation_set(seed: int, n_each: int = 2000) -> tuple[list[str], np.ndarray]:
    """`n_each` grammatical and `n_each` corrupted embedded Reber strings, shuffled; deterministic
    for a seed: a sample of the pool without replacement (the pool's strings are independent draws).

    Returns (strings, labels) with labels an int64 array of shape (2 * n_each,): 1 for a
    grammatical string, 0 for a corrupted one.
    """
    rng = random.Random(seed)
    good = [(string, 1) for string in rng.sample(pool_strings("grammatical"), n_each)]
    bad = [(string, 0) for string in rng.sample(pool_strings("corrupted"), n_each)]
    pairs = good + bad
    rng.shuffle(pairs)
    strings = [string for string, _ in pairs]
    labels = np.array([label for _, label in pairs], dtype=np.int64)
    return strings, labels


# --- distribution facts (for judging students' generators) -------------------------------


def length_distribution(grammar: Grammar = EMBEDDED_REBER_GRAMMAR, max_length: int = 200) -> np.ndarray:
    """pmf[L] = P(a random string of `grammar` has length L) for L = 0..max_length, computed exactly.

    Dynamic programming over lengths: every production is at least one letter long, so the
    distribution of lengths from each state at length L only needs shorter lengths. Mass
    beyond `max_length` (about 1e-27 at the default for the Reber grammars) is dropped.
    """
    n_states = len(grammar)
    from_state = np.zeros((n_states, max_length + 1))  # from_state[s, L]: P(rest has length L)
    production_pmfs = [[_production_pmf(p, max_length) for p, _ in transitions] for transitions in grammar]
    finished = np.zeros(max_length + 1)
    finished[0] = 1.0  # after a final transition nothing more is produced
    for length in range(1, max_length + 1):
        for state, transitions in enumerate(grammar):
            total = 0.0
            for (_, next_state), production in zip(transitions, production_pmfs[state]):
                rest = finished if next_state is None else from_state[next_state]
                # P(production has length a) * P(rest has length L - a), for a = 1..L
                total += float(np.dot(production[1 : length + 1], rest[length - 1 :: -1]))
            from_state[state, length] = total / len(transitions)
    return from_state[0]


def _production_pmf(production, max_length: int) -> np.ndarray:
    """Length pmf of one production: a letter has its fixed length, a grammar its distribution."""
    if isinstance(production, str):
        pmf = np.zeros(max_length + 1)
        pmf[len(production)] = 1.0
        return pmf
    pmf = length_distribution(production, max_length)
    assert pmf[0] == 0.0, "a nested grammar must produce at least one letter"
    return pmf


def expected_length_stats(grammar: Grammar = EMBEDDED_REBER_GRAMMAR) -> tuple[float, float]:
    """(mean, standard deviation) of the length of a random string of `grammar`, exact.

    For the default Reber grammar the mean is 8; the embedded one adds 4 letters (B, T/P,
    T/P, E), so its mean is 12.
    """
    pmf = length_distribution(grammar)
    lengths = np.arange(len(pmf))
    mean = float(np.dot(pmf, lengths))
    variance = float(np.dot(pmf, (lengths - mean) ** 2))
    return mean, math.sqrt(variance)


def typical_distinct_count(n_strings: int, grammar: Grammar = EMBEDDED_REBER_GRAMMAR, min_probability: float = 1e-7) -> float:
    """Expected number of distinct strings among `n_strings` independent random strings of `grammar`:
    the sum over strings s of 1 - (1 - P(s))^n. Strings less likely than `min_probability` are
    counted as n * P(s) (their exact term differs by less than (n P(s))^2 / 2 each)."""
    probabilities, rare_mass = string_probabilities(grammar, min_probability)
    return float(sum(1.0 - (1.0 - p) ** n_strings for p in probabilities.values()) + n_strings * rare_mass)


def string_probabilities(grammar: Grammar, min_probability: float) -> tuple[dict[str, float], float]:
    """({string: probability} of every string of `grammar` at least `min_probability` likely,
    the total probability of the others), by walking every path from state 0."""
    found: dict[str, float] = {}
    rare = 0.0
    nested: dict[int, tuple[dict[str, float], float]] = {}
    pending = [(0, "", 1.0)]
    while pending:
        state, text, p = pending.pop()
        share = p / len(grammar[state])
        for production, next_state in grammar[state]:
            if isinstance(production, str):
                pieces = [(production, 1.0)]
            else:
                if id(production) not in nested:
                    nested[id(production)] = string_probabilities(production, min_probability)
                inner, inner_rare = nested[id(production)]
                rare += share * inner_rare
                pieces = list(inner.items())
            for piece, q in pieces:
                if share * q < min_probability:
                    rare += share * q
                elif next_state is None:
                    found[text + piece] = found.get(text + piece, 0.0) + share * q
                else:
                    pending.append((next_state, text + piece, share * q))
    return found, rare
