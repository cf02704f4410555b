"""What "well-formed" means for each check, judged without any key."""

from __future__ import annotations

from typing import Callable

import numpy as np

from grader.judge.probe_plan import CallResult

# check -> (input shape, output shape) of the saved model, None for any size
MODEL_SHAPES = {
    "mnist_dense": ([None, 28, 28], [None, 10]),
    "mnist_rnn": ([None, 28, 28], [None, 10]),
    "reber_classifier": ([None, None, 7], [None, 1]),
}


def function_problem(check: str, context, result_of: Callable[[str], CallResult]) -> str | None:
    """A type or shape problem in what the function returned (`result_of(call_id)`), else None."""
    problem = _returned_problem(check, context, result_of)
    if problem and problem.startswith("NotImplementedError"):
        return "not written yet (it still raises NotImplementedError)"
    return problem


def _returned_problem(check: str, context, result_of: Callable[[str], CallResult]) -> str | None:
    if check == "xor_truth_table":
        for call_id in context:
            result = result_of(call_id)
            if not result.ok:
                return result.error
            if result.values[0] not in (0, 1):
                return f"returned {result.values[0]!r}; return the int 0 or 1"
        return None
    if check == "mlp_forward":
        for call_id, expected in context:
            result = result_of(call_id)
            if not result.ok:
                return result.error
            got = np.asarray(result.values[0]).shape
            if got != expected.shape:
                return f"returned shape {got} for a batch of {expected.shape[0]}; expected {expected.shape}"
        return None
    if check in ("reber_generate", "reber_corrupt"):
        result = result_of(context)
        if not result.ok:
            return result.error
        bad = [v for v in result.values if not isinstance(v, str) or not v]
        return f"returned {bad[0]!r}; return a non-empty str" if bad else None
    if check == "reber_one_hot":
        for string, n_steps, call_id in context:
            result = result_of(call_id)
            if not result.ok:
                return result.error
            got = np.asarray(result.values[0]).shape
            if got != (n_steps, 7):
                return f"for a string of {len(string)} letters and n_steps={n_steps}: shape {got}, expected ({n_steps}, 7)"
        return None
    return None


def shape_problem(description: dict, check: str) -> str | None:
    want_in, want_out = MODEL_SHAPES[check]
    inputs = description["inputs"]
    fits = lambda got, want: len(got) == len(want) and all(w is None or g == w for g, w in zip(got, want))
    if len(inputs) != 1 or not fits(inputs[0], want_in):
        return f"input shape {inputs}, expected {want_in} (None = any size)"
    if description["output"] is None or not fits(description["output"], want_out):
        return f"output shape {description['output']}, expected {want_out}"
    return None
