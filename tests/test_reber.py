"""The trusted Reber grammar implementation and the verdicts built on it."""

import itertools
import math
import random

import numpy as np
import pytest

from grader.data.reber import (
    CHARS,
    DEFAULT_REBER_GRAMMAR,
    EMBEDDED_REBER_GRAMMAR,
    POOL_PATH,
    evaluation_set,
    expected_length_stats,
    is_grammatical,
    is_one_substitution_from_grammatical,
    length_distribution,
    one_hot_batch,
    string_to_one_hot,
    pool_strings,
    string_probabilities,
    typical_distinct_count,
)
from tools.reber_pool import generate_corrupted_string, generate_string, make_pool, pool_text
from grader.judge.reber_verdicts import (
    MEAN_LENGTH_Z,
    judge_classifier,
    judge_corrupted,
    judge_generated,
    judge_one_hot,
)

EMBEDDED, DEFAULT = EMBEDDED_REBER_GRAMMAR, DEFAULT_REBER_GRAMMAR


# --- helpers: an enumeration independent of the recognizer, and realistic wrong students ----


def all_strings_up_to(grammar, max_length: int) -> set[str]:
    """Every string of `grammar` with at most `max_length` letters, by walking all paths."""
    found = set()

    def walk(state, prefix: str) -> None:
        if len(prefix) > max_length:
            return
        if state is None:
            found.add(prefix)
            return
        for production, next_state in grammar[state]:
            if isinstance(production, str):
                walk(next_state, prefix + production)
            else:
                for inner in all_strings_up_to(production, max_length - len(prefix)):
                    walk(next_state, prefix + inner)

    walk(0, "")
    return found


def biased_generate_string(grammar, rng: random.Random, first_probability: float) -> str:
    """A student's generator that takes a state's first transition with `first_probability`.

    (One that *always* takes the first transition never ends: state 2's first transition
    loops back to state 2. With first_probability=0 it always takes the last one.)
    """
    state, parts = 0, []
    while state is not None:
        transitions = grammar[state]
        index = 0 if rng.random() < first_probability else len(transitions) - 1
        production, state = transitions[index]
        if not isinstance(production, str):
            production = biased_generate_string(production, rng, first_probability)
        parts.append(production)
    return "".join(parts)


def honest_strings(n: int, seed: int, grammar=EMBEDDED) -> list[str]:
    rng = random.Random(seed)
    return [generate_string(grammar, rng) for _ in range(n)]


def honest_corruptions(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [generate_corrupted_string(EMBEDDED, rng) for _ in range(n)]


# --- the grammars -------------------------------------------------------------------------


def test_grammars_have_the_books_structure():
    assert CHARS == "BEPSTVX"
    assert DEFAULT[1] == [("T", 2), ("P", 3)] and DEFAULT[6] == [("E", None)]
    assert EMBEDDED[2] == [(DEFAULT, 4)] and EMBEDDED[3] == [(DEFAULT, 5)]
    assert EMBEDDED[2][0][0] is DEFAULT  # the nested grammar is the default one, not a copy


def test_shortest_strings_are_the_ones_derived_by_hand():
    assert all_strings_up_to(DEFAULT, 5) == {"BTXSE", "BPVVE"}
    assert all_strings_up_to(EMBEDDED, 9) == {"BTBTXSETE", "BTBPVVETE", "BPBTXSEPE", "BPBPVVEPE"}


# --- recognizer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "string",
    ["BTXSE", "BPVVE", "BPTVVE", "BTSXSE", "BPVPSE", "BPVPXVVE", "BTXXTVVE", "BTSSXXTVVE"],
)
def test_hand_derived_default_strings_are_grammatical(string):
    assert is_grammatical(string, DEFAULT)


@pytest.mark.parametrize(
    "string",
    ["", "B", "BTXS", "TXSE", "BTXSEE", "BTSSE", "BPVE", "BTXXSE", "BPTTE", "BTXSE ", "btxse"],
)
def test_hand_derived_non_default_strings_are_rejected(string):
    assert not is_grammatical(string, DEFAULT)


