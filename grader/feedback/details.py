"""A part's `details` (plain data kept for the record) in words and numbers for people:
"accuracy 97.21%; full marks from 98%", not "accuracy: 0.9721; threshold: 0.98"."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def _percent(value: float) -> str:
    return f"{100 * value:.2f}".rstrip("0").rstrip(".") + "%"


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _decimal(value: float) -> str:
    return f"{value:.1f}"


def _p_value(value: float) -> str:
    return f"{value:.2g}"


# key -> (words, how the number is shown); keys not listed are shown with their name in words
_KNOWN: dict[str, tuple[str, Any]] = {
    "accuracy": ("accuracy", _percent),
    "threshold": ("full marks from", _percent),
    "n": ("cases checked", _count),
    "correct": ("right", _count),
    "right": ("right letters chosen", _count),
    "wrong": ("wrong letters chosen", _count),
    "n_wrong": ("wrong", _count),
    "n_distinct": ("distinct strings", _count),
    "n_distinct_required": ("distinct strings needed", _count),
    "mean_length": ("mean length", _decimal),
    "expected_mean_length": ("the grammar's mean length", _decimal),
    "mean_length_tolerance": ("allowed difference", lambda v: f"± {v:.1f}"),
    "alpha": ("significance level", _p_value),
    "p_value": ("p-value", _p_value),
}
# failure counts: shown only when not zero
_COUNTS = {
    "n_not_str": "not strings",
    "n_ungrammatical": "not grammatical",
    "n_foreign_letters": "with foreign letters",
    "n_too_long": "too long",
    "n_grammatical": "still grammatical",
    "n_not_one_substitution": "more than one letter off",
}


def _number(value: float) -> str:
    if isinstance(value, int):
        return _count(value)
    return f"{value:.3g}"


def plain_details(details: Mapping[str, Any]) -> list[str]:
    """Each detail as "words: value", numbers rounded for reading; zero failure counts left out."""
    shown = []
    for key, value in details.items():
        if key in ("log10_p_value", "leakage") or value is None:  # leakage: for the instructor's summary
            continue
        if key in _COUNTS:
            if value:
                shown.append(f"{_COUNTS[key]}: {_count(value)}")
            continue
        if key == "p_value" and value == 0 and isinstance(details.get("log10_p_value"), (int, float)):
            shown.append(f"p-value: below 1e{math.ceil(details['log10_p_value'])}")
            continue
        words, how = _KNOWN.get(key, (key.replace("_", " "), _number))
        if isinstance(value, bool):
            shown.append(f"{words}: {'yes' if value else 'no'}")
        elif isinstance(value, (int, float)):
            shown.append(f"{words}: {how(value)}")
        else:
            text = str(value)
            shown.append(f"{words}: {text if len(text) <= 120 else text[:119] + '…'}")
    return shown
