"""The class as a table of facts: who handed in what, when, and how it was graded.

Read from the report folder alone, so the exports and the class report need no database:
    <student>/<assignment>.json   the reports (fields beyond `Report`'s, such as `late` and
                                  `raw_score`, are kept in `Entry.extra`)
    submissions.json              what intake found: files, times, LMS ids, what was not used
and optionally a roster CSV (an LMS's own gradebook export serves: Canvas, Moodle, Blackboard).
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from grader.errors import GraderError
from grader.records import Report, Submission
from grader.report.files import atomic_write_text

INTAKE_NAME = "submissions.json"
Status = Literal["graded", "not graded", "missing"]
_REPORT_FIELDS = {f.name for f in fields(Report)}


def report_status(report: Report) -> Status:
    """"not graded" when no part could be judged (an unreadable notebook, a grader failure)."""
    if getattr(report, "status", "graded") == "not graded":
        return "not graded"
    parts = [p for item in report.items for p in item.parts]
    if parts and all(p.status == "error" and p.feedback.startswith("not graded") for p in parts):
        return "not graded"
    return "graded"


def read_reports(out: str | os.PathLike) -> list[tuple[Report, dict[str, Any]]]:
    """Every `<student>/<assignment>.json` report under `out`, with the JSON fields `Report` lacks."""
    found = []
    for path in sorted(Path(out).glob("*/*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            extra = {k: v for k, v in data.items() if k not in _REPORT_FIELDS}
            report = Report.from_json({k: v for k, v in data.items() if k in _REPORT_FIELDS})
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue  # half-written, hand-edited, or not a report
        found.append((report, extra))
    return found


# ---- what intake found ---------------------------------------------------------------------


def write_intake(out: str | os.PathLike, source: str, submissions: list[Submission],
                 ungraded: list[tuple[str, str]], unused: list[tuple[str, str]]) -> Path:
    """`submissions.json` in the report folder: the facts the exports and class report show."""
    data = {
        "source": source,
        "submissions": [asdict(s) for s in submissions],
        "ungraded": [list(u) for u in ungraded],
        "unused": [list(u) for u in unused],
    }
    return atomic_write_text(Path(out) / INTAKE_NAME, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_intake(out: str | os.PathLike) -> tuple[list[Submission], list[tuple[str, str]], list[tuple[str, str]]]:
    """(submissions, ungraded, unused) from `submissions.json`; empty when there is none."""
    path = Path(out) / INTAKE_NAME
    if not path.exists():
        return [], [], []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(Submission)}
        subs = [Submission(**{k: v for k, v in s.items() if k in known}) for s in data["submissions"]]
        return subs, [tuple(u) for u in data.get("ungraded", [])], [tuple(u) for u in data.get("unused", [])]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise GraderError(f"{path} cannot be read ({exc}); grade the class again to rewrite it") from None


# ---- the roster ----------------------------------------------------------------------------


@dataclass
class Person:
    """One student of the roster; any field may be empty."""

    student: str = ""  # the id reports are filed under
    name: str = ""  # "Ada Lovelace", or Canvas' sortable "Lovelace, Ada"
    email: str = ""
    canvas_id: str = ""  # Canvas "ID"
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    username: str = ""  # Blackboard "Username", Moodle "Username"
    id_number: str = ""  # Moodle "ID number"
    first_name: str = ""
    last_name: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # the row as read

    def keys(self) -> set[str]:
        """Every id this person may be filed under, compared case-insensitively."""
        values = {self.student, self.email, self.canvas_id, self.sis_user_id, self.sis_login_id,
                  self.username, self.id_number, self.name, self.display_name}
        if self.email:
            values.add(self.email.split("@")[0])
        # Canvas' zip names a student by the sortable name "Lovelace, Ada" squeezed: "lovelaceada"
        first, _, last = self.display_name.rpartition(" ")
        values |= {_canvas_slug(self.name), _canvas_slug(last + first), _canvas_slug(self.last_name + self.first_name)}
        return {v.strip().lower() for v in values if v and v.strip()}

    @property
    def display_name(self) -> str:
        if self.first_name or self.last_name:
            return f"{self.first_name} {self.last_name}".strip()
        if "," in self.name:  # "Lovelace, Ada"
            last, first = self.name.split(",", 1)
            return f"{first.strip()} {last.strip()}"
        return self.name


def _canvas_slug(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.lower())


# header (lower case) -> Person field; LMS exports' own column names
_ROSTER_COLUMNS = {
    "student": "name", "student name": "name", "name": "name", "full name": "name",
    "grader id": "student", "id": "canvas_id", "sis user id": "sis_user_id",
    "sis login id": "sis_login_id", "section": "section", "username": "username",
    "user name": "username", "id number": "id_number", "student id": "id_number",
    "email": "email", "email address": "email", "first name": "first_name", "last name": "last_name",
}


def read_roster(path: str | os.PathLike) -> list[Person]:
    """A roster CSV: the grader's own (`student,name,email`, ...) or an LMS gradebook export.

    In the grader's own roster `student` is the id reports are filed under; in a Canvas export
    (it has an `ID` column) `Student` is the name. Students are matched to reports by that id,
    email, LMS ids, user name or name.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GraderError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    first = text.split("\n", 1)[0]
    reader = csv.DictReader(text.splitlines(), dialect=csv.excel_tab if first.count("\t") > first.count(",") else csv.excel)
    headers = {(h or "").strip().lower() for h in reader.fieldnames or []}
    columns = dict(_ROSTER_COLUMNS)
    if "id" not in headers:
        columns["student"] = "student"  # the grader's own roster
    people = []
    for row in reader:
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        first_cell = next(iter(row.values()), "").lower()
        if first_cell in ("points possible", "(max)") or not any(row.values()):
            continue  # Canvas' second row, the old gradebook's max row, blank lines
        person = Person(columns=row)
        for header, value in row.items():
            target = columns.get(header.lower())
            if target and value and not getattr(person, target):
                setattr(person, target, value)
        people.append(person)
    if not people:
        raise GraderError(f"{path}: no students in it (a header row, then one row per student)")
    return people


