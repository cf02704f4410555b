"""summary.md: class size, score statistics per assignment and item, who could not be graded
and who handed nothing in.

Statistics count graded reports only: a notebook that could not be read or run is listed under
"Could not be graded", not averaged in as a 0.
"""

from __future__ import annotations

import os
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from grader.records import Report, Submission
from grader.report.files import atomic_write_text
from grader.report.gradebook import format_number, latest_reports
from grader.wording import counted


@dataclass(frozen=True)
class Stats:
    mean: float
    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> "Stats":
        return cls(statistics.fmean(values), statistics.median(values), min(values), max(values))


@dataclass(frozen=True)
class ItemSummary:
    item: str  # "ch10.q1"
    title: str
    max_score: float
    graded: int
    score: Stats


@dataclass(frozen=True)
class AssignmentSummary:
    assignment: str
    graded: int  # reports of different students
    max_score: float
    score: Stats
    percent: Stats  # of each report's own max score
    items: list[ItemSummary]


def summary_rows(reports: list[Report]) -> list[AssignmentSummary]:
    """The numbers of summary.md, one entry per assignment (sorted), for printing as a table."""
    from grader.report.facts import report_status

    by_assignment: dict[str, list[Report]] = {}
    for report in latest_reports(reports).values():
        if report_status(report) == "graded":
            by_assignment.setdefault(report.assignment, []).append(report)

    rows = []
    for assignment in sorted(by_assignment):
        graded = by_assignment[assignment]
        item_scores: dict[str, list[float]] = {}
        item_info: dict[str, tuple[str, float]] = {}
        for report in graded:
            for item in report.items:
                item_scores.setdefault(item.id, []).append(item.score)
                item_info.setdefault(item.id, (item.title, item.max_score))
        items = [
            ItemSummary(item_id, *item_info[item_id], len(scores), Stats.of(scores))
            for item_id, scores in item_scores.items()
        ]
        percents = [100 * r.score / r.max_score if r.max_score else 0.0 for r in graded]
        rows.append(
            AssignmentSummary(
                assignment,
                len(graded),
                max(r.max_score for r in graded),
                Stats.of([r.score for r in graded]),
                Stats.of(percents),
                items,
            )
        )
    return rows


def _md(text: str) -> str:
    """Student-given text made inert in Markdown (and in table cells)."""
    text = " ".join(str(text).split())
    # only what Markdown would act on inside a line or a table cell; `(looped)` stays as written
    text = re.sub(r"([\\`*_\[\]<>|~])", r"\\\1", text)
    return re.sub(r"^([#+-])", r"\\\1", text) or "(empty)"  # not a heading or a list at the start


def _stats_cells(stats: Stats, suffix: str = "") -> str:
    numbers = (stats.mean, stats.median, stats.min, stats.max)
    return " | ".join(format_number(round(n, 2)) + suffix for n in numbers)


def _assignment_section(row: AssignmentSummary, class_size: int) -> list[str]:
    lines = [
        f"## {_md(row.assignment or '(unmatched)')}",
        "",
        f"Graded: {row.graded} of {class_size} students. Maximum score: {format_number(row.max_score)}.",
        "",
        "| | Mean | Median | Min | Max |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| Score | {_stats_cells(row.score)} |",
        f"| % of max | {_stats_cells(row.percent, '%')} |",
        "",
        "| Item | Title | Max | Graded | Mean | Median | Min | Max |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for item in row.items:
        lines.append(
            f"| {_md(item.item)} | {_md(item.title)} | {format_number(item.max_score)} "
            f"| {item.graded} | {_stats_cells(item.score)} |"
        )
    return lines + [""]


def _problem_lines(reports: list[Report], ungraded: list[tuple[str, str]]) -> list[str]:
    from grader.report.facts import report_status

    lines = [f"- {_md(student)}: {_md(reason)}" for student, reason in sorted(ungraded)]
    for r in sorted(reports, key=lambda r: (r.student, r.assignment)):
        if report_status(r) == "not graded":
            lines.append(f"- {_md(r.student)}, {_md(r.assignment)}: not graded: " + "; ".join(_md(p) for p in r.problems[:2]))
        elif r.problems:
            scored = f"scored {format_number(r.score)} / {format_number(r.max_score)}"
            lines.append(
                f"- {_md(r.student)}, {_md(r.assignment)} ({scored}): "
                + "; ".join(_md(p) for p in r.problems)
            )
    return lines


def _missing_lines(reports: list[Report], ungraded, submissions, roster) -> list[str]:
    from grader.report.facts import class_facts

    if not submissions and not roster:
        return []
    facts = class_facts(reports, submissions, ungraded, roster)
    lines = []
    for assignment in facts.assignments:
        missing = [s for s in facts.students if facts.entry(s, assignment).status == "missing"]
        if missing:
            lines.append(f"- {_md(assignment)} ({len(missing)}): " + ", ".join(_md(s) for s in missing))
    return ["## Missing", ""] + (lines or ["None."]) + [""]


def summary_markdown(
    reports: list[Report],
    ungraded: list[tuple[str, str]],
    submissions: list[Submission] = (),
    roster: list = (),
) -> str:
    """The summary; with `submissions` (intake's facts) or a `roster`, also who is missing."""
    reports = list(latest_reports(reports).values())
    students = {r.student for r in reports} | {student for student, _ in ungraded}
    students |= {s.student for s in submissions}
    if roster:
        from grader.report.facts import class_facts

        students |= set(class_facts(reports, submissions, ungraded, roster).students)
    lines = ["# Grading summary", "", f"Class size: {len(students)} students.", ""]

    unsandboxed = sorted({r.student for r in reports if r.sandbox == "none"})
    if unsandboxed:
        lines += [
            f"**Note:** {len(unsandboxed)} student(s) were graded without a sandbox: "
            + ", ".join(_md(s) for s in unsandboxed)
            + ".",
            "",
        ]

    for note, count in machine_note_counts(reports).items():
        lines += [f"**Grading machine ({counted(count, 'report')}):** {_md(note)}", ""]

    for row in summary_rows(reports):
        lines += _assignment_section(row, len(students))

    lines += _missing_lines(reports, ungraded, submissions, roster)
    lines += _flagged_lines(reports)
    lines += ["## Could not be graded", ""]
    lines += _problem_lines(reports, ungraded) or ["None."]
    return "\n".join(lines) + "\n"


def machine_note_counts(reports: list[Report]) -> dict[str, int]:
    """Each note about the grading machine (limits it could not enforce) and how many reports carry it."""
    return dict(Counter(note for report in reports for note in report.machine_notes))


def _flagged_lines(reports: list[Report]) -> list[str]:
    """Models whose official-test accuracy is far above their accuracy on the sealed digits: the
    score stands; the instructor decides (grader/judge/leakage.py)."""
    from grader.judge.leakage import leakage_message

    flagged = []
    for report in reports:
        for item in report.items:
            for part in item.parts:
                leakage = part.details.get("leakage") if isinstance(part.details, dict) else None
                if isinstance(leakage, dict) and leakage.get("flagged"):
                    flagged.append(f"- {_md(report.student)} {report.assignment} `{part.label}`: {leakage_message(leakage)}")
    if not flagged:
        return []
    return ["## Flagged: possibly trained on the test set", "", *flagged, ""]


def write_summary(
    out: str | os.PathLike,
    reports: list[Report],
    ungraded: list[tuple[str, str]],
    submissions: list[Submission] = (),
    roster: list = (),
) -> Path:
    return atomic_write_text(Path(out) / "summary.md", summary_markdown(reports, ungraded, submissions, roster))