@pytest.mark.parametrize(
    "string",
    ["BTBTXSETE", "BPBPVVEPE", "BTBPVPSETE", "BTBTSXSETE", "BPBTSSXXTVVEPE", "BPBPVPXVVEPE"],
)
def test_hand_derived_embedded_strings_are_grammatical(string):
    assert is_grammatical(string)


@pytest.mark.parametrize(
    "string",
    [
        "BTBTXSETX",  # wrong last letter
        "BTBTXSEPE",  # the letter after the inner string must repeat the one before it
        "BPBPVVETE",
        "BTBTXXSETE",  # the inner string is not a default Reber string
        "BTBTXSE",  # missing the outer tail
        "BTXSE",  # a default string is not an embedded one
        "BTBTXSETEE",
        "",
    ],
)
def test_hand_derived_non_embedded_strings_are_rejected(string):
    assert not is_grammatical(string)


def test_non_strings_are_not_grammatical():
    assert not is_grammatical(None)
    assert not is_grammatical(list("BTBTXSETE"))


def test_recognizer_agrees_with_enumeration_on_every_short_string():
    grammatical = all_strings_up_to(DEFAULT, 5)
    for length in range(6):
        for letters in itertools.product(CHARS, repeat=length):
            string = "".join(letters)
            assert is_grammatical(string, DEFAULT) == (string in grammatical), string


def test_recognizer_agrees_with_enumeration_on_neighbours_of_embedded_strings():
    grammatical = all_strings_up_to(EMBEDDED, 12)
    for string in all_strings_up_to(EMBEDDED, 11):
        neighbours = {string[:i] + c + string[i + 1 :] for i in range(len(string)) for c in CHARS}
        neighbours |= {string[:i] + string[i + 1 :] for i in range(len(string))}
        neighbours |= {string[:i] + c + string[i:] for i in range(len(string) + 1) for c in CHARS}
        for neighbour in neighbours:
            assert is_grammatical(neighbour) == (neighbour in grammatical), neighbour


def test_no_single_substitution_of_a_short_grammatical_string_stays_grammatical():
    # Why generate_corrupted_string's retry is a safeguard that rarely, if ever, fires.
    for grammar in (DEFAULT, EMBEDDED):
        for string in all_strings_up_to(grammar, 12):
            assert not any(
                is_grammatical(string[:i] + c + string[i + 1 :], grammar)
                for i in range(len(string))
                for c in CHARS
                if c != string[i]
            )


# --- generators ---------------------------------------------------------------------------


def test_every_generated_string_is_grammatical():
    for grammar in (DEFAULT, EMBEDDED):
        assert all(is_grammatical(s, grammar) for s in honest_strings(3000, seed=1, grammar=grammar))


def test_every_corrupted_string_is_rejected():
    rng = random.Random(2)
    for grammar in (DEFAULT, EMBEDDED):
        corrupted = [generate_corrupted_string(grammar, rng) for _ in range(3000)]
        assert not any(is_grammatical(s, grammar) for s in corrupted)


def test_corrupted_strings_are_one_letter_from_a_grammatical_string():
    assert all(is_one_substitution_from_grammatical(s) for s in honest_corruptions(300, seed=3))


def test_corruption_retries_when_a_substitution_stays_grammatical():
    # In this toy grammar swapping A and B keeps a string grammatical: only C can corrupt.
    toy = [[("A", 1), ("B", 1)], [("C", None)]]
    rng = random.Random(4)
    corrupted = {generate_corrupted_string(toy, rng, chars="ABC") for _ in range(200)}
    assert corrupted and not any(is_grammatical(s, toy) for s in corrupted)


def test_generation_is_deterministic_for_a_seed():
    assert honest_strings(50, seed=5) == honest_strings(50, seed=5)
    assert honest_strings(50, seed=5) != honest_strings(50, seed=6)


# --- one-hot encoding ---------------------------------------------------------------------


