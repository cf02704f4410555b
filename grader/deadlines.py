"""Due dates, late penalties and extensions from `course.toml`, applied when a report is judged.

A pure function of (course, student, assignment, submission time): changing a due date or
granting an extension and judging again changes the score without running any notebook.

    timezone = "America/Los_Angeles"      # for times written without an offset (optional)

    [assignments.ch10]
    due = 2026-03-06T23:59:00-08:00       # TOML date-time; an offset or `timezone` is required
    grace_minutes = 15                    # later than due, within this: no penalty
    penalty_percent = 10                  # per day (or hour) started after the due time
    per = "day"                           # "day" or "hour"
    cap_percent = 50                      # the penalty never exceeds this (100: late work scores 0)

    [[extensions]]
    student = "ada"
    assignment = "ch10"
    days = 2                              # or: due = 2026-03-09T12:00:00-08:00
    reason = "illness"                    # shown in the report (optional)

Past the grace period, lateness counts from the due time itself: 20 minutes late with 15 of
grace is one day started.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grader.errors import GraderError

UNITS = {"day": timedelta(days=1), "hour": timedelta(hours=1)}


@dataclass(frozen=True)
class Policy:
    due: datetime
    grace: timedelta = timedelta(0)
    penalty_percent: float = 0.0
    per: str = "day"
    cap_percent: float = 100.0


@dataclass(frozen=True)
class Extension:
    due: datetime | None = None
    days: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class Course:
    assignments: dict[str, Policy] = field(default_factory=dict)
    extensions: dict[tuple[str, str], Extension] = field(default_factory=dict)  # (student, assignment)


@dataclass(frozen=True)
class Late:
    """What the report shows: the due time that applied, how late, the penalty and why."""

    due: str | None  # ISO 8601, the student's own (extension included)
    submitted_at: str | None
    late_by_hours: float  # 0 when on time or unknown
    penalty_percent: float  # of the raw score
    reason: str

    @property
    def penalty_fraction(self) -> float:
        return self.penalty_percent / 100

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _when(value: Any, tz: ZoneInfo | None, where: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise GraderError(f"{where}: {value!r} is not a date-time like 2026-03-06T23:59:00-08:00") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(23, 59, 59))  # a bare date: the end of that day
    if not isinstance(value, datetime):
        raise GraderError(f"{where}: expected a date-time, got {value!r}")
    if value.tzinfo is None:
        if tz is None:
            raise GraderError(f"{where}: {value.isoformat()} has no offset; add one (e.g. -08:00) or set timezone")
        value = value.replace(tzinfo=tz)
    return value


def _number(table: dict, key: str, where: str, default: float, low: float = 0, high: float = math.inf) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise GraderError(f"{where}.{key}: expected a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def parse_course(data: dict[str, Any], source: str = "course.toml") -> Course:
    """A Course from the parsed TOML; GraderError naming the key for anything malformed."""
    tz = None
    if "timezone" in data:
        try:
            tz = ZoneInfo(str(data["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise GraderError(f"{source}: timezone {data['timezone']!r} is not a known zone like 'Europe/Paris'") from None
    assignments = {}
    for name, table in (data.get("assignments") or {}).items():
        where = f"{source}: assignments.{name}"
        if not isinstance(table, dict) or "due" not in table:
            raise GraderError(f"{where}: needs a due time")
        per = table.get("per", "day")
        if per not in UNITS:
            raise GraderError(f"{where}.per: 'day' or 'hour', not {per!r}")
        assignments[name] = Policy(
            _when(table["due"], tz, f"{where}.due"),
            timedelta(minutes=_number(table, "grace_minutes", where, 0)),
            _number(table, "penalty_percent", where, 0, high=100),
            per,
            _number(table, "cap_percent", where, 100, high=100),
        )
    extensions = {}
    for n, table in enumerate(data.get("extensions") or []):
        where = f"{source}: extensions[{n}]"
        if not isinstance(table, dict) or not {"student", "assignment"} <= table.keys():
            raise GraderError(f"{where}: needs student and assignment")
        if ("due" in table) == ("days" in table):
            raise GraderError(f"{where}: give either due (a new due time) or days (added to the due time)")
        key = (str(table["student"]), str(table["assignment"]))
        due = _when(table["due"], tz, f"{where}.due") if "due" in table else None
        extensions[key] = Extension(due, _number(table, "days", where, 0, high=365), str(table.get("reason", "")))
    return Course(assignments, extensions)


def load_course(path: str | os.PathLike) -> Course:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise GraderError(f"{path}: cannot be read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GraderError(f"{path}: not valid TOML ({exc})") from None
    return parse_course(data, str(path))


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def late_penalty(
    course: Course, student: str, assignment: str, submitted_at: str | None, lms_late: bool = False
) -> Late:
    """The late penalty of one submission, from the course file alone (no run needed)."""
    policy = course.assignments.get(assignment)
    if policy is None:
        return Late(None, submitted_at, 0.0, 0.0, "no due time for this assignment")
    due, why_due = policy.due, "due"
    extension = course.extensions.get((student, assignment))
    if extension:
        due = extension.due or policy.due + timedelta(days=extension.days)
        why_due = "extended to" + (f" ({extension.reason})" if extension.reason else "")
    due_text = due.isoformat()
    if submitted_at is None:
        if lms_late:
            reason = f"the LMS marked it late but its export holds no submission time: no penalty applied ({why_due} {due_text})"
        else:
            reason = "no submission time in the export: no penalty applied"
        return Late(due_text, None, 0.0, 0.0, reason)
    try:
        when = datetime.fromisoformat(submitted_at)
    except ValueError:
        return Late(due_text, submitted_at, 0.0, 0.0, f"submission time {submitted_at!r} unreadable: no penalty applied")
    if when.tzinfo is None:
        when = when.replace(tzinfo=due.tzinfo)
    late_by = when - due
    if late_by <= timedelta(0):
        return Late(due_text, submitted_at, 0.0, 0.0, f"on time ({why_due} {due_text})")
    if late_by <= policy.grace:
        return Late(due_text, submitted_at, _hours(late_by), 0.0, f"{_hours(late_by):g} h late, within the grace period")
    units = math.ceil(late_by / UNITS[policy.per])
    percent = min(policy.cap_percent, units * policy.penalty_percent)
    capped = " (the cap)" if percent < units * policy.penalty_percent else ""
    reason = (
        f"{_hours(late_by):g} h late ({why_due} {due_text}): {units} {policy.per}(s) started "
        f"x {policy.penalty_percent:g}% = {percent:g}%{capped}"
    )
    return Late(due_text, submitted_at, _hours(late_by), percent, reason)


def apply_late(raw_score: float, late: Late) -> float:
    """The score after the penalty, rounded as report scores are (2 decimals)."""
    return round(raw_score * (1 - late.penalty_fraction), 2)


def late_fields(
    raw_score: float, course: Course, student: str, assignment: str, submitted_at: str | None, lms_late: bool = False
) -> dict[str, Any]:
    """What a judged report gains: `raw_score`, the final `score` and `late` (see `Late`)."""
    late = late_penalty(course, student, assignment, submitted_at, lms_late)
    return {"raw_score": raw_score, "score": apply_late(raw_score, late), "late": late.to_json()}
