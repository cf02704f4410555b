"""One small public example per function check, for `grade check`: when a student's function
fails its self-check, it is also called on this fixed input and the student sees the input, the
expected output and theirs, and can reproduce it in the notebook. Never the grader's own
inputs: these are written here, in the open, and the same for everyone.

`EXAMPLES[check]` is the call (plain data); `example_problem(check, returned)` compares what the
student's function returned with the reference answer and says it in one line, or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.data.reber import string_to_one_hot


@dataclass(frozen=True)
class Example:
    function: str
    args: tuple  # numpy arrays, ints, strs: what ProbePlan.call takes
    shown_args: str  # the call as the student would type it
    expected: Any
    kind: str  # how the probe returns it: "array", "int"


def _mlp_example() -> Example:
    X = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0]])
    Wh = np.array([[0.5, -1.0], [0.25, 0.5], [-1.0, 1.0]])
    bh = np.array([0.5, -0.5])
    Wo = np.array([[1.0, -1.0, 2.0], [0.5, 0.0, -1.0]])
    bo = np.array([0.0, 1.0, -1.0])
    expected = np.maximum(X @ Wh + bh, 0) @ Wo + bo  # the formula of the question
    shown = (
        "mlp_forward(X, Wh, bh, Wo, bo) with\n"
        "X = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0]])\n"
        "Wh = np.array([[0.5, -1.0], [0.25, 0.5], [-1.0, 1.0]]); bh = np.array([0.5, -0.5])\n"
        "Wo = np.array([[1.0, -1.0, 2.0], [0.5, 0.0, -1.0]]); bo = np.array([0.0, 1.0, -1.0])"
    )
    return Example("mlp_forward", (X, Wh, bh, Wo, bo), shown, expected, "array")


EXAMPLES: dict[str, Example] = {
    "xor_truth_table": Example("xor_network", (1, 1), "xor_network(1, 1)", 0, "int"),
    "mlp_forward": _mlp_example(),
    "reber_one_hot": Example(
        "string_to_one_hot_vectors", ("BTXSE", 7), 'string_to_one_hot_vectors("BTXSE", 7)',
        string_to_one_hot("BTXSE", 7), "array",
    ),
}


def _shown(value: Any) -> str:
    if isinstance(value, np.ndarray) or isinstance(value, list):
        array = np.asarray(value)
        if array.dtype.kind in "biuf":
            return np.array2string(array, precision=4, separator=", ", suppress_small=True)
    return repr(value)


def example_problem(check: str, returned: Any) -> str | None:
    """ "for example, xor_network(1, 1) should return 0; yours returned 1", or None when the
    student's output on the public example is right (or the check has no example)."""
    example = EXAMPLES.get(check)
    if example is None:
        return None
    expected = example.expected
    if isinstance(expected, np.ndarray):
        try:
            got = np.asarray(returned, dtype=np.float64)
        except (TypeError, ValueError):
            got = None
        if got is not None and got.shape == expected.shape and np.allclose(got, expected, atol=1e-5):
            return None
    elif returned == expected:
        return None
    return (
        f"for example, {example.shown_args}\nshould return {_shown(expected)}\n"
        f"yours returned {_shown(returned)}"
    )