def test_one_hot_rows_follow_the_alphabet_and_padding_is_zero():
    encoded = string_to_one_hot("BTXSE", 8)
    assert encoded.shape == (8, 7) and encoded.dtype == np.float32
    assert [CHARS[i] for i in encoded[:5].argmax(axis=1)] == list("BTXSE")
    assert np.all(encoded[:5].sum(axis=1) == 1.0)
    assert not encoded[5:].any()
    assert encoded[0].tolist() == [1, 0, 0, 0, 0, 0, 0]  # B is first in BEPSTVX


def test_one_hot_of_a_string_filling_all_steps_has_no_padding():
    assert string_to_one_hot("BPVVE", 5).sum() == 5.0


def test_one_hot_rejects_a_string_longer_than_n_steps():
    with pytest.raises(ValueError):
        string_to_one_hot("BTBTXSETE", 8)


def test_one_hot_rejects_letters_outside_the_alphabet():
    with pytest.raises(ValueError):
        string_to_one_hot("BTXQE", 8)


def test_one_hot_batch_stacks_the_encodings():
    strings = ["BTXSE", "BPBPVVEPE", ""]
    batch = one_hot_batch(strings, 12)
    assert batch.shape == (3, 12, 7) and batch.dtype == np.float32
    for row, string in zip(batch, strings):
        assert np.array_equal(row, string_to_one_hot(string, 12))
    assert one_hot_batch([], 12).shape == (0, 12, 7)


# --- evaluation set -----------------------------------------------------------------------


def test_evaluation_set_is_balanced_and_labelled_by_the_recognizer():
    strings, labels = evaluation_set(seed=7, n_each=500)
    assert len(strings) == len(labels) == 1000
    assert labels.sum() == 500
    assert [int(is_grammatical(s)) for s in strings] == labels.tolist()


def test_evaluation_set_is_shuffled():
    _, labels = evaluation_set(seed=7, n_each=500)
    assert 0 < labels[:500].sum() < 500


def test_evaluation_set_is_deterministic_per_seed_and_differs_across_seeds():
    first, first_labels = evaluation_set(seed=8, n_each=200)
    again, again_labels = evaluation_set(seed=8, n_each=200)
    other, _ = evaluation_set(seed=9, n_each=200)
    assert first == again and np.array_equal(first_labels, again_labels)
    assert first != other


# --- distribution facts -------------------------------------------------------------------


def test_mean_lengths_are_the_hand_derived_8_and_12():
    # Solving E[s] = 1 + mean of E[next] over the default grammar's states gives E[0] = 8;
    # the embedded grammar wraps a default string in four more letters.
    assert expected_length_stats(DEFAULT)[0] == pytest.approx(8.0, abs=1e-9)
    assert expected_length_stats(EMBEDDED)[0] == pytest.approx(12.0, abs=1e-9)
    assert expected_length_stats(DEFAULT)[1] == pytest.approx(expected_length_stats(EMBEDDED)[1])


def test_length_distribution_matches_hand_counts_and_sums_to_one():
    pmf = length_distribution(EMBEDDED)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    assert pmf[:9].sum() == 0.0
    assert pmf[9] == pytest.approx(4 / 16)  # four strings of length 9, each with probability 1/16


def test_sampled_lengths_agree_with_the_exact_distribution():
    lengths = np.array([len(s) for s in honest_strings(20_000, seed=10)])
    mean, std = expected_length_stats()
    assert lengths.mean() == pytest.approx(mean, abs=0.1)  # 0.1 is over 4 standard errors
    assert lengths.std() == pytest.approx(std, abs=0.15)


def test_mean_length_check_rarely_fails_an_honest_generator():
    # Chernoff: P(sample mean >= m + t) <= exp(-N * (lam * (m + t) - log E[exp(lam * L)]))
    # for every lam > 0 (and symmetrically for lam < 0), computed on the exact pmf.
    pmf = length_distribution(EMBEDDED)
    lengths = np.arange(len(pmf))
    mean, std = expected_length_stats()
    n = 300
    tolerance = MEAN_LENGTH_Z * std / math.sqrt(n)

    def chernoff_bound(threshold: float, lams: np.ndarray) -> float:
        exponents = [lam * threshold - math.log(np.dot(pmf, np.exp(lam * lengths))) for lam in lams]
        return math.exp(-n * max(exponents))

    too_long = chernoff_bound(mean + tolerance, np.linspace(0.001, 0.3, 300))
    too_short = chernoff_bound(mean - tolerance, np.linspace(-3.0, -0.001, 300))
    assert too_long + too_short < 1e-8


