"""Verdicts on models from their description and predictions (pure: no TensorFlow here).

The evaluator (a sandbox that runs no student code) describes each model and predicts on the
inputs the run plan names; the labels never leave the grader, and accuracy is computed here.
"""

from __future__ import annotations

import numpy as np

from grader.data import reber
from grader.judge import reber_verdicts
from grader.judge.leakage import accuracy_summary, accuracy_text
from grader.judge.input_bounds import reber_steps_problem
from grader.judge.verdict import Verdict

RECURRENT = {"SimpleRNN", "GRU", "LSTM", "RNN"}
CONV_PREFIX = ("Conv", "SeparableConv", "DepthwiseConv")


def _shape(shape) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"


def _layer_kinds(description: dict) -> list[str]:
    kinds = []
    for layer in description["layers"]:
        kinds.append(layer["class"])
        if layer.get("wraps"):
            kinds.append(layer["wraps"])
    return kinds


def _io_problem(description: dict, want_in: list, want_out: list) -> str | None:
    inputs = description["inputs"]
    if len(inputs) != 1 or inputs[0] != want_in:
        got = ", ".join(_shape(s) for s in inputs)
        return f"input shape is {got}, expected {_shape(want_in)}"
    if description["output"] != want_out:
        return f"output shape is {_shape(description['output'] or [])}, expected {_shape(want_out)}"
    return None


def _accuracy_scale(accuracy: float, threshold: float, floor: float) -> float:
    """Full marks at the threshold; below it 80% of the marks scaled from `floor` (0) up."""
    if accuracy >= threshold:
        return 1.0
    return round(max(0.0, 0.8 * (accuracy - floor) / (threshold - floor)), 4)


def _mnist_problem(description: dict) -> str | None:
    problem = _io_problem(description, [None, 28, 28], [None, 10])
    return problem and f"{problem} (pixels as float32 in [0, 1], one row of 10 scores per image)."


def _reber_problem(description: dict) -> str | None:
    inputs = description["inputs"]
    if len(inputs) != 1 or len(inputs[0]) != 3 or inputs[0][2] != 7:
        return f"input shape is {', '.join(_shape(s) for s in inputs)}, expected (N, T, 7): one-hot letters over T steps."
    if problem := reber_steps_problem(inputs[0][1]):  # before the grader pads 4,000 strings to it
        return problem
    if description["output"] not in ([None, 1], [None]):
        return f"output shape is {_shape(description['output'] or [])}, expected (N, 1): the probability that the string is grammatical."
    return None


def shape_problem(check: str, description: dict) -> str | None:
    """What is wrong with a model's input or output shape for `check`, seen before predicting."""
    if check in ("mnist_dense", "mnist_rnn"):
        return _mnist_problem(description)
    if check == "reber_classifier":
        return _reber_problem(description)
    return None


def mnist_verdict(description: dict, predictions, labels: np.ndarray, threshold: float, recurrent: bool) -> Verdict:
    """Accuracy on the hidden test digits against `threshold`, after the task's layer rules."""
    problem = _mnist_problem(description)
    if problem:
        return Verdict(0.0, problem)
    kinds = _layer_kinds(description)
    conv = [k for k in kinds if k.startswith(CONV_PREFIX)]
    rnn = [k for k in kinds if k in RECURRENT]
    if recurrent:
        if conv:
            return Verdict(0.0, f"the model has a {conv[0]} layer; this task allows no convolutional layer.")
        if not rnn:
            return Verdict(0.0, "the model has no recurrent layer (SimpleRNN, GRU or LSTM): feed the 28 rows as 28 time steps.")
    else:
        banned = conv + rnn
        if banned:
            return Verdict(0.0, f"the model has a {banned[0]} layer; this task asks for dense layers only.")
    floor = threshold - (0.15 if recurrent else 0.08)  # no marks this far below the threshold
    if predictions is None or predictions.shape != (len(labels), 10) or not np.all(np.isfinite(predictions)):
        shape = None if predictions is None else predictions.shape
        return Verdict(0.0, f"the model's predictions on the test set are unusable (shape {shape}, or not finite).")
    correct = int(np.sum(np.argmax(predictions, axis=1) == labels))
    summary = accuracy_summary(correct, len(labels))
    accuracy = correct / len(labels)
    fraction = _accuracy_scale(accuracy, threshold, floor)
    details = {"accuracy": round(accuracy, 4), "n": int(len(labels)), "ci95": summary["ci95"], "threshold": threshold}
    shown = accuracy_text(summary)
    if fraction == 1.0:
        return Verdict(1.0, f"accuracy {shown} on the hidden test digits (needs {threshold:.0%}).", details)
    return Verdict(
        fraction,
        f"accuracy {shown} on the hidden test digits, below the {threshold:.0%} "
        f"needed for full marks (partial credit: {fraction:.0%} of the points).",
        details,
    )


def reber_verdict(description: dict, predictions, labels: np.ndarray, alpha: float) -> Verdict:
    problem = _reber_problem(description)
    if problem:
        return Verdict(0.0, problem)
    return reber_verdicts.judge_classifier(predictions, labels, alpha=alpha)


def reber_inputs_for(description: dict, strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(one-hot inputs, indices of the strings kept): padded to the model's fixed length T when it
    has one (longer strings dropped), else to the longest string."""
    steps = description["inputs"][0][1] if description and description["inputs"] else None
    if problem := reber_steps_problem(steps, n_strings=len(strings)):  # inputs are built here, in the grader's memory
        raise ValueError(problem)
    longest = max(len(s) for s in strings)
    if steps is None or steps == longest:
        return reber.one_hot_batch(strings, longest), np.arange(len(strings))
    keep = np.array([i for i, s in enumerate(strings) if len(s) <= steps], dtype=np.int64)
    return reber.one_hot_batch([strings[i] for i in keep], steps), keep
