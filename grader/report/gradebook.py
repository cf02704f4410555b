"""gradebook.csv: one row per student, one column per item, assignment total and overall total.

A plain table that opens in a spreadsheet as is: a header row, the students sorted by id,
then a last row "(max)" with the maximum scores. An empty cell means "not submitted".
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from grader.records import Report
from grader.report.files import atomic_write_bytes

MAX_ROW = "(max)"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # spreadsheets would run these as formulas


def format_number(value: float) -> str:
    """7.5 -> "7.5", 10.0 -> "10", 0.1 + 0.2 -> "0.3": no float noise, no trailing zeros."""
    text = format(round(float(value), 4), ".12g")
    return "0" if text == "-0" else text


def _cell_text(text: str) -> str:
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


def gradebook_rows(reports: list[Report]) -> list[list[str]]:
    """The gradebook as text cells: header, one row per student, then the "(max)" row."""
    latest = latest_reports(reports)
    columns = _columns(list(latest.values()))
    header = ["student"]
    for assignment, items in columns.items():
        header += [_column_name(assignment, i) for i in items] + [f"{assignment}_total"]
    header.append("total")

    rows = [header]
    for student in sorted({student for student, _ in latest}):
        row, total = [_cell_text(student)], 0.0
        for assignment, items in columns.items():
            report = latest.get((student, assignment))
            if report is None:
                row += [""] * (len(items) + 1)
                continue
            scores = {item.id: item.score for item in report.items}
            row += [format_number(scores[i]) if i in scores else "" for i in items]
            row.append(format_number(report.score))
            total += report.score
        rows.append(row + [format_number(total)])

    max_row, max_total = [MAX_ROW], 0.0
    for assignment, items in columns.items():
        assignment_max = max(r.max_score for r in latest.values() if r.assignment == assignment)
        max_row += [format_number(m) for m in items.values()] + [format_number(assignment_max)]
        max_total += assignment_max
    rows.append(max_row + [format_number(max_total)])
    return rows


def write_gradebook(out: str | os.PathLike, reports: list[Report]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(gradebook_rows(reports))
    # utf-8-sig: the byte-order mark makes Excel read names like "Zoë" as UTF-8
    return atomic_write_bytes(Path(out) / "gradebook.csv", buffer.getvalue().encode("utf-8-sig"))
