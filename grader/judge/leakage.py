"""Did a model earn its MNIST accuracy? Official test set versus a sealed slice, and accuracy intervals.

The official MNIST test set is public: a student can bring its digits and labels and train on
them. The grader keeps a sealed slice of the training digits that no sandbox ever sees (see
grader/data/mnist.py). An honest model is about as accurate on both; a model that has seen the
test set is much more accurate on it than on the sealed slice. Plain numbers in, plain data out.
"""

from __future__ import annotations

import math

import numpy as np

# One-sided level of the leakage test: an honest model is flagged with probability below this.
# Measured (benchmarks/README.md): 9 honest models p ~ 1; trained on train + test p = 2e-12.
LEAKAGE_ALPHA = 1e-6

# Honest models make 1.2 to 1.5 times as many errors on the sealed digits as on the official test
# set (measured: benchmarks/README.md); the sealed digits are a little harder. The test asks
# whether the sealed error rate exceeds ALLOWED_ERROR_RATIO times the test error rate beyond
# chance. A ratio, not a difference: it holds for a 95% model as for a 99% one. A model trained
# on the test set makes almost no errors on it, a ratio of 5 to 50.
ALLOWED_ERROR_RATIO = 2.0


def normal_upper_tail(z: float) -> float:
    """P(Z >= z) for a standard normal Z, accurate far into the tail (erfc, not 1 - cdf)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def leakage_test(
    test_correct: int,
    n_test: int,
    sealed_correct: int,
    n_sealed: int,
    alpha: float = LEAKAGE_ALPHA,
    allowed_ratio: float = ALLOWED_ERROR_RATIO,
) -> dict:
    """Is the model much more accurate on the official test set than on the sealed slice?

    A two-proportion test on the error rates, one-sided, on the log scale: H0 is
    e_sealed <= allowed_ratio * e_test, with z = (log(e_sealed / e_test) - log(allowed_ratio)) / se,
    se^2 = (1 - e_s) / x_s + (1 - e_t) / x_t for error counts x (the delta method for the log of a
    ratio of proportions), each count plus 0.5 so that a model with no errors on a set is still
    judged (Haldane's correction). Returns plain JSON-able data: flagged, p_value, both accuracies
    and sizes, the error ratio, alpha and the ratio allowed.
    """
    if n_test <= 0 or n_sealed <= 0:
        raise ValueError(f"both sets need digits: n_test={n_test}, n_sealed={n_sealed}")
    x_t, x_s = n_test - test_correct + 0.5, n_sealed - sealed_correct + 0.5
    e_t, e_s = x_t / (n_test + 1), x_s / (n_sealed + 1)
    ratio = e_s / e_t
    se = math.sqrt((1 - e_s) / x_s + (1 - e_t) / x_t)
    p_value = normal_upper_tail((math.log(ratio) - math.log(allowed_ratio)) / se)
    return {
        "flagged": bool(p_value < alpha),
        "p_value": p_value,
        "test_accuracy": round(test_correct / n_test, 6),
        "sealed_accuracy": round(sealed_correct / n_sealed, 6),
        "n_test": int(n_test),
        "n_sealed": int(n_sealed),
        "error_ratio": round(ratio, 4),
        "allowed_ratio": allowed_ratio,
        "alpha": alpha,
    }


def correct_count(predictions, labels) -> int:
    """How many rows of class scores (N, 10) pick the label; 0 for unusable predictions."""
    scores = np.asarray(predictions)
    truth = np.asarray(labels).reshape(-1)
    if scores.ndim != 2 or scores.shape[0] != len(truth) or not np.all(np.isfinite(scores)):
        return 0
    return int(np.sum(np.argmax(scores, axis=1) == truth))


def leakage_check(test_predictions, test_labels, sealed_predictions, sealed_labels, **options) -> dict:
    """`leakage_test` from the model's class scores on both sets and their labels."""
    return leakage_test(
        correct_count(test_predictions, test_labels),
        len(test_labels),
        correct_count(sealed_predictions, sealed_labels),
        len(sealed_labels),
        **options,
    )


def leakage_message(result: dict) -> str:
    """One sentence for the instructor's report and summary when a model is flagged."""
    return (
        f"accuracy {result['test_accuracy']:.2%} on the official test set but {result['sealed_accuracy']:.2%} "
        f"on {result['n_sealed']:,} sealed training digits no notebook can see (p = {result['p_value']:.1g}): "
        "the model may have been trained on the test set; its score stands until you decide."
    )


def wilson_interval(correct: int, n: int, confidence_z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of an accuracy (95% by default): (low, high), within [0, 1]."""
    if n <= 0:
        raise ValueError("an interval needs n > 0")
    p = correct / n
    z2 = confidence_z**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = confidence_z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if correct == 0 else max(0.0, centre - half)  # exact ends where rounding would blur them
    high = 1.0 if correct == n else min(1.0, centre + half)
    return low, high


def accuracy_summary(correct: int, n: int) -> dict:
    """Accuracy, n and its 95% Wilson interval, for reports: {"accuracy", "n", "ci95": [low, high]}."""
    low, high = wilson_interval(correct, n)
    return {"accuracy": round(correct / n, 6), "n": int(n), "ci95": [round(low, 6), round(high, 6)]}


def accuracy_text(summary: dict) -> str:
    """'98.23% (95% interval 97.95-98.47%, n = 10,000)'."""
    low, high = summary["ci95"]
    return f"{summary['accuracy']:.2%} (95% interval {100 * low:.2f}-{100 * high:.2f}%, n = {summary['n']:,})"