# ---- the table -----------------------------------------------------------------------------


@dataclass
class Entry:
    """One student and one assignment."""

    student: str
    assignment: str
    status: Status
    report: Report | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # report JSON fields Report lacks
    submission: Submission | None = None
    person: Person | None = None
    reason: str = ""  # why missing / not graded

    @property
    def score(self) -> float | None:
        return self.report.score if self.report and self.status == "graded" else None

    @property
    def raw_score(self) -> float | None:
        if self.score is None:
            return None
        raw = getattr(self.report, "raw_score", None)
        return float(raw if raw is not None else self.extra.get("raw_score", self.report.score))

    @property
    def late(self) -> dict[str, Any] | None:
        late = getattr(self.report, "late", None) or self.extra.get("late")
        return late if isinstance(late, dict) else None

    @property
    def submitted_at(self) -> str:
        return (self.submission.submitted_at if self.submission else None) or ""

    @property
    def file(self) -> str:
        return Path(self.submission.path).name if self.submission else ""


@dataclass
class ClassFacts:
    assignments: list[str]
    max_scores: dict[str, float]  # per assignment
    entries: dict[tuple[str, str], Entry]
    people: dict[str, Person]  # student -> roster row (when a roster was given and matched)
    unmatched_roster: list[Person]  # roster rows without any id to file them under
    unused: list[tuple[str, str]]

    @property
    def students(self) -> list[str]:
        return sorted({s for s, _ in self.entries}, key=str.lower)

    def entry(self, student: str, assignment: str) -> Entry:
        return self.entries[student, assignment]


def _latest(reports: list[tuple[Report, dict]]) -> dict[tuple[str, str], tuple[Report, dict]]:
    latest = {}
    for report, extra in sorted(reports, key=lambda r: r[0].graded_at):
        latest[report.student, report.assignment] = (report, extra)
    return latest


def class_facts(
    reports: list[tuple[Report, dict]] | list[Report],
    submissions: list[Submission] = (),
    ungraded: list[tuple[str, str]] = (),
    roster: list[Person] = (),
    unused: list[tuple[str, str]] = (),
) -> ClassFacts:
    """Every (student, assignment) of the class with its status: graded, not graded, missing.

    The class is every student with a report, a submission, an ungraded folder or a roster row;
    the assignments are those with a report or a submission.
    """
    reports = [r if isinstance(r, tuple) else (r, {}) for r in reports]
    latest = _latest(reports)
    subs = {(s.student, s.assignment): s for s in submissions}
    assignments = sorted({a for _, a in latest} | {a for _, a in subs if a})
    max_scores = {a: max((r.max_score for (_, ra), (r, _) in latest.items() if ra == a), default=0.0) for a in assignments}

    students = {s for s, _ in latest} | {s for s, _ in subs} | {s for s, _ in ungraded}
    people: dict[str, Person] = {}
    by_key: dict[str, Person] = {}
    for person in roster:
        for key in person.keys():
            by_key.setdefault(key, person)
    for student in students:
        sub = next((s for (st, _), s in subs.items() if st == student), None)
        keys = [student, *(x for x in (sub.lms_id, sub.email, sub.student_name) if x)] if sub else [student]
        person = next((by_key[k.lower()] for k in keys if k and k.lower() in by_key), None)
        if person:
            people[student] = person
    claimed = {id(p) for p in people.values()}
    unmatched = []
    for person in roster:  # on the roster, nothing handed in: missing everywhere
        if id(person) in claimed:
            continue
        student = person.student or person.username or person.email or person.sis_login_id or person.canvas_id or person.display_name
        if student:
            students.add(student)
            people[student] = person
        else:
            unmatched.append(person)

    why_ungraded = dict(ungraded)
    entries = {}
    for student in students:
        for assignment in assignments:
            report, extra = latest.get((student, assignment), (None, {}))
            sub = subs.get((student, assignment))
            if report is not None:
                status = report_status(report)
                reason = "; ".join(report.problems[:1]) if status == "not graded" else ""
            else:
                status, reason = "missing", why_ungraded.get(student, "nothing handed in")
                if sub is not None:
                    status, reason = "not graded", "found but not graded yet (interrupted?)"
            entries[student, assignment] = Entry(student, assignment, status, report, extra, sub, people.get(student), reason)
    return ClassFacts(assignments, max_scores, entries, people, unmatched, list(unused))


def load_class(out: str | os.PathLike, roster: str | os.PathLike | None = None) -> ClassFacts:
    """The class facts of a report folder (and a roster file)."""
    submissions, ungraded, unused = read_intake(out)
    reports = read_reports(out)
    if not reports and not submissions:
        raise GraderError(f"{out}: no reports (<student>/<assignment>.json) in it")
    return class_facts(reports, submissions, ungraded, read_roster(roster) if roster else [], unused)
