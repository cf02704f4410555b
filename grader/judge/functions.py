"""Checks of student functions: the inputs the grader chooses, and the verdict on what came back.

Each check is a pair: `plan(part, rng, probe) -> context` adds calls to the probe plan and keeps
what it needs to judge (expected values stay here, outside the sandbox); `judge(part, context,
results) -> Verdict` decides from the returned plain data.
"""

from __future__ import annotations

import random
from typing import Callable

import numpy as np

from grader.assign.spec import Part
from grader.data import reber
from grader.judge import reber_verdicts
from grader.judge.probe_plan import ProbePlan, ProbeResults
from grader.judge.verdict import Verdict


def _call_failed(name: str, error: str | None) -> Verdict:
    return Verdict(0.0, f"calling {name} failed: {error}")


# --- ch10.q1: XOR from threshold logic units ---------------------------------------------------

XOR_CASES = [(0, 0), (0, 1), (1, 0), (1, 1)]


def plan_xor(part: Part, rng: np.random.Generator, probe: ProbePlan):
    return [probe.call(part.name, [a, b], "int") for a, b in XOR_CASES]


def judge_xor(part: Part, calls, results: ProbeResults) -> Verdict:
    outputs = []
    for (a, b), call_id in zip(XOR_CASES, calls):
        result = results.result(call_id)
        if not result.ok:
            return _call_failed(f"{part.name}({a}, {b})", result.error)
        outputs.append(result.values[0])
    table = ", ".join(f"({a},{b})→{o}" for (a, b), o in zip(XOR_CASES, outputs))
    if outputs == [a ^ b for a, b in XOR_CASES]:
        return Verdict(1.0, f"the truth table is right: {table}.")
    return Verdict(0.0, f"the truth table is wrong: {table}; XOR gives 0, 1, 1, 0.")


# --- ch10.q5: the MLP's forward pass -----------------------------------------------------------

def _mlp_reference(X, Wh, bh, Wo, bo):
    return np.maximum(X @ Wh + bh, 0) @ Wo + bo


def plan_mlp_forward(part: Part, rng: np.random.Generator, probe: ProbePlan):
    context = []
    for _ in range(3):
        batch = int(rng.integers(1, 65))
        args = [rng.normal(size=s) for s in [(batch, 10), (10, 50), (50,), (50, 3), (3,)]]
        call_id = probe.call(part.name, args, "array")
        context.append((call_id, _mlp_reference(*args)))
    return context


def judge_mlp_forward(part: Part, context, results: ProbeResults) -> Verdict:
    passed = 0
    problems = []
    for call_id, expected in context:
        result = results.result(call_id)
        if not result.ok:
            return _call_failed(part.name, result.error)
        got = np.asarray(result.values[0])
        if got.shape != expected.shape:
            problems.append(f"for X of shape ({expected.shape[0]}, 10) expected output shape {expected.shape}, got {got.shape}")
        elif not np.allclose(got, expected, rtol=1e-5, atol=1e-6):
            worst = float(np.max(np.abs(got - expected)))
            problems.append(f"values differ from ReLU(X·Wh + bh)·Wo + bo by up to {worst:.3g}")
        else:
            passed += 1
    if passed == len(context):
        return Verdict(1.0, f"correct on {passed} random batches.")
    return Verdict(passed / len(context), f"{passed} of {len(context)} random batches right; {problems[0]}.")


# --- ch14.q7: embedded Reber grammar -----------------------------------------------------------

GRAMMAR = {"global": "embedded_reber_grammar"}


def plan_reber_generate(part, rng, probe: ProbePlan):
    return probe.call(part.name, [GRAMMAR], "str", repeat=300)


def judge_reber_generate(part, call_id, results: ProbeResults) -> Verdict:
    result = results.result(call_id)
    if not result.ok:
        return _call_failed(part.name, result.error)
    return reber_verdicts.judge_generated(result.values)


def plan_reber_corrupt(part, rng, probe: ProbePlan):
    return probe.call(part.name, [GRAMMAR, reber.CHARS], "str", repeat=200)


def judge_reber_corrupt(part, call_id, results: ProbeResults) -> Verdict:
    result = results.result(call_id)
    if not result.ok:
        return _call_failed(part.name, result.error)
    return reber_verdicts.judge_corrupted(result.values)


def plan_reber_one_hot(part, rng: np.random.Generator, probe: ProbePlan):
    strings_rng = random.Random(int(rng.integers(2**32)))
    cases = []
    for _ in range(8):
        string = reber.generate_string(reber.EMBEDDED_REBER_GRAMMAR, strings_rng)
        n_steps = len(string) + int(rng.integers(0, 30))
        cases.append((string, n_steps, probe.call(part.name, [string, n_steps, reber.CHARS], "array")))
    return cases


def judge_reber_one_hot(part, cases, results: ProbeResults) -> Verdict:
    outputs = []
    for string, n_steps, call_id in cases:
        result = results.result(call_id)
        if not result.ok:
            return _call_failed(f"{part.name}({string!r}, {n_steps})", result.error)
        outputs.append(result.values[0])
    return reber_verdicts.judge_one_hot([(s, n) for s, n, _ in cases], outputs)


Plan = Callable[[Part, np.random.Generator, ProbePlan], object]
Judge = Callable[[Part, object, ProbeResults], Verdict]

CHECKS: dict[str, tuple[Plan, Judge]] = {
    "xor_truth_table": (plan_xor, judge_xor),
    "mlp_forward": (plan_mlp_forward, judge_mlp_forward),
    "reber_generate": (plan_reber_generate, judge_reber_generate),
    "reber_corrupt": (plan_reber_corrupt, judge_reber_corrupt),
    "reber_one_hot": (plan_reber_one_hot, judge_reber_one_hot),
}


def signature_problem(part: Part, results: ProbeResults) -> str | None:
    """A wrong or missing definition, said before any call result."""
    if results.missing_reason:
        return None
    found = results.signatures.get(part.name)
    if found is None:
        return None
    if "error" in found:
        return found["error"]
    params = found.get("params")
    if params is not None and params != list(part.params):
        want = ", ".join(part.params)
        return f"{part.name}({', '.join(params)}) should be {part.name}({want})"
    return None