def test_honest_strings_are_varied():
    assert typical_distinct_count(300) > 100  # about 111: no string is more likely than 1/16


def test_string_probabilities_agree_with_enumeration_and_sampling():
    probabilities, rare = string_probabilities(EMBEDDED, 1e-7)
    assert sum(probabilities.values()) + rare == pytest.approx(1.0, abs=1e-9)
    short = {s for s in probabilities if len(s) <= 14}
    assert short == all_strings_up_to(EMBEDDED, 14)  # every short string, and only grammatical ones
    assert probabilities["BTBTXSETE"] == pytest.approx(1 / 16)  # T (1/2), then BTXSE: T, X, S (1/8)
    sampled = [len({generate_string(EMBEDDED, random.Random(k * 1000 + i)) for i in range(300)}) for k in range(40)]
    assert typical_distinct_count(300) == pytest.approx(np.mean(sampled), abs=3 * np.std(sampled) / math.sqrt(40) + 0.5)


# --- the pool the grader ships instead of a generator ---------------------------------------


def test_the_shipped_pool_is_the_one_the_trusted_generators_make():
    assert POOL_PATH.read_text(encoding="utf-8") == pool_text(make_pool())


def test_the_pool_holds_grammatical_and_one_letter_corrupted_strings():
    good, bad = pool_strings("grammatical"), pool_strings("corrupted")
    assert len(good) == len(bad) >= 4000  # an evaluation set draws 2,000 of each without replacement
    assert all(is_grammatical(s) for s in good) and not any(is_grammatical(s) for s in bad)
    assert all(is_one_substitution_from_grammatical(s) for s in bad[:300])
    mean, _ = expected_length_stats()
    assert np.mean([len(s) for s in good]) == pytest.approx(mean, abs=0.15)


def test_the_graders_package_holds_no_generator():
    import grader.data.reber as shipped

    assert not hasattr(shipped, "generate_string") and not hasattr(shipped, "generate_corrupted_string")


# --- judge_generated ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_honest_generator_gets_full_marks(seed):
    verdict = judge_generated(honest_strings(300, seed=100 + seed))
    assert verdict.fraction == 1.0, verdict.message


def test_fixed_valid_string_fails_variety_check():
    verdict = judge_generated(["BTBTXSETE"] * 300)
    assert verdict.fraction == 0.25
    assert "1 distinct string" in verdict.message


def test_a_handful_of_valid_strings_fails_variety_check():
    handful = ["BTBTXSETE", "BPBPVVEPE", "BTBPVPSETE", "BTBTSXSETE", "BPBPVPXVVEPE"]
    verdict = judge_generated(handful * 60)
    assert verdict.fraction == 0.25 and "5 distinct strings" in verdict.message


def test_always_last_transition_generator_fails():
    rng = random.Random(11)
    strings = [biased_generate_string(EMBEDDED, rng, first_probability=0.0) for _ in range(300)]
    assert set(strings) == {"BPBPVVEPE"}
    assert judge_generated(strings).fraction == 0.25


def test_generator_favouring_first_transitions_fails_mean_length_check():
    rng = random.Random(12)
    strings = [biased_generate_string(EMBEDDED, rng, first_probability=0.9) for _ in range(300)]
    verdict = judge_generated(strings)
    assert verdict.fraction == 0.5
    assert "mean length" in verdict.message
    assert verdict.details["mean_length"] > 15
    assert "too long: loops are taken too often" in verdict.message  # says which way it is off


def test_generator_favouring_last_transitions_fails_mean_length_check():
    rng = random.Random(13)
    strings = [biased_generate_string(EMBEDDED, rng, first_probability=0.25) for _ in range(300)]
    verdict = judge_generated(strings)
    assert verdict.fraction <= 0.5 and "mean length" in verdict.message
    assert "too short" in verdict.message and "too long" not in verdict.message


