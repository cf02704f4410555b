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
from grader.judge import reber_verdicts
from grader.judge.verdict import Verdict


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
        verdict = self.judge_calls(part, facts, settings)
        if problem:
            verdict.message = f"{problem[1]}; {verdict.message}"
        if facts.missing_reason:
            verdict.error = True
        return verdict

    def well_formed(self, part, facts: PartFacts, settings) -> tuple[bool, str]:
        problem = signature_problem(part, facts)
        if problem:
            return False, problem[1]
        for call_id in [c["id"] for c in facts.plan["calls"]]:
            result = facts.result(call_id)
            if not result.ok:
                if result.exception == "NotImplementedError":
                    return False, f"{part.name}: not written yet (it still raises NotImplementedError)"
                return False, f"{part.name}: {result.error}"
            problem = self.returned_problem(part, facts, call_id, result)
            if problem:
                return False, f"{part.name}: {problem}"
        return True, "defined; returns the right types and shapes"

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
        passed, problems = 0, []
        calls = facts.plan["calls"]
        for call in calls:
            result = facts.result(call["id"])
            if not result.ok:
                return call_failed(part.name, result.error)
            expected = mlp_reference(*facts.inputs[call["id"]])
            got = np.asarray(result.values[0])
            if got.shape != expected.shape:
                problems.append(f"for X of shape ({expected.shape[0]}, 10) expected output shape {expected.shape}, got {got.shape}")
            elif not np.allclose(got, expected, rtol=1e-5, atol=1e-6):
                worst = float(np.max(np.abs(got - expected)))
                problems.append(f"values differ from ReLU(X·Wh + bh)·Wo + bo by up to {worst:.3g}")
            else:
                passed += 1
        if passed == len(calls):
            return Verdict(1.0, f"correct on {passed} random batches.")
        return Verdict(passed / len(calls), f"{passed} of {len(calls)} random batches right; {problems[0]}.")

    def returned_problem(self, part, facts, call_id, result) -> str | None:
        X = facts.inputs[call_id][0]
        want = (X.shape[0], 3)
        got = np.asarray(result.values[0]).shape
        return None if got == want else f"returned shape {got} for a batch of {X.shape[0]}; expected {want}"


# --- ch14.q7: embedded Reber grammar -----------------------------------------------------------

GRAMMAR = {"global": "embedded_reber_grammar"}


def _strings_problem(result) -> str | None:
    bad = [v for v in result.values if not isinstance(v, str) or not v]
    return f"returned {bad[0]!r}; return a non-empty str" if bad else None


@dataclass(frozen=True)
class ReberGenerate(FunctionCheck):
    def plan(self, part, rng, mode) -> PartPlan:
        plan = PartPlan()
        plan.call(part.name, [GRAMMAR], "str", repeat=300)
        return plan

    def judge_calls(self, part, facts, settings) -> Verdict:
        result = facts.result(facts.plan["calls"][0]["id"])
        if not result.ok:
            return call_failed(part.name, result.error)
        return reber_verdicts.judge_generated(result.values)

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
        for _ in range(8):
            string = reber.generate_string(reber.EMBEDDED_REBER_GRAMMAR, strings_rng)
            n_steps = len(string) + int(rng.integers(0, 30))
            plan.call(part.name, [string, n_steps, reber.CHARS], "array")
        return plan

    def judge_calls(self, part, facts, settings) -> Verdict:
        cases, outputs = [], []
        for call in facts.plan["calls"]:
            string, n_steps, _ = call["args"]
            result = facts.result(call["id"])
            if not result.ok:
                return call_failed(f"{part.name}({string!r}, {n_steps})", result.error)
            cases.append((string, n_steps))
            outputs.append(result.values[0])
        return reber_verdicts.judge_one_hot(cases, outputs)

    def returned_problem(self, part, facts, call_id, result) -> str | None:
        string, n_steps, _ = facts.inputs[call_id]
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
