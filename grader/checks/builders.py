"""Checks of builder functions: the model a student's builder returns for input sizes the grader
picks, compared layer by layer with the solution's own builder called with the same sizes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.checks.base import Check, PartFacts, PartPlan, call_failed
from grader.checks.functions import rules_broken, signature_problem
from grader.judge.builders import compare_models
from grader.judge.verdict import Verdict


@dataclass(frozen=True)
class BuilderCheck(Check):
    kind: str = "builder"
    sizes: tuple[tuple[int, int], ...] = ()  # ranges [low, high) of each argument

    def args(self, rng: np.random.Generator) -> list[int]:
        return [int(rng.integers(low, high)) for low, high in self.sizes]

    def plan(self, part, rng, mode) -> PartPlan:
        plan = PartPlan(describe_models=True)
        plan.call(part.name, self.args(rng), "model")
        return plan

    def _model(self, part, facts: PartFacts):
        """(shown call, model facts) or (shown call, a Verdict saying why there is none)."""
        call = facts.plan["calls"][0]
        shown = f"{part.name}({', '.join(map(str, call['args']))})"
        problem = signature_problem(part, facts)
        if problem and problem[0] != "params":
            return shown, Verdict(0.0, f"{problem[1]}.")
        result = facts.result(call["id"])
        if not result.ok:
            return shown, call_failed(shown, result.error, missing=bool(facts.missing_reason))
        model = result.models[0] if result.models else None
        if not model or not model.get("saved"):
            return shown, Verdict(0.0, f"the model returned by {shown} was not saved by the grader's probe.")
        if model.get("description") is None:
            return shown, Verdict(0.0, f"the model returned by {shown} could not be read: {model.get('error')}")
        return shown, model

    def judge(self, part, facts: PartFacts, settings, ctx) -> Verdict:
        shown, model = self._model(part, facts)
        if isinstance(model, Verdict):
            return model
        broken = rules_broken(part, facts)
        if broken is not None:
            return broken
        reference = ctx.reference(part.key, part.name, facts.plan["calls"][0]["args"]) if ctx.reference else None
        if reference is None:
            return Verdict(0.0, "the grader could not build the reference model; tell your instructor.", error=True)
        verdict = compare_models(model["description"], reference)
        verdict.message = f"{shown}: {verdict.message}"
        return verdict

    def well_formed(self, part, facts: PartFacts, settings) -> tuple[bool, str]:
        shown, model = self._model(part, facts)
        if isinstance(model, Verdict):
            return False, model.message
        return True, f"{shown} returns a model that loads: {len(model['description']['layers'])} layers"


CHECKS = [
    BuilderCheck("stacked_rnn", sizes=()),
    BuilderCheck("bidirectional_lstm", sizes=((500, 2000), (50, 200))),
    BuilderCheck("conv_gru", sizes=((100, 300), (1, 6))),
    BuilderCheck("gru_forecaster", sizes=((20, 60), (1, 6))),
    BuilderCheck("stacked_gru", sizes=((20, 60), (1, 6))),
]