def test_generator_ignoring_the_nested_grammar_fails_with_an_example():
    strings = honest_strings(300, seed=14, grammar=DEFAULT)
    verdict = judge_generated(strings)
    assert verdict.fraction == 0.0
    assert "300 of 300 strings are not grammatical, e.g. " + repr(strings[0]) in verdict.message


def test_a_few_ungrammatical_strings_cost_half_the_marks_and_more():
    strings = honest_strings(300, seed=15)[:288] + ["BTSXSE"] * 12
    verdict = judge_generated(strings)
    assert verdict.fraction == pytest.approx(0.5 * 288 / 300)
    assert "12 of 300 strings are not grammatical, e.g. 'BTSXSE'" in verdict.message


def test_non_string_outputs_are_reported_with_their_type():
    strings = honest_strings(300, seed=16)[:299] + [["B", "T"]]
    verdict = judge_generated(strings)
    assert verdict.fraction < 0.5 and "(list)" in verdict.message


def test_no_generated_strings_get_nothing():
    assert judge_generated([]).fraction == 0.0


# --- judge_corrupted ----------------------------------------------------------------------


def test_honest_corruptions_get_full_marks():
    verdict = judge_corrupted(honest_corruptions(300, seed=20))
    assert verdict.fraction == 1.0, verdict.message


def test_corruption_changing_two_letters_is_rejected():
    verdict = judge_corrupted(honest_corruptions(290, seed=21) + ["BTBTXSXTX"] * 10)
    assert verdict.fraction == pytest.approx(290 / 300)
    assert "10 of 300 outputs are more than one letter away" in verdict.message
    assert not is_grammatical("BTBTXSXTX") and not is_one_substitution_from_grammatical("BTBTXSXTX")


def test_corruption_that_stays_grammatical_is_rejected():
    # e.g. a student who may "replace" a letter with itself
    rng = random.Random(22)
    unchanged = [generate_string(EMBEDDED, rng) for _ in range(30)]
    verdict = judge_corrupted(honest_corruptions(270, seed=22) + unchanged)
    assert verdict.fraction == pytest.approx(0.9)
    assert f"30 of 300 outputs are still grammatical, e.g. {unchanged[0]!r}" in verdict.message


def test_identical_corruptions_are_capped():
    verdict = judge_corrupted(["BTBTXSETX"] * 300)
    assert verdict.fraction == 0.25 and "same" in verdict.message


def test_corruptions_with_foreign_letters_or_wrong_types_are_rejected():
    verdict = judge_corrupted(honest_corruptions(298, seed=23) + ["BTBTXSETZ", None])
    assert verdict.fraction == pytest.approx(298 / 300)
    assert verdict.details["n_foreign_letters"] == 1 and verdict.details["n_not_str"] == 1


def test_absurdly_long_corruption_is_rejected_quickly():
    verdict = judge_corrupted(["B" + "T" * 100_000 + "E", "BTBTXSETX"])
    assert verdict.details["n_too_long"] == 1 and verdict.fraction == 0.5


# --- judge_one_hot ------------------------------------------------------------------------

ONE_HOT_CASES = [("BTXSE", 10), ("BPBPVVEPE", 9), ("BTBTSXSETE", 12)]


def test_correct_encodings_get_full_marks_as_arrays_lists_or_ints():
    outputs = [
        string_to_one_hot("BTXSE", 10),
        string_to_one_hot("BPBPVVEPE", 9).tolist(),
        string_to_one_hot("BTBTSXSETE", 12).astype(np.int32),  # the book's dtype
    ]
    assert judge_one_hot(ONE_HOT_CASES, outputs).fraction == 1.0


def test_transposed_encoding_reports_both_shapes():
    outputs = [string_to_one_hot(s, n) for s, n in ONE_HOT_CASES]
    outputs[0] = outputs[0].T
    verdict = judge_one_hot(ONE_HOT_CASES, outputs)
    assert verdict.fraction == pytest.approx(2 / 3)
    assert "the shape should be (10, 7) but is (7, 10)" in verdict.message


