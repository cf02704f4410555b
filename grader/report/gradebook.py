"""gradebook.csv: one row per student; per assignment its items, total, status, file and time.

UTF-8 without a byte-order mark (Python's csv reads the first header as `student`; in Excel use
Data > From Text/CSV, which asks for the encoding). Per assignment: the item scores, `<a>_total`
(the final score, after any late penalty), `<a>_status` (graded / not graded / missing),
`<a>_file` and `<a>_submitted_at`; an empty score means nothing was graded. The maximum scores
are in gradebook-max.csv, so no row of gradebook.csv is anything but a student.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from grader.records import Report, Submission
from grader.report.files import atomic_write_bytes
from grader.report.text import encodable

GRADEBOOK = "gradebook.csv"
MAX_FILE = "gradebook-max.csv"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # spreadsheets would run these as formulas


def format_number(value: float) -> str:
    """7.5 -> "7.5", 10.0 -> "10", 0.1 + 0.2 -> "0.3": no float noise, no trailing zeros."""
    text = format(round(float(value), 4), ".12g")
    return "0" if text == "-0" else text


def cell_text(text: str) -> str:
    """Text a spreadsheet shows as text: a leading = + - @ gets a quote mark."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _column_name(assignment: str, item_id: str) -> str:
    # ids are normally "ch10.q1"; a bare "q1" would be ambiguous across assignments
    return item_id if item_id.startswith(f"{assignment}.") else f"{assignment}.{item_id}"


def latest_reports(reports: list[Report]) -> dict[tuple[str, str], Report]:
    """The newest report of each (student, assignment): an old run's JSON may still be there."""
    latest: dict[tuple[str, str], Report] = {}
    for report in sorted(reports, key=lambda r: r.graded_at):
        latest[report.student, report.assignment] = report
    return latest


def _columns(reports: list[Report]) -> dict[str, dict[str, float]]:
    """assignment -> {item id: max score}, assignments sorted, items in the order graded."""
    columns: dict[str, dict[str, float]] = {}
    for report in sorted(reports, key=lambda r: (r.assignment, r.student)):
        items = columns.setdefault(report.assignment, {})
        for item in report.items:
            items.setdefault(item.id, item.max_score)
    return columns


def gradebook_rows(
    reports: list[Report], submissions: list[Submission] = (), ungraded: list[tuple[str, str]] = ()
) -> list[list[str]]:
    """The gradebook as text cells: the header, then one row per student (no max row)."""
    from grader.report.facts import class_facts

    facts = class_facts(reports, submissions, ungraded)
    columns = _columns([e.report for e in facts.entries.values() if e.report])
    for assignment in facts.assignments:
        columns.setdefault(assignment, {})
    header = ["student"]
    for assignment, items in columns.items():
        header += [_column_name(assignment, i) for i in items]
        header += [f"{assignment}_{x}" for x in ("total", "status", "file", "submitted_at")]
    header.append("total")

    rows = [header]
    for student in facts.students:
        row, total = [cell_text(student)], 0.0
        for assignment, items in columns.items():
            entry = facts.entry(student, assignment)
            if entry.score is None:
                row += [""] * (len(items) + 1)
            else:
                scores = {item.id: item.score for item in entry.report.items}
                row += [format_number(scores[i]) if i in scores else "" for i in items]
                row.append(format_number(entry.score))
                total += entry.score
            row += [entry.status, cell_text(entry.file), entry.submitted_at]
        rows.append(row + [format_number(total)])
    return rows


def max_rows(reports: list[Report]) -> list[list[str]]:
    """gradebook-max.csv: each column of the gradebook that has a maximum, and that maximum."""
    latest = latest_reports(reports)
    rows, overall = [["column", "max_score"]], 0.0
    for assignment, items in _columns(list(latest.values())).items():
        rows += [[_column_name(assignment, i), format_number(m)] for i, m in items.items()]
        top = max(r.max_score for r in latest.values() if r.assignment == assignment)
        rows.append([f"{assignment}_total", format_number(top)])
        overall += top
    return rows + [["total", format_number(overall)]]


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return encodable(buffer.getvalue()).encode("utf-8")  # a non-UTF-8 folder name must not stop the class


def write_gradebook(
    out: str | os.PathLike,
    reports: list[Report],
    submissions: list[Submission] = (),
    ungraded: list[tuple[str, str]] = (),
) -> Path:
    """gradebook.csv (and gradebook-max.csv beside it); returns the gradebook's path."""
    atomic_write_bytes(Path(out) / MAX_FILE, _csv_bytes(max_rows(reports)))
    return atomic_write_bytes(Path(out) / GRADEBOOK, _csv_bytes(gradebook_rows(reports, submissions, ungraded)))
