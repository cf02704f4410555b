"""Verdicts on the embedded Reber grammar exercise, from plain data a student's code produced.

Each judge takes what the grader collected by calling the student's functions (lists of
strings, arrays of predictions) and returns a `Verdict`: the fraction of the part's marks
earned, one or two sentences for the student, and JSON-able numbers for the record. No
TensorFlow and no notebook here: the grader runs those elsewhere.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np

from grader.data.reber import (
    CHARS,
    DEFAULT_REBER_GRAMMAR,
    EMBEDDED_REBER_GRAMMAR,
    expected_length_stats,
    is_grammatical,
    is_one_substitution_from_grammatical,
    string_to_one_hot,
    typical_distinct_count,
)
from grader.judge.verdict import Verdict
from grader.judge.stats import binomial_log_p_value
from grader.wording import counted

# An honest generator's mean length over N strings is within this many standard errors of
# the true mean except with probability below 3e-9 for N = 300 (Chernoff bound on the exact
# length distribution; see tests/test_reber.py).
MEAN_LENGTH_Z = 7.0

# Honest generators produce about 111 distinct strings out of 300 (110.9 expected); requiring
# half of the typical count fails a fixed string or a handful of them. By McDiarmid's inequality (one
# string changes the count by at most 1) an honest generator falls short with probability
# below exp(-2 * 56**2 / 300) ~ 1e-9.
DISTINCT_FRACTION_REQUIRED = 0.5

# Checking "one letter away from a grammatical string" tries every position and letter, so
# its cost grows with the square of the length. An honest string is longer than this with
# probability around 1e-27, so longer ones are simply reported as implausible.
MAX_CHECKED_LENGTH = 200

# The embedded grammar's second letter (T or P) is chosen with probability 1/2 each: the long-range
# dependency the exercise teaches. Two-sided exact binomial test at this level: an honest generator
# fails with probability below 1e-6, one that takes a branch 70% of the time in 300 strings with
# p ~ 1e-11, one that never takes a branch with p = 2^-299.
BRANCH_ALPHA = 1e-6

# Caps on the score fraction for each kind of failure (the lowest applicable cap wins).
_CAP_NO_VARIETY = 0.25  # a fixed string or a handful: not a random generator at all
_CAP_WRONG_MEAN_LENGTH = 0.5  # random and grammatical, but transitions not chosen uniformly
_CAP_WRONG_BRANCHES = 0.5  # the T...T and P...P branches not taken half the time each


# --- generate_string ----------------------------------------------------------------------


GRAMMARS = {"embedded": EMBEDDED_REBER_GRAMMAR, "default": DEFAULT_REBER_GRAMMAR}


def judge_generated(strings: Sequence, grammar: str = "embedded") -> Verdict:
    """Judge N outputs of the student's `generate_string(embedded_reber_grammar)`, or of
    `generate_string(default_reber_grammar)` with grammar="default" (the question asks for both).

    Rule (the lowest applicable cap wins):
    - every output must be a str accepted by the recognizer; otherwise the fraction is at
      most 0.5 * (share of grammatical strings);
    - the number of distinct strings must be at least half what an honest generator
      typically gives for this N (about 111 for N = 300); otherwise at most 0.25;
    - the mean length must be within 7 standard errors of the true mean (12 letters, about
      +/- 1.4 for N = 300); otherwise at most 0.5;
    - (embedded grammar) the grammatical strings must take the T...T and P...P branches in the
      grammar's proportions (1/2 each): two-sided exact binomial test, p >= 1e-6; otherwise at most 0.5.
    Full marks when all four hold. Meant for N of a few hundred.
    """
    if not isinstance(strings, (list, tuple)) or not strings:
        return Verdict(0.0, "generate_string produced no strings to check.", {"n": 0})
    n = len(strings)
    texts = [s for s in strings if isinstance(s, str)]
    not_text = [s for s in strings if not isinstance(s, str)]
    rules = GRAMMARS[grammar]
    ungrammatical = [s for s in texts if not is_grammatical(s, rules)]
    n_grammatical = len(texts) - len(ungrammatical)

    caps, problems = [1.0], []
    if not_text:
        problems.append(f"{len(not_text)} of {n} outputs are not strings, e.g. {_show(not_text[0])}.")
    if ungrammatical:
        problems.append(
            f"{len(ungrammatical)} of {n} strings are not grammatical, e.g. {ungrammatical[0]!r}."
        )
    if n_grammatical < n:
        caps.append(0.5 * n_grammatical / n)

    n_distinct = len(set(texts))
    typical = _typical_distinct_count(n, grammar)
    distinct_required = DISTINCT_FRACTION_REQUIRED * typical
    if n_distinct < distinct_required:
        caps.append(_CAP_NO_VARIETY)
        problems.append(
            f"Only {counted(n_distinct, 'distinct string')} among {n} (a random generator gives about "
            f"{typical:.0f}): transitions must be chosen at random."
        )

    true_mean, true_std = expected_length_stats(rules)
    tolerance = MEAN_LENGTH_Z * true_std / math.sqrt(n)
    mean_length = float(np.mean([len(s) for s in texts])) if texts else 0.0
    if abs(mean_length - true_mean) > tolerance:
        caps.append(_CAP_WRONG_MEAN_LENGTH)
        problems.append(_length_problem(mean_length, true_mean, tolerance, n))

    branches = branch_balance([s for s in texts if s not in set(ungrammatical)] if grammar == "embedded" else [])
    if branches["p_value"] < BRANCH_ALPHA:
        caps.append(_CAP_WRONG_BRANCHES)
        problems.append(
            f"{branches['n_t']} strings take the T...T branch and {branches['n_p']} the P...P branch "
            f"(p = {branches['p_value']:.1g}): the second letter must be T or P with probability 1/2 each."
        )

    details = {
        "n": n,
        "n_not_str": len(not_text),
        "n_ungrammatical": len(ungrammatical),
        "n_distinct": n_distinct,
        "n_distinct_required": distinct_required,
        "mean_length": mean_length,
        "expected_mean_length": true_mean,
        "mean_length_tolerance": tolerance,
        "n_branch_t": branches["n_t"],
        "n_branch_p": branches["n_p"],
        "branch_p_value": branches["p_value"],
        "branch_alpha": BRANCH_ALPHA,
    }
    if not problems:
        branch_text = f", {branches['n_t']} T...T and {branches['n_p']} P...P branches" if grammar == "embedded" else ""
        message = (
            f"All {n} strings are grammatical and vary like the {grammar} grammar's "
            f"({n_distinct} distinct, mean length {mean_length:.1f}{branch_text})."
        )
        return Verdict(1.0, message, details)
    return Verdict(min(caps), " ".join(problems[:2]), details)


def _length_problem(mean_length: float, true_mean: float, tolerance: float, n: int) -> str:
    """What a mean length off the grammar's says about the generator."""
    if mean_length < true_mean:
        mistake = (
            "too short: loops are taken too rarely or the end is reached too soon; pick each state's "
            "next transition with equal chance, e.g. random.choice(transitions)"
        )
    else:
        mistake = (
            "too long: loops are taken too often; pick each state's next transition with equal "
            "chance, e.g. random.choice(transitions)"
        )
    return (
        f"The strings are {mistake} (mean length {mean_length:.1f}; the grammar gives "
        f"{true_mean:.0f} +/- {tolerance:.1f} over {n} strings)."
    )