def test_encoding_without_padding_is_rejected():
    outputs = [string_to_one_hot(s, len(s)) for s, _ in ONE_HOT_CASES]
    verdict = judge_one_hot(ONE_HOT_CASES, outputs)  # the second case needs no padding
    assert verdict.fraction == pytest.approx(1 / 3) and "(5, 7)" in verdict.message


def test_encoding_in_the_wrong_letter_order_names_the_row():
    outputs = [string_to_one_hot(s, n, chars="BTSXPVE") for s, n in ONE_HOT_CASES]
    verdict = judge_one_hot(ONE_HOT_CASES, outputs)
    assert verdict.fraction == 0.0
    assert "row 1 should encode 'T' as [0, 0, 0, 0, 1, 0, 0]" in verdict.message


def test_nonzero_padding_is_rejected():
    padded_with_ones = string_to_one_hot("BTXSE", 10)
    padded_with_ones[5:] = 1.0
    verdict = judge_one_hot(ONE_HOT_CASES[:1], [padded_with_ones])
    assert verdict.fraction == 0.0 and "row 5 (after the end of the string)" in verdict.message


def test_ragged_or_missing_encodings_are_rejected():
    assert judge_one_hot(ONE_HOT_CASES, [[[1, 0], [0]]] * 3).fraction == 0.0
    assert judge_one_hot(ONE_HOT_CASES, [None] * 3).fraction == 0.0
    assert judge_one_hot(ONE_HOT_CASES, []).fraction == 0.0


# --- judge_classifier ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def labels():
    return evaluation_set(seed=30, n_each=2000)[1]


def test_accurate_classifier_passes(labels):
    probabilities = np.where(labels == 1, 0.97, 0.02).reshape(-1, 1)
    verdict = judge_classifier(probabilities, labels)
    assert verdict.fraction == 1.0
    assert verdict.message.startswith("accuracy 100.0% on 4000 fresh strings (p < 1e-")
    assert verdict.message.endswith("against chance): above chance.")


def test_classifier_at_55_percent_passes(labels):
    rng = np.random.default_rng(31)
    wrong = rng.permutation(len(labels))[:1800]  # exactly 2200 of 4000 right
    predicted = labels.astype(float)
    predicted[wrong] = 1 - predicted[wrong]
    verdict = judge_classifier(predicted, labels)
    assert verdict.details["accuracy"] == 0.55 and verdict.fraction == 1.0


def test_untrained_classifier_fails(labels):
    probabilities = np.random.default_rng(32).uniform(0.45, 0.55, size=(len(labels), 1))
    verdict = judge_classifier(probabilities, labels)
    assert verdict.fraction == 0.0
    assert "not above chance (needs p < 0.001)" in verdict.message


@pytest.mark.parametrize("constant", [0.0, 0.5, 1.0])
def test_constant_output_classifier_fails(labels, constant):
    verdict = judge_classifier(np.full((len(labels), 1), constant), labels)
    assert verdict.fraction == 0.0 and verdict.details["accuracy"] == 0.5


def test_nan_predictions_are_rejected(labels):
    probabilities = np.full((len(labels), 1), np.nan)
    verdict = judge_classifier(probabilities, labels)
    assert verdict.fraction == 0.0 and "4000 of 4000 predictions are NaN" in verdict.message


@pytest.mark.parametrize("shape", [(4000, 2), (2000, 1), (1, 4000), (4000, 1, 1)])
def test_predictions_of_the_wrong_shape_are_rejected(labels, shape):
    verdict = judge_classifier(np.full(shape, 0.9), labels)
    assert verdict.fraction == 0.0
    assert f"should have shape (4000, 1) or (4000,) but have shape {shape}" in verdict.message


def test_logits_are_rejected_as_not_probabilities(labels):
    verdict = judge_classifier(np.where(labels == 1, 4.0, -4.0), labels)
    assert verdict.fraction == 0.0 and "sigmoid" in verdict.message


def test_non_numeric_predictions_are_rejected(labels):
    assert judge_classifier(["yes"] * len(labels), labels).fraction == 0.0


