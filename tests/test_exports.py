"""`grade export`: each LMS's grade-import columns, read back as that LMS documents them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.records import ItemResult, PartResult, Report, Submission
from grader.report.facts import load_class, write_intake
from grader.report.files import write_report_json
from grader.report.lms_export import export_text


def report(student: str, score: float, assignment: str = "ch10", not_graded: bool = False) -> Report:
    status = "error" if not_graded else "passed"
    feedback = "not graded: not a notebook." if not_graded else "ok."
    part = PartResult("answer_q1", score, 100, status, feedback)
    return Report(student, assignment, score, 100.0, [ItemResult(f"{assignment}.q1", "Q1", [part])],
                  "ab" * 32, "0.1.0", "2026-03-08T12:00:00+00:00", 1)


@pytest.fixture
def reports_dir(tmp_path) -> Path:
    out = tmp_path / "grade-reports"
    write_report_json(out, report("lovelaceada", 87.5))
    write_report_json(out, report("babbagecharles", 0, not_graded=True))
    late = report("turingalan", 68.25)
    path = write_report_json(out, late)
    data = json.loads(path.read_text())  # what the lead's judging adds: raw score and penalty
    data.update(raw_score=91.0, late={"due": "2026-03-06T23:59:00-08:00", "submitted_at": "2026-03-08T10:00:00-08:00",
                                      "late_by_hours": 34.02, "penalty_percent": 25.0, "reason": "2 day(s) started"})
    path.write_text(json.dumps(data))
    subs = [
        Submission("lovelaceada", "ch10", "/w/lovelaceada/ch10.ipynb", "/w/lovelaceada", source="canvas", lms_id="12345"),
        Submission("babbagecharles", "ch10", "/w/b/ch10-1.ipynb", "/w/b", source="canvas", lms_id="22222", lms_late=True),
        Submission("turingalan", "ch10", "/w/t/Copy of ch10.ipynb", "/w/t", source="canvas", lms_id="44444",
                   submitted_at="2026-03-08T10:00:00-08:00"),
    ]
    write_intake(out, "canvas", subs, [("hoppergrace", "no notebook for any assignment")], [])
    return out


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_canvas_import_columns_and_ids_from_the_zip(reports_dir):
    text, warnings = export_text("canvas", load_class(reports_dir))
    rows = parse(text)
    assert list(rows[0]) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ch10"]
    by_id = {r["ID"]: r for r in rows}
    assert by_id["12345"]["ch10"] == "87.5"  # decimals as they are
    assert by_id["44444"]["ch10"] == "68.25"  # the final score, after the late penalty
    assert by_id["22222"]["ch10"] == ""  # not graded: Canvas leaves the grade alone
    assert not any("(max)" in line or "Points Possible" in line for line in text.splitlines())
    assert warnings == ["hoppergrace: no Canvas ID, SIS User ID or SIS Login ID; Canvas cannot match this row (give --roster)"]


CANVAS_GRADEBOOK = (
    "Student,ID,SIS User ID,SIS Login ID,Section,ch10 (987654),Current Score\n"
    "    Points Possible,,,,,100.00,\n"
    '"Lovelace, Ada",12345,S001,ada@uni.edu,CS 101,,\n'
    '"Hopper, Grace",33333,S003,grace@uni.edu,CS 101,,\n'
)


def test_canvas_roster_gives_sis_ids_and_the_assignment_column(reports_dir, tmp_path):
    roster = tmp_path / "canvas.csv"
    roster.write_text(CANVAS_GRADEBOOK)
    rows = parse(export_text("canvas", load_class(reports_dir, roster))[0])
    assert list(rows[0])[-1] == "ch10 (987654)"  # updates that assignment instead of making one
    ada = next(r for r in rows if r["ID"] == "12345")
    assert (ada["Student"], ada["SIS User ID"], ada["SIS Login ID"], ada["Section"]) == ("Lovelace, Ada", "S001", "ada@uni.edu", "CS 101")
    grace = next(r for r in rows if r["ID"] == "33333")
    assert grace["ch10 (987654)"] == ""  # on the roster, nothing handed in


MOODLE_EXPORT = (
    "First name,Last name,ID number,Institution,Department,Email address,Assignment: ch10 (Real),Last downloaded from this course\n"
    "Ada,Lovelace,S001,,,ada@uni.edu,-,1710000000\n"
    "Alan,Turing,S004,,,alan@uni.edu,-,1710000000\n"
)


def test_moodle_import_matches_by_email_and_reuses_the_grade_item_column(reports_dir, tmp_path):
    roster = tmp_path / "moodle.csv"
    roster.write_text(MOODLE_EXPORT)
    rows = parse(export_text("moodle", load_class(reports_dir, roster))[0])
    assert list(rows[0]) == ["First name", "Last name", "ID number", "Email address", "Assignment: ch10 (Real)"]
    by_email = {r["Email address"]: r for r in rows}
    assert by_email["ada@uni.edu"]["Assignment: ch10 (Real)"] == "87.5"  # matched: lovelaceada = Lovelace, Ada
    assert by_email["alan@uni.edu"]["Assignment: ch10 (Real)"] == "68.25"  # turingalan
    assert by_email["alan@uni.edu"]["ID number"] == "S004"


BLACKBOARD_DOWNLOAD = (
    '"Last Name","First Name","Username","Student ID","Last Access","Availability","ch10 [Total Pts: 100 Score] |1234567"\n'
    '"Lovelace","Ada","alovelace","S001","","Available",""\n'
    '"Babbage","Charles","cbabbage","S002","","Available",""\n'
)


def test_blackboard_upload_quotes_every_cell_and_keeps_the_column_id(reports_dir, tmp_path):
    roster = tmp_path / "bb.csv"
    roster.write_text(BLACKBOARD_DOWNLOAD)
    text, warnings = export_text("blackboard", load_class(reports_dir, roster))
    header, *lines = text.splitlines()
    assert header == '"Last Name","First Name","Username","ch10 [Total Pts: 100 Score] |1234567"'
    assert '"Lovelace","Ada","alovelace","87.5"' in lines
    assert '"Babbage","Charles","cbabbage",""' in lines
    assert any("turingalan: no Username" in w for w in warnings)


def test_plain_csv_has_status_file_time_and_penalty(reports_dir):
    rows = {r["student"]: r for r in parse(export_text("csv", load_class(reports_dir))[0])}
    assert {s: r["status"] for s, r in rows.items()} == {
        "babbagecharles": "not graded", "hoppergrace": "missing", "lovelaceada": "graded", "turingalan": "graded"}
    alan = rows["turingalan"]
    assert (alan["score"], alan["raw_score"], alan["late_penalty_percent"]) == ("68.25", "91", "25")
    assert (alan["file"], alan["submitted_at"]) == ("Copy of ch10.ipynb", "2026-03-08T10:00:00-08:00")
    assert rows["hoppergrace"]["note"] == "no notebook for any assignment"
    assert rows["babbagecharles"]["score"] == ""


def test_grade_export_command_writes_the_file_and_warns(reports_dir):
    result = CliRunner().invoke(main, ["export", "canvas", "--reports", str(reports_dir)])
    assert result.exit_code == 0, result.output
    assert (reports_dir / "canvas-import.csv").read_text().startswith("Student,ID,")
    assert "warning: hoppergrace" in result.output
    empty = reports_dir.parent / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["export", "csv", "--reports", str(empty)])
    assert result.exit_code == 1 and "no reports" in result.output