def branch_balance(grammatical: Sequence[str]) -> dict:
    """How many embedded strings take each branch, and the two-sided exact binomial p-value of 1/2.

    The two-sided p-value is twice the smaller tail (at most 1); with p0 = 1/2 the lower tail
    P(X <= k) equals the upper tail P(X >= n - k). Computed in logs, so it never underflows to
    an exact 0 by accident before the comparison with the level.
    """
    n_t = sum(1 for s in grammatical if s[1:2] == "T")
    n = len(grammatical)
    if n == 0:
        return {"n_t": 0, "n_p": 0, "p_value": 1.0}
    log_tail = min(binomial_log_p_value(n_t, n), binomial_log_p_value(n - n_t, n))
    return {"n_t": n_t, "n_p": n - n_t, "p_value": min(1.0, 2.0 * math.exp(log_tail))}


@functools.lru_cache(maxsize=64)
def _typical_distinct_count(n: int, grammar: str = "embedded") -> float:
    # Cached: it walks ~20,000 strings, and the grader asks for the same n for every student.
    return typical_distinct_count(n, GRAMMARS[grammar])


# --- generate_corrupted_string ------------------------------------------------------------


def judge_corrupted(strings: Sequence) -> Verdict:
    """Judge N outputs of the student's `generate_corrupted_string(embedded_reber_grammar)`.

    Each output must be a str of letters from BEPSTVX, not grammatical, and one letter
    substitution away from a grammatical string. The fraction is the share of outputs that
    are right, capped at 0.25 when all outputs (two or more) are identical, and at 0.5 when the
    corruption is always at the same place (the question asks for a random position): more
    than half of N >= 20 right outputs explained by a substitution at the same index counted
    from the start, or from the end. (An honest generator puts at most ~15% at any one place.)
    """
    if not isinstance(strings, (list, tuple)) or not strings:
        return Verdict(0.0, "generate_corrupted_string produced no strings to check.", {"n": 0})
    n = len(strings)
    found = {fault: [] for fault in _CORRUPTION_FAULTS}  # fault -> outputs whose first fault it is
    for s in strings:
        fault = _corruption_fault(s)
        if fault:
            found[fault].append(s)
    n_wrong = sum(len(outputs) for outputs in found.values())
    n_distinct = len({s for s in strings if isinstance(s, str)})

    problems = [
        f"{len(outputs)} of {n} outputs {_CORRUPTION_FAULTS[fault]}, e.g. {_show(outputs[0])}."
        for fault, outputs in found.items()
        if outputs
    ]
    fraction = (n - n_wrong) / n
    if n > 1 and len(set(map(repr, strings))) == 1:
        fraction = min(fraction, _CAP_NO_VARIETY)
        problems.append(f"All {n} outputs are the same, {_show(strings[0])}: corruptions must be random.")
    wrong = {id(s) for outputs in found.values() for s in outputs}
    place, count = most_common_corruption_place([s for s in strings if id(s) not in wrong])
    if n >= 20 and count > SAME_PLACE_FRACTION * n:
        fraction = min(fraction, _CAP_SAME_PLACE)
        problems.append(
            f"{count} of {n} corruptions are at the {place}: the letter to replace must be chosen at a random position."
        )

    details = {"n": n, "n_wrong": n_wrong, "n_distinct": n_distinct, "most_common_place": place,
               "n_at_most_common_place": count}
    details.update({f"n_{fault}": len(outputs) for fault, outputs in found.items()})
    if not problems:
        message = f"All {n} strings are ungrammatical and one letter away from a grammatical string."
        return Verdict(1.0, message, details)
    return Verdict(fraction, " ".join(problems[:2]), details)


