"""Checks of model files the notebook saves: MNIST classifiers (dense, recurrent) and the Reber
string classifier. The run stage has the evaluator describe each file and predict on the input
sets the plan names; the verdict is made here from those predictions and labels no sandbox saw."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.checks.base import Check, PartFacts, PartPlan
from grader.data import reber
from grader.feedback.check_text import accuracy_line
from grader.feedback.hints import model_hints
from grader.judge import models as verdicts
from grader.judge.leakage import leakage_check
from grader.judge.verdict import Verdict

# input and output shapes a well-formed model has for each check (None: any size)
SHAPES = {
    "mnist_dense": ([None, 28, 28], [None, 10]),
    "mnist_rnn": ([None, 28, 28], [None, 10]),
    "reber_classifier": ([None, None, 7], [None, 1]),
}
CHECK_REBER_STRINGS = 500  # of each kind, for `grade check` (seed 0: public)


def _fits(got, want) -> bool:
    return got is not None and len(got) == len(want) and all(w is None or g == w for g, w in zip(got, want))


def well_formed_shape(check: str, description: dict) -> str | None:
    want_in, want_out = SHAPES[check]
    inputs = description["inputs"]
    if len(inputs) != 1 or not _fits(inputs[0], want_in):
        return f"input shape {inputs}, expected {want_in} (None = any size)"
    if not _fits(description["output"], want_out):
        return f"output shape {description['output']}, expected {want_out}"
    return None


def file_problem(part, facts: PartFacts) -> str | None:
    """Why there is no model to judge: not saved, a link, not loadable."""
    model = facts.model or {}
    state = model.get("state", "missing")
    if state == "symlink":
        return f"{part.file} is a symbolic link; save the model itself with model.save({part.file!r})."
    if state == "missing":
        return f"{part.file} was not saved by the notebook: end the task with model.save({part.file!r})."
    if model.get("description") is None:
        return f"{part.file}: {model.get('error')}"
    return None


def unusable(check: str, part, facts: PartFacts) -> str | None:
    """For `grade check`: why the saved model cannot be used (missing, not loadable, wrong shapes)."""
    problem = file_problem(part, facts)
    if problem:
        return problem.rstrip(".")
    shape = well_formed_shape(check, facts.model["description"])
    return f"{part.file}: {shape}" if shape else None


def unpredicted(check: str, part, facts: PartFacts) -> Verdict:
    """A model that loaded but could not predict: a wrong shape says it better than Keras' error."""
    shape = verdicts.shape_problem(check, facts.model["description"])
    return Verdict(0.0, f"{part.file}: {shape or facts.model.get('error')}")


@dataclass(frozen=True)
class MnistCheck(Check):
    kind: str = "model"
    recurrent: bool = False

    def plan(self, part, rng, mode) -> PartPlan:
        # the same images unscaled too: a model trained on 0-255 pixels does better on those
        # and the sealed training digits: a model trained on the public test set does worse on those
        names = ["mnist_test", "mnist_test_raw", "mnist_sealed"] if mode == "grade" else ["mnist_validation", "mnist_validation_raw"]
        return PartPlan(model={"file": part.file, "inputs": names})

    def hints(self, facts: PartFacts, scaled: str, labels) -> list[str]:
        predictions = facts.model.get("predictions", {})
        accuracies = [
            None if predictions.get(name) is None or labels is None or predictions[name].shape != (len(labels), 10)
            else float(np.mean(np.argmax(predictions[name], axis=1) == labels))
            for name in (scaled, scaled + "_raw")
        ]
        return model_hints(facts.model["description"], self.name, *accuracies)

    def judge(self, part, facts: PartFacts, settings, ctx) -> Verdict:
        problem = file_problem(part, facts)
        if problem:
            return Verdict(0.0, problem)
        description = facts.model["description"]
        predictions = facts.model.get("predictions", {}).get("mnist_test")
        if predictions is None:
            verdict = unpredicted(self.name, part, facts)
        else:
            verdict = verdicts.mnist_verdict(description, predictions, ctx.mnist_labels, settings["threshold"], self.recurrent)
        if verdict.fraction < 1:
            verdict.message += "".join(f" Hint: {hint}" for hint in self.hints(facts, "mnist_test", ctx.mnist_labels))
        sealed = facts.model.get("predictions", {}).get("mnist_sealed")
        if predictions is not None and sealed is not None and ctx.sealed_labels is not None and "accuracy" in verdict.details:
            # the score stands: a flag is for the instructor to decide on
            verdict.details["leakage"] = leakage_check(predictions, ctx.mnist_labels, sealed, ctx.sealed_labels)
        return verdict

    def well_formed(self, part, facts: PartFacts, settings) -> tuple[bool, str]:
        problem = unusable(self.name, part, facts)
        if problem:
            return False, problem
        predictions = facts.model.get("predictions", {}).get("mnist_validation")
        labels = facts.model.get("validation_labels")
        if predictions is None or labels is None:
            return True, f"{part.file} loads; could not predict: {facts.model.get('error')}"
        accuracy = float(np.mean(np.argmax(predictions, axis=1) == labels))
        hints = "".join(f" Hint: {hint}" for hint in self.hints(facts, "mnist_validation", labels)) if accuracy < settings["threshold"] else ""
        line = accuracy_line(accuracy, settings["threshold"], on=f"the {len(labels):,} held-out training digits")
        return True, f"{part.file} loads; {line}{hints}"


@dataclass(frozen=True)
class ReberClassifier(Check):
    kind: str = "model"

    def plan(self, part, rng, mode) -> PartPlan:
        if mode == "grade":  # a sample of the pool by a seed the student cannot know
            strings = {"seed": int(rng.integers(2**31)), "n_each": 2000, "pool": reber.pool_digest()}
        else:
            strings = {"seed": 0, "n_each": CHECK_REBER_STRINGS, "pool": reber.pool_digest()}
        return PartPlan(model={"file": part.file, "reber": strings})

    @staticmethod
    def labels(facts: PartFacts) -> np.ndarray | None:
        strings = facts.model.get("reber") or {}
        kept = facts.model.get("kept")
        if kept is None:
            return None
        _, labels = reber.evaluation_set(strings["seed"], n_each=strings["n_each"])
        return labels[kept]

    def judge(self, part, facts: PartFacts, settings, ctx) -> Verdict:
        problem = file_problem(part, facts)
        if problem:
            return Verdict(0.0, problem)
        description = facts.model["description"]
        predictions = facts.model.get("predictions", {}).get("reber")
        if predictions is None:
            return unpredicted(self.name, part, facts)
        return verdicts.reber_verdict(description, predictions, self.labels(facts), settings["alpha"])

    def well_formed(self, part, facts: PartFacts, settings) -> tuple[bool, str]:
        problem = unusable(self.name, part, facts)
        if problem:
            return False, problem
        predictions = facts.model.get("predictions", {}).get("reber")
        labels = self.labels(facts)
        if predictions is None or labels is None:
            return True, f"{part.file} loads; could not predict: {facts.model.get('error')}"
        accuracy = float(np.mean((predictions.reshape(-1) >= 0.5) == labels))
        return True, f"{part.file} loads; accuracy {accuracy:.1%} on {len(labels)} fresh strings"


CHECKS = [
    MnistCheck("mnist_dense", defaults={"threshold": 0.98}),
    MnistCheck("mnist_rnn", defaults={"threshold": 0.95}, recurrent=True),
    ReberClassifier("reber_classifier", defaults={"alpha": 0.001}),
]
