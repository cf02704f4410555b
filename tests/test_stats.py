"""The exact binomial test used to decide whether a classifier beats chance."""

import math
from fractions import Fraction

import pytest

from grader.judge.stats import above_chance, binomial_log_p_value, binomial_p_value


def exact_upper_tail(successes: int, n: int, p0: Fraction = Fraction(1, 2)) -> Fraction:
    """P(X >= successes) for X ~ Binomial(n, p0) in exact rational arithmetic."""
    a, b = p0.numerator, p0.denominator  # sum in integers, divide once: fast even for n = 4000
    numerator = sum(math.comb(n, i) * a**i * (b - a) ** (n - i) for i in range(max(successes, 0), n + 1))
    return Fraction(numerator, b**n)


def test_small_cases_match_hand_computed_values():
    assert binomial_p_value(8, 10) == pytest.approx(56 / 1024, rel=1e-12)
    assert binomial_p_value(10, 10) == pytest.approx(1 / 1024, rel=1e-12)
    assert binomial_p_value(1, 1) == pytest.approx(0.5, rel=1e-12)


def test_no_successes_needed_gives_p_value_one():
    assert binomial_p_value(0, 10) == 1.0
    assert binomial_p_value(-3, 10) == 1.0
    assert binomial_p_value(0, 0) == 1.0


def test_more_successes_than_trials_gives_p_value_zero():
    assert binomial_p_value(11, 10) == 0.0


@pytest.mark.parametrize("n, successes", [(200, 1), (200, 90), (200, 100), (200, 120), (200, 170), (200, 200)])
def test_mid_size_cases_match_exact_rational_arithmetic(n, successes):
    assert binomial_p_value(successes, n) == pytest.approx(float(exact_upper_tail(successes, n)), rel=1e-11)


@pytest.mark.parametrize("p0", [Fraction(1, 10), Fraction(1, 3), Fraction(9, 10)])
def test_other_null_probabilities_match_exact_rational_arithmetic(p0):
    for successes in (5, 20, 35, 60):
        expected = float(exact_upper_tail(successes, 60, p0))
        assert binomial_p_value(successes, 60, float(p0)) == pytest.approx(expected, rel=1e-11)


def test_55_percent_of_4000_matches_exact_value_about_1e_minus_10():
    exact = float(exact_upper_tail(2200, 4000))
    assert exact == pytest.approx(1.36e-10, rel=0.01)
    assert binomial_p_value(2200, 4000) == pytest.approx(exact, rel=1e-10)


def test_p_value_falls_as_successes_rise():
    values = [binomial_p_value(k, 500) for k in range(0, 502)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert values[0] == 1.0 and values[-1] == 0.0


def test_large_n_tails_are_complementary_and_never_exceed_one():
    # For p0 = 1/2, P(X >= k) + P(X >= n - k + 1) = P(X >= k) + P(X <= k - 1) = 1.
    n = 100_000
    for k in (49_000, 50_000, 50_001, 50_500):
        assert binomial_p_value(k, n) + binomial_p_value(n - k + 1, n) == pytest.approx(1.0, abs=1e-8)
    assert binomial_p_value(1, n) == 1.0


def test_extreme_tail_underflows_to_zero_but_its_logarithm_is_exact():
    assert binomial_p_value(100_000, 100_000) == 0.0
    assert binomial_log_p_value(100_000, 100_000) == pytest.approx(100_000 * math.log(0.5), rel=1e-12)
    assert binomial_p_value(1000, 1000) == pytest.approx(0.5**1000, rel=1e-9)  # still representable


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError):
        binomial_p_value(3, -1)
    with pytest.raises(ValueError):
        binomial_p_value(3, 10, p0=1.0)


def test_model_at_55_percent_on_4000_strings_is_above_chance():
    passed, p_value = above_chance(correct=2200, n=4000, alpha=0.001)
    assert passed and p_value < 1e-9


def test_model_at_51_percent_on_4000_strings_is_not_above_chance():
    passed, p_value = above_chance(correct=2040, n=4000, alpha=0.001)
    assert not passed and 0.05 < p_value < 0.2  # about 1.3 standard deviations above 2000


def test_exactly_half_correct_is_not_above_chance():
    passed, p_value = above_chance(correct=2000, n=4000)
    assert not passed and p_value > 0.5
