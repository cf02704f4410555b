"""Exact binomial tests: is a classifier's accuracy better than a coin toss?

Only the standard library: terms of the binomial distribution are computed in log space
with `math.lgamma`, so nothing overflows or underflows before the final `exp`.
"""

from __future__ import annotations

import math

# Stop summing the tail once everything still to come is below e^-45 (about 3e-20) of the
# sum so far: far below double precision, so the result is unchanged.
_NEGLIGIBLE_LOG_RATIO = -45.0


def binomial_log_p_value(successes: int, n: int, p0: float = 0.5) -> float:
    """log P(X >= successes) for X ~ Binomial(n, p0); -inf when successes > n, 0.0 when <= 0.

    Unlike `binomial_p_value` this never underflows, e.g. it is n * log(1/2) for n
    successes out of n. Relative error of the p-value is about 1e-9 for n ~ 100,000 (the
    rounding of lgamma of numbers near n) and much smaller for small n.
    """
    _check_arguments(n, p0)
    if successes <= 0:
        return 0.0
    if successes > n:
        return -math.inf

    log_p, log_q = math.log(p0), math.log1p(-p0)
    log_n_factorial = math.lgamma(n + 1)

    def log_pmf(i: int) -> float:
        return log_n_factorial - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q

    # Binomial terms rise up to the mode and fall after it, so the largest term of the tail
    # is at the mode or at `successes`; scaling by it keeps every exp() in [0, 1].
    mode = min(n, math.floor((n + 1) * p0))
    log_peak = log_pmf(max(successes, mode))
    scaled_sum = 0.0
    for i in range(successes, n + 1):
        log_term = log_pmf(i) - log_peak
        scaled_sum += math.exp(log_term)
        ratio = (n - i) / (i + 1) * p0 / (1.0 - p0)  # term(i + 1) / term(i), falls as i grows
        if 0.0 < ratio < 1.0:
            # Past the mode the rest is below a geometric series: term(i) * ratio / (1 - ratio).
            log_rest_bound = log_term + math.log(ratio / (1.0 - ratio))
            if log_rest_bound < math.log(scaled_sum) + _NEGLIGIBLE_LOG_RATIO:
                break
    # Rounding can push a tail that is really 1 a hair above it; a probability is at most 1.
    return min(0.0, log_peak + math.log(scaled_sum))


def binomial_p_value(successes: int, n: int, p0: float = 0.5) -> float:
    """Exact one-sided p-value P(X >= successes) for X ~ Binomial(n, p0).

    Returns 1.0 for successes <= 0 and 0.0 for successes > n. When the true value is below
    the smallest positive double (about 5e-324, e.g. 1100 successes out of 1100 at
    p0 = 0.5) it returns 0.0; use `binomial_log_p_value` to see how small it really is.
    """
    return math.exp(binomial_log_p_value(successes, n, p0))  # exp(-inf) == 0.0


def above_chance(correct: int, n: int, alpha: float = 0.001) -> tuple[bool, float]:
    """(whether `correct` out of `n` beats guessing at significance `alpha`, the p-value)."""
    p_value = binomial_p_value(correct, n, 0.5)
    return p_value < alpha, p_value


def _check_arguments(n: int, p0: float) -> None:
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0.0 < p0 < 1.0:
        raise ValueError(f"p0 must be strictly between 0 and 1, got {p0}")
