"""What every check is: one object that says what a run must produce for a part, how a run
record is judged against the key, and how `grade check` tells "well formed" without the key.

A check never runs student code and never starts a sandbox: the run stage (grader/run/) does
what a part's plan asks, and the check reads the facts it left in the run record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from grader.judge.verdict import Verdict

MODES = ("grade", "check")  # grade: hidden inputs, judged with the key; check: a student's self-check


@dataclass
class PartPlan:
    """What the run stage must do for one part: plain data, and arrays kept beside it."""

    calls: list[dict] = field(default_factory=list)  # probe calls: id, function, args, as, repeat
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # call inputs, by name
    signatures: list[str] = field(default_factory=list)  # functions whose signature is read
    model: dict | None = None  # {"file", "inputs": [input set names], "reber": {"seed", "n_each"}}
    describe_models: bool = False  # models returned by the calls are described by the evaluator
    training: bool = False  # checkpoints, TensorBoard logs and a re-run of the last .fit( cell

    def call(self, function: str, args: list, as_: str, repeat: int = 1) -> str:
        """Add a call; numpy arrays among `args` travel as arrays. Returns the call's local id."""
        call_id = f"c{len(self.calls)}"
        encoded = []
        for k, arg in enumerate(args):
            if isinstance(arg, np.ndarray):
                name = f"{call_id}_a{k}"
                self.arrays[name] = arg
                encoded.append({"array": name})
            else:
                encoded.append(arg)
        self.calls.append({"id": call_id, "function": function, "args": encoded, "as": as_, "repeat": repeat})
        if function not in self.signatures:
            self.signatures.append(function)
        return call_id

    def to_json(self) -> dict:
        return {
            "calls": self.calls,
            "signatures": self.signatures,
            "model": self.model,
            "describe_models": self.describe_models,
            "training": self.training,
        }


@dataclass
class CallResult:
    ok: bool
    error: str | None
    values: list[Any]  # str / int / array / {"model": ...}
    exception: str | None = None  # the exception's type name when the call raised
    models: list[dict] = field(default_factory=list)  # evaluator facts on returned models, when asked


@dataclass
class PartFacts:
    """What the run record holds for one part, with arrays put back in place."""

    plan: dict
    inputs: dict[str, list] = field(default_factory=dict)  # call id -> args as passed
    calls: dict[str, CallResult] = field(default_factory=dict)
    signatures: dict[str, dict] = field(default_factory=dict)
    missing_reason: str | None = None  # why there are no call results at all
    static: Any = None  # grader.notebook.answers.Found of a static part
    definitions: dict[str, dict] = field(default_factory=dict)  # function name -> source, cell, line
    model: dict | None = None  # facts about the model file: present, description, predictions...
    training: dict | None = None  # checkpoints, events, rerun

    def result(self, call_id: str) -> CallResult:
        if self.missing_reason:
            return CallResult(False, self.missing_reason, [])
        return self.calls.get(call_id) or CallResult(False, "the grader's call was not made", [])


@dataclass
class JudgeContext:
    """What judging needs besides the record and the key: hidden labels, the reference builds."""

    mnist_labels: np.ndarray | None = None  # the official test labels: never leave this process
    reference: Callable[[str, str, list], dict | None] | None = None  # (source, function, args) -> description
    sealed_labels: np.ndarray | None = None  # labels of the sealed training digits: never leave this process


@dataclass(frozen=True)
class Check:
    """One check of the registry. Subclasses fill in `plan`, `judge` and `well_formed`."""

    name: str
    kind: str  # the part kind it serves: choice, choices, shapes, function, builder, model, artifacts
    defaults: dict[str, Any] = field(default_factory=dict)  # settings and their built-in values

    def plan(self, part, rng: np.random.Generator, mode: str) -> PartPlan:
        return PartPlan()

    def judge(self, part, facts: PartFacts, settings: dict[str, Any], ctx: JudgeContext) -> Verdict:
        raise NotImplementedError

    def well_formed(self, part, facts: PartFacts, settings: dict[str, Any]) -> tuple[bool, str]:
        raise NotImplementedError


def call_failed(shown: str, error: str | None, *, missing: bool = False) -> Verdict:
    """0 points: the student's function raised `error` (or, `missing`, its results never came back).
    Followed by the usual cause of a known error (feedback/hints.py)."""
    from grader.feedback.hints import error_hints

    message = f"calling {shown} failed: {error}"
    message += "".join(f" Hint: {hint}" for hint in error_hints("", str(error or "")))
    return Verdict(0.0, message, error=missing)
