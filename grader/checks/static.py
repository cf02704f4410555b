"""Answers read statically (never executed): one letter, a set of letters, a dict of shapes."""

from __future__ import annotations

from dataclasses import dataclass

from grader.checks.base import Check, PartFacts
from grader.judge import static as static_judges
from grader.judge.verdict import Verdict
from grader.notebook.answers import read_choice, read_choices, read_shapes


def _reading(part, found):
    if part.kind == "choice":
        return read_choice(found, part.options)
    if part.kind == "choices":
        return read_choices(found, part.options)
    return read_shapes(found, part.keys or [])


@dataclass(frozen=True)
class StaticCheck(Check):
    def judge(self, part, facts: PartFacts, settings, ctx) -> Verdict:
        verdict = static_judges.JUDGES[part.kind](part, facts.static)
        reading = _reading(part, facts.static)
        if reading.value is not None and part.kind != "shapes":
            # the answer as data, for the class report's count of who chose what
            verdict.details["answer"] = reading.value if part.kind == "choice" else sorted(reading.value)
        return verdict

    def well_formed(self, part, facts: PartFacts, settings) -> tuple[bool, str]:
        reading = _reading(part, facts.static)
        if reading.ok:
            return True, "answered" + (f" ({reading.note})" if reading.note else "")
        return False, reading.problem


CHECKS = [StaticCheck("choice", "choice"), StaticCheck("choices", "choices"), StaticCheck("shapes", "shapes")]
