"""The one registry of checks: every check the grader knows, by name.

A part's check is its `check` (function, builder, model and artifacts parts) or its kind (choice,
choices, shapes). `grade assign` refuses a part whose check is unknown here or made for another
kind, and settings a check does not have.
"""

from __future__ import annotations

from grader.checks import builders, functions, models, static, training
from grader.checks.base import Check, CallResult, JudgeContext, PartFacts, PartPlan

REGISTRY: dict[str, Check] = {
    check.name: check
    for module in (static, functions, builders, models, training)
    for check in module.CHECKS
}


def check_name(part) -> str:
    return part.kind if part.kind in ("choice", "choices", "shapes") else part.check


def check_for(part) -> Check:
    """The registry's check of `part`; KeyError for one the registry does not know."""
    check = REGISTRY[check_name(part)]
    if check.kind != part.kind:
        raise KeyError(check_name(part))
    return check


def problem_with(part) -> str | None:
    """Why the registry cannot judge `part` (for `grade assign`), or None."""
    name = check_name(part)
    check = REGISTRY.get(name)
    if check is None:
        known = sorted(c.name for c in REGISTRY.values() if c.kind == part.kind)
        return f"unknown check {name!r} for a {part.kind} part; known: {', '.join(known) or 'none'}"
    if check.kind != part.kind:
        return f"check {name!r} is for {check.kind} parts, not {part.kind} parts"
    unknown = sorted(set(part.settings) - set(check.defaults))
    if unknown:
        allowed = ", ".join(sorted(check.defaults)) or "none"
        return f"check {name!r} has no setting {', '.join(unknown)} (its settings: {allowed})"
    return None


__all__ = ["REGISTRY", "Check", "CallResult", "JudgeContext", "PartFacts", "PartPlan", "check_for", "check_name", "problem_with"]