# --- the embedded branches (T...T versus P...P) --------------------------------------------


def one_branch_generator(n: int, seed: int, second: str) -> list[str]:
    """A student who wrote the inner walk right but always opens the embedded string with `second`."""
    rng = random.Random(seed)
    return [f"B{second}{generate_string(DEFAULT, rng)}{second}E" for _ in range(n)]


def test_a_generator_stuck_on_one_branch_loses_half_with_the_p_value_in_the_details():
    verdict = judge_generated(one_branch_generator(300, seed=3, second="P"))
    assert verdict.fraction == 0.5
    assert verdict.details["n_branch_t"] == 0 and verdict.details["n_branch_p"] == 300
    assert verdict.details["branch_p_value"] < 1e-80
    assert "0 strings take the T...T branch and 300 the P...P branch" in verdict.message


def test_a_generator_favouring_one_branch_three_to_one_loses_half():
    rng = random.Random(8)
    strings = []
    for _ in range(300):
        second = "T" if rng.random() < 0.75 else "P"
        strings.append(f"B{second}{generate_string(DEFAULT, rng)}{second}E")
    verdict = judge_generated(strings)
    assert verdict.fraction == 0.5 and verdict.details["branch_p_value"] < 1e-6


@pytest.mark.parametrize("seed", range(20))
def test_honest_generators_pass_the_branch_test_with_room(seed):
    verdict = judge_generated(honest_strings(300, seed=500 + seed))
    assert verdict.fraction == 1.0, verdict.message
    assert verdict.details["branch_p_value"] > 1e-4  # the level is 1e-6


# --- the default grammar, corruption places, the chars argument ----------------------------


def test_the_default_grammar_is_judged_against_its_own_distribution():
    verdict = judge_generated(honest_strings(300, seed=41, grammar=DEFAULT), grammar="default")
    assert verdict.fraction == 1.0, verdict.message
    assert "n_branch_t" in verdict.details and verdict.details["branch_p_value"] == 1.0
    assert judge_generated(honest_strings(300, seed=41), grammar="default").fraction < 0.5


def always_at(n: int, seed: int, pick_index) -> list[str]:
    """A student who corrupts a grammatical string at a place of their choosing, by a random other letter."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        good = generate_string(EMBEDDED, rng)
        index = pick_index(good)
        bad = good[:index] + rng.choice(sorted(set(CHARS) - {good[index]})) + good[index + 1:]
        if not is_grammatical(bad):
            out.append(bad)
    return out


@pytest.mark.parametrize("pick_index, place", [(lambda s: 0, "letter 1 from the start"),
                                               (lambda s: len(s) - 1, "letter 1 from the end"),
                                               (lambda s: len(s) - 2, "letter 2 from the end")])
def test_corruptions_always_at_the_same_place_lose_half(pick_index, place):
    verdict = judge_corrupted(always_at(200, seed=5, pick_index=pick_index))
    assert verdict.fraction == 0.5, verdict.message
    assert verdict.details["most_common_place"] == place
    assert f"corruptions are at the {place}" in verdict.message


@pytest.mark.parametrize("seed", range(5))
def test_honest_corruptions_are_spread_over_the_string(seed):
    verdict = judge_corrupted(honest_corruptions(200, seed=900 + seed))
    assert verdict.fraction == 1.0, verdict.message
    assert verdict.details["n_at_most_common_place"] < 0.3 * 200


def test_one_hot_must_follow_the_chars_argument():
    chars = "XVTSPEB"
    cases = [("BTBTXSETE", 12, chars), ("BPBPVVEPE", 9)]
    follows = [string_to_one_hot("BTBTXSETE", 12, chars), string_to_one_hot("BPBPVVEPE", 9)]
    assert judge_one_hot(cases, follows).fraction == 1.0
    ignores = [string_to_one_hot("BTBTXSETE", 12), string_to_one_hot("BPBPVVEPE", 9)]
    verdict = judge_one_hot(cases, ignores)
    assert verdict.fraction == 0.5 and "chars='XVTSPEB'" in verdict.message
