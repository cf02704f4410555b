"""Judging a run record: a pure function of (run record, answer keys, resolved settings).

It runs no student code and starts no sandbox. The one exception to "no sandbox" is the
reference build of a builder check (the solution's own builder, trusted code), which the
context provides from the gradebook's cache or, on a miss, through the evaluator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import grader
from grader.assign.spec import STATIC_KINDS, Assignment, Item
from grader.checks import JudgeContext, check_for, check_name
from grader.feedback import causes
from grader.feedback.explain import explain, problem_sentences
from grader.judge.verdict import Verdict
from grader.records import ItemResult, PartResult, Report
from grader.report.html import item_cell_lists
from grader.report.text import safe_data
from grader.run.plan import part_key
from grader.run.record import RunRecord
from grader.sandbox.execute import execution_problems
from grader.sandbox.space import NOT_ENFORCED as SPACE_NOT_ENFORCED
from grader.settings import resolve

UNSANDBOXED = "Graded WITHOUT a sandbox (--sandbox none): the grader did not isolate this notebook."
LIMITS_NOT_ENFORCED = "Memory and process limits were not enforced (no writable cgroups on the grading machine)."
LIMITS_PER_PROCESS = ("Memory was limited per process, not for the notebook as a whole, and its CPU share was not "
                      "enforced (no writable cgroups on the grading machine).")
JUDGING_CODE = [Path(__file__).resolve().parent, Path(__file__).resolve().parents[1] / "checks"]


def judging_version() -> str:
    """Digest of the judging code: a change there re-judges every stored run."""
    digest = hashlib.sha256(grader.__version__.encode())
    for folder in JUDGING_CODE:
        for path in sorted(folder.glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def part_keys(spec: Assignment) -> dict[str, dict]:
    """Per part: its key, points and check, as the gradebook remembers them for regrade reasons."""
    return {
        part_key(item, part): {"key": part.key, "points": part.points, "check": check_name(part)}
        for item in spec.items
        for part in item.parts
    }


def key_version(spec: Assignment) -> str:
    data = json.dumps(asdict(spec), sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:12]


def settings_used(spec: Assignment, overrides: dict[str, dict[str, Any]]) -> list[dict]:
    used = []
    for item in spec.items:
        for part in item.parts:
            for name, setting in resolve(part, overrides).items():
                used.append({"name": f"{part_key(item, part)} {name}", "value": setting.value, "source": setting.source})
    return used


def judge_part(item: Item, part, record: RunRecord, overrides, ctx: JudgeContext) -> Verdict:
    unreadable = record.data.get("unreadable")
    if unreadable:
        return Verdict(0.0, f"not graded: {unreadable}", error=True)
    facts = record.facts(part_key(item, part), part)
    settings = {name: s.value for name, s in resolve(part, overrides).items()}
    try:
        return check_for(part).judge(part, facts, settings, ctx)
    except Exception as exc:  # a grader bug must not stop the class: say it, in this report
        return Verdict(0.0, f"the grader failed on this part ({type(exc).__name__}: {exc}); tell your instructor.", error=True)


def _item_result(item: Item, verdicts: list[Verdict], override: dict | None) -> ItemResult:
    parts = []
    for part, verdict in zip(item.parts, verdicts):
        fraction = min(1.0, max(0.0, float(verdict.fraction)))
        status = "error" if verdict.error else ("passed" if fraction >= 1.0 else "failed")
        parts.append(PartResult(
            label=part.label,
            score=round(part.points * fraction, 2),
            max_score=part.points,
            status=status,
            feedback=verdict.message,
            details=json.loads(json.dumps(verdict.details, default=str)),
        ))
    result = ItemResult(item.id, item.title, parts)
    if override is not None:
        result.override = {"score": override["score"], "comment": override.get("comment", ""), "auto_score": result.auto_score}
    return result


def run_problems(record: RunRecord) -> list[str]:
    """Problems of the notebook's run, one sentence each (what the machine could not enforce is in
    machine_notes)."""
    data = record.data
    problems = list(data.get("notes", []))
    if data.get("unreadable"):
        problems.append(data["unreadable"])
    execution = data.get("execution")
    if execution:
        cells = record.executed.cells if record.executed is not None else []
        problems.extend(p for p in execution_problems(execution, cells) if p != SPACE_NOT_ENFORCED)
    if data["plan"]["environment"].get("isolation") == "none":
        problems.insert(0, UNSANDBOXED)
    return problems


def machine_notes(record: RunRecord) -> list[str]:
    """Limits the grading machine could not enforce for this run, one sentence each: for whoever
    reads the report, never a problem of the notebook (a student cannot fix them)."""
    execution = record.data.get("execution")
    if not execution or record.data["plan"]["environment"].get("isolation") == "none":
        return []
    notes = []
    if not execution.get("limits_enforced", True):
        notes.append(LIMITS_PER_PROCESS if execution.get("limits_per_process") else LIMITS_NOT_ENFORCED)
    if execution.get("space_problem") == SPACE_NOT_ENFORCED:
        notes.append(SPACE_NOT_ENFORCED)
    return notes


def judge_run(
    record: RunRecord,
    spec: Assignment,
    *,
    student: str,
    seed: int,
    data_note: dict[str, str],
    overrides: dict[str, dict[str, Any]],
    ctx: JudgeContext,
    item_overrides: dict[str, dict] | None = None,
    run_settings: list[dict] | None = None,
) -> Report:
    """The report of one run record; `overrides`: the command line's check settings,
    `item_overrides`: the instructor's item scores, by item id."""
    items = []
    for item in spec.items:
        verdicts = [judge_part(item, part, record, overrides, ctx) for part in item.parts]
        items.append(_item_result(item, verdicts, (item_overrides or {}).get(item.id)))
    unreadable = bool(record.data.get("unreadable"))
    report = Report(
        student=student,
        assignment=spec.id,
        score=round(sum(i.score for i in items), 2),
        max_score=spec.max_score,
        items=items,
        submission_sha256=record.data["submission"]["sha256"] or "",
        grader_version=grader.__version__,
        graded_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        seed=seed,
        sandbox=record.data["plan"]["environment"].get("isolation", "bubblewrap"),
        data=dict(data_note),
        problems=run_problems(record),
        machine_notes=machine_notes(record),
        duration_s=float(record.data.get("duration_s", 0.0)),
        status="not graded" if unreadable else "graded",
        settings=(run_settings or []) + settings_used(spec, overrides),
        key_version=key_version(spec),
        run=record.name,
    )
    return safe_data(with_causes(report, record, spec))  # no text from a submission can break a report


def with_causes(report: Report, record: RunRecord, spec: Assignment) -> Report:
    """Feedback that says first which cell raised or was stopped (as the student sees it) and
    what that cost; static answers are left alone (no cell failure costs them)."""
    if record.executed is None:
        return report
    cells = record.executed.cells
    skipped = (record.data.get("execution") or {}).get("skipped", [])
    found = explain(cells, [i.id for i in report.items], item_cell_lists(report.items, cells), not_run=skipped)
    if not found:
        return report
    static = {p.name for i in spec.items for p in i.parts if p.kind in STATIC_KINDS}
    report = causes.annotate(report, found, static_labels=static)
    report.problems += [p for p in problem_sentences(found) if p not in report.problems]
    return report