SAME_PLACE_FRACTION = 0.5
_CAP_SAME_PLACE = 0.5


def corruption_places(string: str) -> set[tuple[str, int]]:
    """Where one substitution makes `string` grammatical: ("start", i) and ("end", j) for each such index."""
    places = set()
    for index, original in enumerate(string):
        if any(c != original and is_grammatical(string[:index] + c + string[index + 1:]) for c in CHARS):
            places |= {("start", index), ("end", len(string) - 1 - index)}
    return places


def most_common_corruption_place(strings: Sequence[str]) -> tuple[str | None, int]:
    """The place (e.g. "letter 1 from the start") explaining the most corruptions, and how many."""
    counts: dict[tuple[str, int], int] = {}
    for string in strings:
        for place in corruption_places(string):
            counts[place] = counts.get(place, 0) + 1
    if not counts:
        return None, 0
    (side, index), count = max(counts.items(), key=lambda item: (item[1], item[0]))
    return f"letter {index + 1} from the {side}", count


# What can be wrong with a supposedly corrupted string, in the order it is checked.
_CORRUPTION_FAULTS = {
    "not_str": "are not strings",
    "foreign_letters": f"contain letters outside {CHARS}",
    "too_long": f"are longer than {MAX_CHECKED_LENGTH} letters",
    "grammatical": "are still grammatical",
    "not_one_substitution": "are more than one letter away from any grammatical string",
}


def _corruption_fault(s: Any) -> str | None:
    """The key of the first thing wrong with one supposedly corrupted string, or None."""
    if not isinstance(s, str):
        return "not_str"
    if set(s) - set(CHARS):
        return "foreign_letters"
    if len(s) > MAX_CHECKED_LENGTH:
        return "too_long"
    if is_grammatical(s):
        return "grammatical"
    if not is_one_substitution_from_grammatical(s):
        return "not_one_substitution"
    return None


# --- string_to_one_hot --------------------------------------------------------------------


def judge_one_hot(cases: Sequence[tuple], outputs: Sequence) -> Verdict:
    """Judge the student's `string_to_one_hot(string, n_steps)` outputs, one per (string, n_steps) case.

    Each output (array or nested list) must equal the trusted encoding: shape (n_steps, 7),
    one-hot rows in the order BEPSTVX, zero rows after the string. A case may be
    (string, n_steps, chars) to test that the function follows its `chars` argument (columns
    in that order). The fraction is the share of cases that are right; the message describes
    the first wrong one.
    """
    if len(outputs) != len(cases):
        return Verdict(0.0, f"Expected {len(cases)} encodings but got {len(outputs)}.", {"n": len(cases)})
    wrong = []
    for case, output in zip(cases, outputs):
        problem = _one_hot_problem(*case[:2], output, *case[2:])
        if problem:
            wrong.append(problem)
    n = len(cases)
    details = {"n": n, "n_wrong": len(wrong)}
    if not wrong:
        return Verdict(1.0, f"All {n} encodings match.", details)
    return Verdict((n - len(wrong)) / n, f"{len(wrong)} of {n} encodings are wrong; {wrong[0]}", details)


