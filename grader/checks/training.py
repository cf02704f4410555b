"""ch10 q9's training practice: a checkpoint that loads, TensorBoard series with one point per
epoch, and a second run of the last `.fit(` cell that resumes. The run stage gathers the facts
(grader/run/stage.py); the rules are in grader/judge/artifacts.py."""

from __future__ import annotations

from dataclasses import dataclass

from grader.checks.base import Check, PartFacts, PartPlan
from grader.judge import artifacts
from grader.judge.verdict import Verdict


def _checks(facts: PartFacts, newest: int) -> list[tuple[bool, str]]:
    training = facts.training or {}
    events = training.get("events", [])
    return [
        artifacts.judge_checkpoint(training.get("checkpoints", [])[-newest:]),
        artifacts.judge_events(events),
        artifacts.judge_resume(events, training.get("rerun")),
    ]


@dataclass(frozen=True)
class TrainingPractice(Check):
    kind: str = "artifacts"

    def plan(self, part, rng, mode) -> PartPlan:
        return PartPlan(training=True)

    def judge(self, part, facts: PartFacts, settings, ctx) -> Verdict:
        return artifacts.judge_training_practice(*_checks(facts, 3))

    def well_formed(self, part, facts: PartFacts, settings) -> tuple[bool, str]:
        bad = [text for ok, text in _checks(facts, 1) if not ok]
        return (not bad), ("; ".join(bad) if bad else "checkpoint, TensorBoard logs and resuming found")


CHECKS = [TrainingPractice("training_practice")]
