"""Checks of student functions, called by the probe on inputs the grader chose.

The inputs are part of the run plan (and so of the run record); expected values are computed
from them here, at judging time, so no expected value ever reaches a sandbox.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from grader.checks.base import Check, PartFacts, PartPlan, call_failed
from grader.data import reber
from grader.feedback.examples import EXAMPLES, example_problem
from grader.judge import reber_verdicts
from grader.judge.code_rules import rules_verdict
from grader.judge.tolerance import batches_verdict
from grader.judge.verdict import Verdict


def rules_broken(part, facts: PartFacts) -> Verdict | None:
    """The verdict (0 points, the rule and the line quoted) when the code breaks a rule the
    question states, read statically from the notebook; None when every rule holds."""
    if not part.rules:
        return None
    definition = facts.definitions.get(part.name)
    if definition is None:  # a record made before the rules existed reads as "not found"
        definition = {"found": False, "problem": None}
    return rules_verdict(part.name, definition, part.rules)


def signature_problem(part, facts: PartFacts) -> tuple[str, str] | None:
    """(kind, sentence) for a missing or wrong definition, said before any call result.

    kind: "undefined" (nothing to call), "not_callable", or "params" (called anyway)."""
    if facts.missing_reason:
        return None
    found = facts.signatures.get(part.name)
    if found is None:
        return None
    if not found.get("defined", True):
        return "undefined", f"{part.name} is not defined"
    if not found.get("callable", True):
        return "not_callable", f"{part.name} is a {found.get('type', 'value')}, not a function"
    params = found.get("params")
    if params is not None and params != list(part.params):
        return "params", f"{part.name}({', '.join(params)}) should be {part.name}({', '.join(part.params)})"
    return None


@dataclass(frozen=True)
class FunctionCheck(Check):
    kind: str = "function"

    def judge(self, part, facts: PartFacts, settings, ctx) -> Verdict:
        problem = signature_problem(part, facts)
        if problem and problem[0] != "params":
            return Verdict(0.0, f"{problem[1]}.")
        broken = rules_broken(part, facts)
        if broken is not None:
            return broken
        verdict = self.judge_calls(part, facts, settings)
        if problem:
            verdict.message = f"{problem[1]}; {verdict.message}"
        if facts.missing_reason:
            verdict.error = True
        return verdict

    def plan_example(self, part, plan: PartPlan) -> None:
        """For `grade check`: also call the function on the check's public example."""
        example = EXAMPLES.get(self.name)
        if example is not None:
            call_id = plan.call(part.name, list(example.args), example.kind)
            plan.calls[-1]["example"] = True
            assert plan.calls[-1]["id"] == call_id

    def well_formed(self, part, facts: PartFacts, settings) -> tuple[bool, str]:
        problem = signature_problem(part, facts)
        if problem:
            return False, problem[1]
        for call_id in [c["id"] for c in facts.plan["calls"]]:
            result = facts.result(call_id)
            if not result.ok:
                if result.exception == "NotImplementedError":
                    return False, f"{part.name}: not written yet (it still raises NotImplementedError)"
                return False, f"{part.name}: {result.error}" + self._example(facts)
            problem = self.returned_problem(part, facts, call_id, result)
            if problem:
                return False, f"{part.name}: {problem}" + self._example(facts)
        return True, "defined; returns the right types and shapes"

    def _example(self, facts: PartFacts) -> str:
        """The public example's expected and given output, when the function was called on it."""
        for call in facts.plan["calls"]:
            if call.get("example"):
                result = facts.result(call["id"])
                if result.ok and result.values:
                    said = example_problem(self.name, result.values[0])
                    return f"\n{said}" if said else ""
        return ""

    def judge_calls(self, part, facts: PartFacts, settings) -> Verdict:
        raise NotImplementedError

    def returned_problem(self, part, facts: PartFacts, call_id: str, result) -> str | None:
        return None


# --- ch10.q1: XOR from threshold logic units ---------------------------------------------------

XOR_CASES = [(0, 0), (0, 1), (1, 0), (1, 1)]


@dataclass(frozen=True)
class XorTruthTable(FunctionCheck):
    def plan(self, part, rng, mode) -> PartPlan:
        plan = PartPlan()
        for a, b in XOR_CASES:
            plan.call(part.name, [a, b], "int")
        return plan

    def judge_calls(self, part, facts, settings) -> Verdict:
        outputs = []
        for call in facts.plan["calls"]:
            a, b = call["args"]
            result = facts.result(call["id"])
            if not result.ok:
                return call_failed(f"{part.name}({a}, {b})", result.error)
            outputs.append(result.values[0])
        table = ", ".join(f"({a},{b})→{o}" for (a, b), o in zip(XOR_CASES, outputs))
        if outputs == [a ^ b for a, b in XOR_CASES]:
            return Verdict(1.0, f"the truth table is right: {table}.")
        return Verdict(0.0, f"the truth table is wrong: {table}; XOR gives 0, 1, 1, 0.")

    def returned_problem(self, part, facts, call_id, result) -> str | None:
        value = result.values[0]
        return None if value in (0, 1) else f"returned {value!r}; return the int 0 or 1"


# --- ch10.q5: the MLP's forward pass -----------------------------------------------------------

