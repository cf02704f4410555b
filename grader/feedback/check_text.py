"""Lines of `grade check` that need more than the well-formedness rules: a model's validation
accuracy beside the accuracy full marks need."""

from __future__ import annotations


def _percent(value: float) -> str:
    return f"{100 * value:.2f}".rstrip("0").rstrip(".") + "%"


def accuracy_line(accuracy: float, threshold: float | None, on: str = "the 10,000 held-out training digits") -> str:
    """ "validation accuracy 97.06% on ...; full marks need 98% on the hidden test set"."""
    line = f"validation accuracy {accuracy:.2%} on {on}"
    if threshold is None:
        return line
    verdict = "" if accuracy >= threshold else " (below it here: train longer or change the model)"
    return f"{line}; full marks need {_percent(threshold)} on the hidden test set{verdict}"
