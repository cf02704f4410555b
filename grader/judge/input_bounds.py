"""Bounds on inputs the grader builds from what a model declares: a model file of a few KB can
declare any input length, and the grader must not build a gigabyte of inputs for it."""

from __future__ import annotations

MAX_INPUT_BYTES = 64 * 2**20  # the float32 batch the grader builds and hands to the evaluator


def max_reber_steps(n_strings: int, n_chars: int, max_bytes: int = MAX_INPUT_BYTES) -> int:
    """The most time steps a Reber model may declare: `n_strings` one-hot float32 strings of
    `n_chars` letters padded to it stay within `max_bytes` (4,000 strings of 7 letters: 599)."""
    return max(1, max_bytes // (4 * max(1, n_strings) * max(1, n_chars)))


def reber_steps_problem(steps: int | None, n_strings: int = 4000, n_chars: int = 7) -> str | None:
    """Why the grader will not pad its `n_strings` evaluation strings to a model's declared length
    `steps` (None: any length, or one within the bound)."""
    if steps is None:
        return None
    limit = max_reber_steps(n_strings, n_chars)
    if steps > limit:
        return (f"the model expects exactly {steps:,} time steps, over the {limit:,} the grader pads its strings to; "
                f"use Input(shape=(None, {n_chars})) for strings of any length.")
    return None