def mlp_reference(X, Wh, bh, Wo, bo):
    return np.maximum(X @ Wh + bh, 0) @ Wo + bo


@dataclass(frozen=True)
class MlpForward(FunctionCheck):
    def plan(self, part, rng, mode) -> PartPlan:
        plan = PartPlan()
        for _ in range(3):
            batch = int(rng.integers(1, 65))
            args = [rng.normal(size=s) for s in [(batch, 10), (10, 50), (50,), (50, 3), (3,)]]
            plan.call(part.name, args, "array")
        return plan

    def judge_calls(self, part, facts, settings) -> Verdict:
        expected, outputs = [], []
        for call in facts.plan["calls"]:
            result = facts.result(call["id"])
            if not result.ok:
                return call_failed(part.name, result.error)
            expected.append(mlp_reference(*facts.inputs[call["id"]]))
            outputs.append(np.asarray(result.values[0]))
        return batches_verdict(expected, outputs)

    def returned_problem(self, part, facts, call_id, result) -> str | None:
        X = facts.inputs[call_id][0]
        want = (X.shape[0], 3)
        got = np.asarray(result.values[0]).shape
        return None if got == want else f"returned shape {got} for a batch of {X.shape[0]}; expected {want}"


# --- ch14.q7: embedded Reber grammar -----------------------------------------------------------

GRAMMAR = {"global": "embedded_reber_grammar"}
DEFAULT_GRAMMAR = {"global": "default_reber_grammar"}
OTHER_CHARS = "XVTSPEB"  # one case passes the letters in another order: the function must follow `chars`


def _strings_problem(result) -> str | None:
    bad = [v for v in result.values if not isinstance(v, str) or not v]
    return f"returned {bad[0]!r}; return a non-empty str" if bad else None


@dataclass(frozen=True)
class ReberGenerate(FunctionCheck):
    def plan(self, part, rng, mode) -> PartPlan:
        plan = PartPlan()
        plan.call(part.name, [GRAMMAR], "str", repeat=300)
        plan.call(part.name, [DEFAULT_GRAMMAR], "str", repeat=300)  # the question asks for both grammars
        return plan

    def judge_calls(self, part, facts, settings) -> Verdict:
        verdicts = []
        for call, grammar in zip(facts.plan["calls"], ("embedded", "default")):
            result = facts.result(call["id"])
            if not result.ok:
                return call_failed(f"{part.name}({grammar}_reber_grammar)", result.error)
            verdicts.append(reber_verdicts.judge_generated(result.values, grammar=grammar))
        worst = min(verdicts, key=lambda v: v.fraction)
        if len(verdicts) > 1 and worst is verdicts[1] and worst.fraction < 1:
            worst.message = f"with default_reber_grammar: {worst.message}"
        worst.details = {"embedded": verdicts[0].details, **({"default": verdicts[1].details} if len(verdicts) > 1 else {})}
        return worst

    def returned_problem(self, part, facts, call_id, result) -> str | None:
        return _strings_problem(result)


@dataclass(frozen=True)
class ReberCorrupt(FunctionCheck):
    def plan(self, part, rng, mode) -> PartPlan:
        plan = PartPlan()
        plan.call(part.name, [GRAMMAR, reber.CHARS], "str", repeat=200)
        return plan

    def judge_calls(self, part, facts, settings) -> Verdict:
        result = facts.result(facts.plan["calls"][0]["id"])
        if not result.ok:
            return call_failed(part.name, result.error)
        return reber_verdicts.judge_corrupted(result.values)

    def returned_problem(self, part, facts, call_id, result) -> str | None:
        return _strings_problem(result)


@dataclass(frozen=True)
class ReberOneHot(FunctionCheck):
    def plan(self, part, rng, mode) -> PartPlan:
        plan = PartPlan()
        strings_rng = random.Random(int(rng.integers(2**32)))
        pool = reber.pool_strings()
        for k in range(9):
            string = strings_rng.choice(pool)
            n_steps = len(string) + int(rng.integers(0, 30))
            plan.call(part.name, [string, n_steps, OTHER_CHARS if k == 8 else reber.CHARS], "array")
        return plan

    def judge_calls(self, part, facts, settings) -> Verdict:
        cases, outputs = [], []
        for call in facts.plan["calls"]:
            if call.get("example"):
                continue
            string, n_steps, chars = call["args"]
            result = facts.result(call["id"])
            if not result.ok:
                return call_failed(f"{part.name}({string!r}, {n_steps})", result.error)
            cases.append((string, n_steps, chars))
            outputs.append(result.values[0])
        return reber_verdicts.judge_one_hot(cases, outputs)

    def returned_problem(self, part, facts, call_id, result) -> str | None:
        string, n_steps = facts.inputs[call_id][:2]  # a public example's call leaves `chars` out
        got = np.asarray(result.values[0]).shape
        if got != (n_steps, 7):
            return f"for a string of {len(string)} letters and n_steps={n_steps}: shape {got}, expected ({n_steps}, 7)"
        return None


CHECKS = [
    XorTruthTable("xor_truth_table"),
    MlpForward("mlp_forward"),
    ReberGenerate("reber_generate"),
    ReberCorrupt("reber_corrupt"),
    ReberOneHot("reber_one_hot"),
]
