"""The (embedded) Reber grammar: the grader's trusted generator, recognizer and encodings.

Grammars use the format of the book's exercise (Géron, *Hands-On Machine Learning*, ch14
exercise 8): a list of states, each a list of ``(production, next_state)`` transitions.
State 0 is the start. A production is either a letter or a whole grammar (which expands to
one full string of that grammar); ``next_state is None`` ends the string. Generation walks
from state 0 choosing uniformly among the current state's transitions, as the book does.

Randomness always comes from an explicit ``random.Random`` so that every set the grader
builds is reproducible from a seed.
"""

from __future__ import annotations

import math
import random
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


# --- generation ---------------------------------------------------------------------------


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


# --- recognition --------------------------------------------------------------------------


def is_grammatical(string: str, grammar: Grammar = EMBEDDED_REBER_GRAMMAR) -> bool:
    """Whether `generate_string(grammar, ...)` can produce exactly `string`.

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
    if len(string) > n_steps:
        raise ValueError(f"string of length {len(string)} does not fit in {n_steps} steps")
    char_to_index = {char: index for index, char in enumerate(chars)}
    output = np.zeros((n_steps, len(chars)), dtype=np.float32)
    for position, char in enumerate(string):
        if char not in char_to_index:
            raise ValueError(f"letter {char!r} of {string!r} is not one of {chars!r}")
        output[position, char_to_index[char]] = 1.0
    return output


def one_hot_batch(strings: Sequence[str], n_steps: int, chars: str = CHARS) -> np.ndarray:
    """float32 array (len(strings), n_steps, len(chars)) of `string_to_one_hot` encodings."""
    batch = np.zeros((len(strings), n_steps, len(chars)), dtype=np.float32)
    for index, string in enumerate(strings):
        batch[index] = string_to_one_hot(string, n_steps, chars)
    return batch


# --- the evaluation set -------------------------------------------------------------------


def evaluation_set(
    seed: int, n_each: int = 2000, grammar: Grammar = EMBEDDED_REBER_GRAMMAR
) -> tuple[list[str], np.ndarray]:
    """`n_each` grammatical and `n_each` corrupted strings, shuffled; deterministic for a seed.

    Returns (strings, labels) with labels an int64 array of shape (2 * n_each,): 1 for a
    grammatical string, 0 for a corrupted one.
    """
    rng = random.Random(seed)
    good = [(generate_string(grammar, rng), 1) for _ in range(n_each)]
    bad = [(generate_corrupted_string(grammar, rng), 0) for _ in range(n_each)]
    pairs = good + bad
    rng.shuffle(pairs)
    strings = [string for string, _ in pairs]
    labels = np.array([label for _, label in pairs], dtype=np.int64)
    return strings, labels


# --- distribution facts (for judging students' generators) -------------------------------


def length_distribution(grammar: Grammar = EMBEDDED_REBER_GRAMMAR, max_length: int = 200) -> np.ndarray:
    """pmf[L] = P(len(generate_string(grammar)) == L) for L = 0..max_length, computed exactly.

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


def typical_distinct_count(
    n_strings: int, grammar: Grammar = EMBEDDED_REBER_GRAMMAR, replicates: int = 20, seed: int = 0
) -> float:
    """Average number of distinct strings among `n_strings` generated ones (fixed-seed sampling).

    Estimated by sampling because the exact value needs a sum over infinitely many strings;
    with a fixed seed the number is the same on every run.
    """
    rng = random.Random(seed)
    counts = [len({generate_string(grammar, rng) for _ in range(n_strings)}) for _ in range(replicates)]
    return sum(counts) / replicates
