"""`grade export`: the grade-import files of Canvas, Moodle and Blackboard, and a plain CSV.

Each follows its LMS's documented import layout; none holds a maximum-score row. Scores are
the reports' final scores (after any late penalty), written as they are (7.5, 68.25). A student
with no graded report gets an empty cell, which every LMS reads as "leave the grade as is".

- Canvas (Grades > Import): `Student, ID, SIS User ID, SIS Login ID, Section`, then one column
  per assignment. Canvas matches rows by `ID` (the Canvas user id: in its submissions zip, and
  in its own gradebook export given as --roster). An assignment column named as in that export
  (`ch10 (123456)`) updates that assignment; a new name creates one.
- Moodle (Grades > Import > CSV file): `First name, Last name, ID number, Email address`, then
  one column per assignment; on import, map `Email address` (or `ID number`) to the user and
  each assignment column to its grade item.
- Blackboard (Grade Center > Work Offline > Upload): `Last Name, First Name, Username`, then one
  column per assignment, every cell quoted. Rows match by `Username`; a column header ending in
  `|<Column ID>` (from the Grade Center's own download, given as --roster) updates that column,
  any other header creates a new (text) column.
- csv: one row per student and assignment with its status (graded / not graded / missing),
  score, raw score and late penalty, the file graded and its submission time.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

from grader.report.facts import ClassFacts, Entry, Person
from grader.report.files import atomic_write_bytes
from grader.report.gradebook import cell_text, format_number

KINDS = ("canvas", "moodle", "blackboard", "csv")


def _score(entry: Entry) -> str:
    return "" if entry.score is None else format_number(entry.score)


def _roster_header(facts: ClassFacts, assignment: str, pattern: str) -> str:
    """The roster's own column for `assignment` (e.g. `ch10 (123456)`), else the assignment id."""
    for person in facts.people.values():
        for header in person.columns:
            if re.match(rf"(?i){re.escape(assignment)}\b", header) and re.search(pattern, header):
                return header
            if re.match(rf"(?i)assignment: {re.escape(assignment)}\b", header):  # Moodle's export
                return header
    return assignment


def _person(facts: ClassFacts, student: str) -> Person:
    return facts.people.get(student) or Person(student=student)


def _names(facts: ClassFacts, student: str) -> tuple[str, str]:
    """(first, last) from the roster, else from the LMS's spelling of the name."""
    person = facts.people.get(student)
    if person and (person.first_name or person.last_name):
        return person.first_name, person.last_name
    name = person.display_name if person else ""
    if not name:
        sub = next((facts.entries[student, a].submission for a in facts.assignments if facts.entries[student, a].submission), None)
        name = (sub.student_name if sub else "") or student
    first, _, last = name.rpartition(" ")
    return (first, last) if first else ("", last)


def _lms_id(facts: ClassFacts, student: str, source: str) -> str:
    for assignment in facts.assignments:
        sub = facts.entries[student, assignment].submission
        if sub and sub.source == source and sub.lms_id:
            return sub.lms_id
    return ""


def canvas_rows(facts: ClassFacts) -> tuple[list[list[str]], list[str]]:
    headers = [_roster_header(facts, a, r"\(\d+\)$") for a in facts.assignments]
    rows, warnings = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *headers]], []
    for student in facts.students:
        p = _person(facts, student)
        canvas_id = p.canvas_id or _lms_id(facts, student, "canvas")
        name = p.name or ", ".join(reversed([n for n in _names(facts, student) if n])) or student
        if not (canvas_id or p.sis_user_id or p.sis_login_id):
            warnings.append(f"{student}: no Canvas ID, SIS User ID or SIS Login ID; Canvas cannot match this row (give --roster)")
        rows.append([cell_text(x) for x in (name, canvas_id, p.sis_user_id, p.sis_login_id, p.section)]
                    + [_score(facts.entry(student, a)) for a in facts.assignments])
    return rows, warnings


def moodle_rows(facts: ClassFacts) -> tuple[list[list[str]], list[str]]:
    headers = [_roster_header(facts, a, r"(?!)") for a in facts.assignments]
    rows, warnings = [["First name", "Last name", "ID number", "Email address", *headers]], []
    for student in facts.students:
        p = _person(facts, student)
        email = p.email or next((facts.entry(student, a).submission.email for a in facts.assignments
                                 if facts.entry(student, a).submission and facts.entry(student, a).submission.email), "")
        if not (email or p.id_number):
            warnings.append(f"{student}: no email address or ID number; Moodle cannot match this row (give --roster)")
        first, last = _names(facts, student)
        rows.append([cell_text(x) for x in (first, last, p.id_number, email)]
                    + [_score(facts.entry(student, a)) for a in facts.assignments])
    return rows, warnings


def blackboard_rows(facts: ClassFacts) -> tuple[list[list[str]], list[str]]:
    headers = [_roster_header(facts, a, r"\|\s*\d+$") for a in facts.assignments]
    rows, warnings = [["Last Name", "First Name", "Username", *headers]], []
    for student in facts.students:
        p = _person(facts, student)
        if not p.username:
            warnings.append(f"{student}: no Username; Blackboard needs one on every row (give --roster)")
        first, last = _names(facts, student)
        rows.append([cell_text(x) for x in (last, first, p.username)]
                    + [_score(facts.entry(student, a)) for a in facts.assignments])
    return rows, warnings


PLAIN_HEADER = ["student", "name", "assignment", "status", "score", "max_score", "raw_score",
                "late_penalty_percent", "late_reason", "file", "submitted_at", "graded_at", "note"]


def plain_rows(facts: ClassFacts) -> tuple[list[list[str]], list[str]]:
    rows = [PLAIN_HEADER]
    for student in facts.students:
        for assignment in facts.assignments:
            e = facts.entry(student, assignment)
            late = e.late or {}
            first, last = _names(facts, student)
            rows.append([cell_text(x) for x in (
                student, f"{first} {last}".strip(), assignment, e.status, _score(e),
                format_number(facts.max_scores[assignment]),
                "" if e.raw_score is None else format_number(e.raw_score),
                format_number(late["penalty_percent"]) if "penalty_percent" in late else "",
                str(late.get("reason", "")), e.file, e.submitted_at,
                e.report.graded_at if e.report else "", e.reason,
            )])
    return rows, []


ROWS = {"canvas": canvas_rows, "moodle": moodle_rows, "blackboard": blackboard_rows, "csv": plain_rows}


def export_text(kind: str, facts: ClassFacts) -> tuple[str, list[str]]:
    """The import file's text for `kind`, and warnings about rows the LMS cannot match."""
    rows, warnings = ROWS[kind](facts)
    buffer = io.StringIO()
    quoting = csv.QUOTE_ALL if kind == "blackboard" else csv.QUOTE_MINIMAL  # Blackboard wants quotes
    csv.writer(buffer, quoting=quoting, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue(), warnings


def write_export(kind: str, facts: ClassFacts, path: str | os.PathLike) -> tuple[Path, list[str]]:
    text, warnings = export_text(kind, facts)
    return atomic_write_bytes(path, text.encode("utf-8")), warnings
