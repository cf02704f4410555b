"""Judging answers read statically (a `Found`, see grader/notebook/answers.py): single choice,
several choices, shapes."""

from __future__ import annotations

from grader.assign.spec import Part
from grader.judge.verdict import Verdict
from grader.notebook.answers import Found, read_choice, read_choices, read_shapes


def _with_note(message: str, note: str | None) -> str:
    return f"{message} ({note})" if note else message


def judge_choice(part: Part, found: Found) -> Verdict:
    reading = read_choice(found, part.options)
    if not reading.ok:
        return Verdict(0.0, _with_note(reading.problem, reading.note))
    if reading.value == part.key:
        return Verdict(1.0, _with_note(f"{reading.value} is correct.", reading.note))
    return Verdict(0.0, _with_note(f"{reading.value} is not correct.", reading.note))


def judge_choices(part: Part, found: Found) -> Verdict:
    """Marks = (right letters chosen − wrong letters chosen) / right letters, at least 0."""
    reading = read_choices(found, part.options)
    if not reading.ok:
        return Verdict(0.0, _with_note(reading.problem, reading.note))
    key = set(part.key)
    chosen = set(reading.value)
    hits, wrong = len(chosen & key), len(chosen - key)
    fraction = max(0.0, (hits - wrong) / len(key))
    shown = "{" + ", ".join(sorted(chosen)) + "}"
    if fraction == 1.0:
        message = f"{shown} is correct."
    else:
        message = (
            f"{shown}: {hits} of the {len(key)} right options chosen, {wrong} wrong option(s) chosen "
            "(each wrong choice cancels a right one)."
        )
    return Verdict(fraction, _with_note(message, reading.note), {"right": hits, "wrong": wrong})


def _show(shape) -> str:
    dims = ["None" if d is None else str(d)[:20] for d in shape[:8]]
    if len(shape) > 8:  # a hostile "shape" of a million entries must not fill the report
        dims.append(f"… {len(shape) - 8:,} more")
    return "(" + ", ".join(dims) + (",)" if len(shape) == 1 else ")")


def judge_shapes(part: Part, found: Found) -> Verdict:
    """Partial credit per entry; expected and given shapes side by side for the wrong ones."""
    keys = list(part.key)
    reading = read_shapes(found, keys)
    if reading.value is None:
        return Verdict(0.0, _with_note(reading.problem, reading.note))
    right, wrong = [], []
    for name in keys:
        expected = tuple(part.key[name])
        given = reading.value.get(name)
        if given is not None and tuple(given) == expected:
            right.append(name)
        else:
            shown = "missing" if given is None else _show(given)
            wrong.append(f"{name}: expected {_show(expected)}, got {shown}")
    fraction = len(right) / len(keys)
    if not wrong:
        return Verdict(1.0, _with_note("every shape is correct.", reading.note))
    message = f"{len(right)} of {len(keys)} shapes correct; " + "; ".join(wrong) + "."
    return Verdict(fraction, _with_note(message, reading.note), {"right": len(right), "of": len(keys)})


JUDGES = {"choice": judge_choice, "choices": judge_choices, "shapes": judge_shapes}
