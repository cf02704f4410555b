"""course.toml: due times, late penalties, grace, caps and extensions, judged without running."""

from __future__ import annotations

import pytest

from grader.deadlines import apply_late, late_fields, late_penalty, load_course, parse_course
from grader.errors import GraderError

COURSE = """
timezone = "America/Los_Angeles"

[assignments.ch10]
due = 2026-03-06T23:59:00-08:00
grace_minutes = 15
penalty_percent = 10
per = "day"
cap_percent = 30

[assignments.ch14]
due = 2026-03-20T12:00:00          # local time in the course's timezone (PDT: -07:00)
penalty_percent = 5
per = "hour"

[[extensions]]
student = "ada"
assignment = "ch10"
days = 2
reason = "illness"

[[extensions]]
student = "ben"
assignment = "ch10"
due = 2026-03-07T12:00:00-08:00
"""


@pytest.fixture
def course(tmp_path):
    path = tmp_path / "course.toml"
    path.write_text(COURSE)
    return load_course(path)


@pytest.mark.parametrize(
    "submitted, hours, percent",
    [
        ("2026-03-06T23:00:00-08:00", 0, 0),  # on time
        ("2026-03-07T00:10:00-08:00", 0.18, 0),  # 11 minutes: within the grace period
        ("2026-03-07T00:20:00-08:00", 0.35, 10),  # past the grace: one day started
        ("2026-03-08T07:59:00+00:00", 24, 10),  # exactly one day late, in another zone
        ("2026-03-08T08:00:00+00:00", 24.02, 20),  # a second day started
        ("2026-03-16T00:00:00-08:00", 216.02, 30),  # capped
    ],
)
def test_penalty_per_day_started_with_grace_and_cap(course, submitted, hours, percent):
    late = late_penalty(course, "zoe", "ch10", submitted)
    assert (late.late_by_hours, late.penalty_percent) == (hours, percent)
    assert late.due == "2026-03-06T23:59:00-08:00"


def test_penalty_per_hour_and_local_due_time(course):
    late = late_penalty(course, "zoe", "ch14", "2026-03-20T14:30:00-07:00")
    assert late.due == "2026-03-20T12:00:00-07:00"
    assert (late.late_by_hours, late.penalty_percent) == (2.5, 15)
    assert "3 hour(s) started x 5% = 15%" in late.reason
    assert apply_late(80, late) == 68


def test_extensions_in_days_and_as_a_new_due_time(course):
    submitted = "2026-03-08T20:00:00-08:00"
    assert late_penalty(course, "zoe", "ch10", submitted).penalty_percent == 20
    ada = late_penalty(course, "ada", "ch10", submitted)
    assert (ada.penalty_percent, ada.due) == (0, "2026-03-08T23:59:00-08:00")
    assert "extended to (illness)" in ada.reason
    ben = late_penalty(course, "ben", "ch10", submitted)
    assert (ben.penalty_percent, ben.late_by_hours) == (20, 32.0)


def test_a_changed_due_date_rejudges_from_the_file_alone(tmp_path, course):
    submitted = "2026-03-07T10:00:00-08:00"
    assert late_penalty(course, "zoe", "ch10", submitted).penalty_percent == 10
    later = tmp_path / "later.toml"
    later.write_text(COURSE.replace("due = 2026-03-06T23:59:00-08:00", "due = 2026-03-07T23:59:00-08:00"))
    assert late_penalty(load_course(later), "zoe", "ch10", submitted).penalty_percent == 0


def test_unknown_times_and_assignments_apply_no_penalty(course):
    assert late_penalty(course, "zoe", "ch99", "2030-01-01T00:00:00+00:00").reason == "no due time for this assignment"
    canvas = late_penalty(course, "zoe", "ch10", None, lms_late=True)
    assert canvas.penalty_percent == 0 and "marked it late" in canvas.reason
    assert late_penalty(course, "zoe", "ch10", "yesterday").penalty_percent == 0
    assert late_penalty(course, "zoe", "ch10", None).to_json() == {
        "due": "2026-03-06T23:59:00-08:00", "submitted_at": None, "late_by_hours": 0.0,
        "penalty_percent": 0.0, "reason": "no submission time in the export: no penalty applied",
    }


@pytest.mark.parametrize(
    "data, message",
    [
        ({"assignments": {"ch10": {}}}, "assignments.ch10: needs a due time"),
        ({"assignments": {"ch10": {"due": "2026-03-06T23:59:00"}}}, "has no offset"),
        ({"assignments": {"ch10": {"due": "soon"}}}, "not a date-time"),
        ({"assignments": {"ch10": {"due": "2026-03-06T23:59:00Z", "per": "week"}}}, "'day' or 'hour'"),
        ({"assignments": {"ch10": {"due": "2026-03-06T23:59:00Z", "penalty_percent": 120}}}, "penalty_percent"),
        ({"extensions": [{"student": "a", "assignment": "ch10"}]}, "either due"),
        ({"timezone": "Mars/Olympus"}, "not a known zone"),
    ],
)
def test_malformed_course_files_name_the_key(data, message):
    with pytest.raises(GraderError, match=message):
        parse_course(data)


def test_invalid_toml_is_a_grader_error(tmp_path):
    path = tmp_path / "course.toml"
    path.write_text("[assignments.ch10\n")
    with pytest.raises(GraderError, match="not valid TOML"):
        load_course(path)


def test_late_fields_give_the_report_its_raw_and_final_score(course):
    fields = late_fields(91.0, course, "zoe", "ch10", "2026-03-08T10:00:00-08:00")
    assert (fields["raw_score"], fields["score"], fields["late"]["penalty_percent"]) == (91.0, 72.8, 20.0)
    assert fields["late"]["reason"].startswith("34.02 h late (due 2026-03-06T23:59:00-08:00): 2 day(s) started")