def _one_hot_problem(string: str, n_steps: int, output: Any, chars: str = CHARS) -> str | None:
    """What is wrong with one encoding, as a sentence, or None if it is right."""
    expected = string_to_one_hot(string, n_steps, chars)
    case = f"for {string!r} with n_steps={n_steps}" + (f" and chars={chars!r}" if chars != CHARS else "")
    try:
        actual = np.asarray(output, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{case} the output is not a numeric array ({type(output).__name__})."
    if actual.shape != expected.shape:
        return f"{case} the shape should be {expected.shape} but is {actual.shape}."
    if np.array_equal(actual, expected):
        return None
    row = int(np.argwhere(np.any(actual != expected, axis=1))[0, 0])
    shown = np.array2string(actual[row], precision=2, separator=", ")
    if row < len(string):
        return f"{case} row {row} should encode {string[row]!r} as {_as_ints(expected[row])} but is {shown}."
    return f"{case} row {row} (after the end of the string) should be all zeros but is {shown}."


def _as_ints(row: np.ndarray) -> str:
    return "[" + ", ".join(str(int(v)) for v in row) + "]"


# --- the trained classifier ---------------------------------------------------------------


def judge_classifier(probabilities: Any, labels: Any, alpha: float = 0.001) -> Verdict:
    """Judge the student's model from its predicted probabilities on `evaluation_set` strings.

    A prediction >= 0.5 means "grammatical". Passes (fraction 1.0) when the accuracy is
    above chance by an exact one-sided binomial test against 50% at level `alpha`; else 0.0.
    Predictions must have shape (N, 1) or (N,), contain no NaN or infinity, and lie in
    [0, 1] (probabilities, e.g. from a sigmoid output, not logits).
    """
    truth = np.asarray(labels).reshape(-1)
    n = len(truth)
    rejection = _prediction_problem(probabilities, n)
    if rejection:
        return Verdict(0.0, rejection, {"n": n})
    predicted = np.asarray(probabilities, dtype=np.float64).reshape(-1) >= 0.5
    correct = int(np.sum(predicted == (truth == 1)))
    accuracy = correct / n
    log_p_value = binomial_log_p_value(correct, n)  # in logs: a good model's p underflows to 0
    p_value = math.exp(log_p_value)
    log10_p_value = log_p_value / math.log(10)
    details = {
        "n": n,
        "correct": correct,
        "accuracy": accuracy,
        "p_value": p_value,
        "log10_p_value": log10_p_value,
        "alpha": alpha,
    }
    summary = f"accuracy {accuracy:.1%} on {n} fresh strings"
    p_text = _format_p(p_value, log10_p_value)
    if p_value < alpha:
        return Verdict(1.0, f"{summary} ({p_text} against chance): above chance.", details)
    return Verdict(0.0, f"{summary}, {p_text}: not above chance (needs p < {alpha:g}).", details)


def _prediction_problem(probabilities: Any, n: int) -> str | None:
    """Why the predictions cannot be judged, as a sentence, or None if they can."""
    try:
        values = np.asarray(probabilities, dtype=np.float64)
    except (TypeError, ValueError):
        return f"The predictions are not a numeric array ({type(probabilities).__name__})."
    if n == 0:
        return "There are no strings to judge the predictions on."
    if values.shape not in {(n,), (n, 1)}:
        return f"The predictions should have shape ({n}, 1) or ({n},) but have shape {values.shape}."
    n_nan = int(np.sum(~np.isfinite(values)))
    if n_nan:
        return f"{n_nan} of {n} predictions are NaN or infinite: the model did not train properly."
    if values.min() < 0.0 or values.max() > 1.0:
        return (
            f"The predictions range from {values.min():.3g} to {values.max():.3g} but should be "
            "probabilities in [0, 1] (does the model end with a sigmoid?)."
        )
    return None


def _format_p(p_value: float, log10_p_value: float) -> str:
    if p_value == 0.0:  # below the smallest double: only its logarithm says how small
        return f"p < 1e{math.ceil(log10_p_value)}"
    return f"p = {p_value:.2g}"


def _show(value: Any) -> str:
    """A short quotation of a student's output for a message: repr, plus the type if not a str."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return text if isinstance(value, str) else f"{text} ({type(value).__name__})"
