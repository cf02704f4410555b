"""Finding `<root>/<student>/*.ipynb` and matching each to an assignment: metadata, then file name."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from grader.notebook.match import (
    find_submissions,
    metadata_assignment,
    name_assignment,
    student_submissions,
)
from helpers_notebooks import notebook, write

KNOWN = {"ch10", "ch14"}


def submit(root: Path, student: str, name: str, assignment: str | None = None, mtime: float | None = None) -> Path:
    meta = {"homl_grader": {"assignment": assignment, "version": "1"}} if assignment else {}
    path = write(root / student / name, notebook('answer_q1 = "B"', **meta))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def by_student(submissions):
    return {(s.student, s.assignment): s for s in submissions}


# --- matching one notebook --------------------------------------------------------------------


def test_metadata_wins_over_the_file_name(tmp_path):
    submit(tmp_path, "alice", "ch10.ipynb", assignment="ch14")
    subs, notes = student_submissions(tmp_path / "alice", KNOWN)
    assert [(s.assignment, Path(s.path).name) for s in subs] == [("ch14", "ch10.ipynb")]
    assert subs[0].note == (
        "matched to ch14 by its metadata; ch10.ipynb is named like ch10 but its metadata says ch14: graded as ch14"
    )
    assert notes == []


@pytest.mark.parametrize(
    "name, expected",
    [
        ("ch10.ipynb", "ch10"),
        ("ch10 (1).ipynb", "ch10"),
        ("CH10-final.ipynb", "ch10"),
        ("Ch14_v2.ipynb", "ch14"),
        ("ch 10.ipynb", "ch10"),
        ("ch14.IPYNB", "ch14"),
        ("ch1.ipynb", None),
        ("ch100.ipynb", None),
        ("ch99.ipynb", None),
        ("chapter10.ipynb", None),
        ("homework.ipynb", None),
    ],
)
def test_file_name_matching(name, expected):
    assert name_assignment(Path(name), KNOWN) == expected


def test_a_copy_named_ch10_space_1_is_matched_by_its_name(tmp_path):
    submit(tmp_path, "bob", "ch10 (1).ipynb")
    subs, _ = student_submissions(tmp_path / "bob", KNOWN)
    assert [(s.assignment, Path(s.path).name, s.note) for s in subs] == [
        ("ch10", "ch10 (1).ipynb", "matched to ch10 by its file name")
    ]


def test_upper_case_name_with_suffix_is_matched(tmp_path):
    submit(tmp_path, "bob", "CH10-final.ipynb")
    subs, _ = student_submissions(tmp_path / "bob", KNOWN)
    assert [s.assignment for s in subs] == ["ch10"]


@pytest.mark.parametrize("name", ["Copy of ch10.ipynb", "alice_ch10.ipynb"])
def test_a_chapter_id_later_in_the_name_is_matched(name):
    assert name_assignment(Path(name), KNOWN) == "ch10"


def test_metadata_for_an_unknown_assignment_falls_back_to_the_file_name(tmp_path):
    submit(tmp_path, "carol", "ch10.ipynb", assignment="ch99")
    subs, _ = student_submissions(tmp_path / "carol", KNOWN)
    assert [(s.assignment, s.note) for s in subs] == [
        ("ch10", "matched to ch10 by its file name; its metadata names 'ch99', not an assignment graded here")
    ]


def test_a_notebook_for_an_unknown_assignment_is_noted(tmp_path):
    submit(tmp_path, "dave", "ch99.ipynb", assignment="ch99")
    subs, notes = student_submissions(tmp_path / "dave", KNOWN)
    assert subs == []
    assert notes == ["ch99.ipynb matches no assignment (ch10, ch14)"]
    submit(tmp_path, "zed", "ch10.ipynb")  # a class where nothing matches is refused whole (below)
    intake = find_submissions(tmp_path, KNOWN)
    assert intake.unused == [("dave/ch99.ipynb", "matches no assignment (ch10, ch14)")]
    _, ungraded = intake
    assert ungraded == [("dave", "no notebook for any assignment: ch99.ipynb matches no assignment (ch10, ch14)")]


@pytest.mark.parametrize(
    "data",
    [b"not json", b'{"metadata": []}', b'{"metadata": {"homl_grader": "ch14"}}',
     b'{"metadata": {"homl_grader": {"assignment": 14}}}', b"[1]", b"\xff\xfe\x00"],
)
def test_unreadable_metadata_is_ignored_and_the_name_decides(tmp_path, data):
    path = tmp_path / "ch10.ipynb"
    path.write_bytes(data)
    assert metadata_assignment(path) is None
    subs, _ = student_submissions(tmp_path, KNOWN)
    assert [s.assignment for s in subs] == ["ch10"]  # submitted, so its load problem gets reported


def test_non_notebook_files_and_directories_are_not_candidates(tmp_path):
    folder = tmp_path / "erin"
    submit(tmp_path, "erin", "ch14.ipynb")
    (folder / "ch10.py").write_text("answer_q1 = 'B'\n")
    (folder / "ch10.ipynb.bak").write_text("{}")
    (folder / "ch10.ipynb").mkdir()
    (folder / ".ipynb_checkpoints").mkdir()
    write(folder / ".ipynb_checkpoints" / "ch10-checkpoint.ipynb", notebook(homl_grader={"assignment": "ch10"}))
    subs, notes = student_submissions(folder, KNOWN)
    assert [s.assignment for s in subs] == ["ch14"]
    assert notes == []


# --- several notebooks for one assignment -----------------------------------------------------


def test_two_notebooks_by_name_grade_the_newest_and_name_the_ignored_one(tmp_path):
    submit(tmp_path, "fay", "ch10.ipynb", mtime=1_000_000)
    submit(tmp_path, "fay", "ch10 (1).ipynb", mtime=2_000_000)
    subs, _ = student_submissions(tmp_path / "fay", KNOWN)
    assert len(subs) == 1
    assert Path(subs[0].path).name == "ch10 (1).ipynb"
    assert subs[0].note == (
        "matched to ch10 by its file name; 2 notebooks for ch10: graded ch10 (1).ipynb, ignored ch10.ipynb"
    )


def test_a_metadata_match_is_preferred_over_a_newer_name_match(tmp_path):
    submit(tmp_path, "gus", "final.ipynb", assignment="ch10", mtime=1_000_000)
    submit(tmp_path, "gus", "ch10.ipynb", mtime=2_000_000)
    subs, _ = student_submissions(tmp_path / "gus", KNOWN)
    assert len(subs) == 1
    assert Path(subs[0].path).name == "final.ipynb"
    assert subs[0].note.startswith("matched to ch10 by its metadata; 2 notebooks for ch10")
    assert "ignored ch10.ipynb" in subs[0].note


def test_one_submission_per_assignment_sorted_by_assignment(tmp_path):
    submit(tmp_path, "hal", "b.ipynb", assignment="ch14")
    submit(tmp_path, "hal", "a.ipynb", assignment="ch10")
    subs, _ = student_submissions(tmp_path / "hal", KNOWN)
    assert [(s.assignment, Path(s.path).name) for s in subs] == [("ch10", "a.ipynb"), ("ch14", "b.ipynb")]


# --- symbolic links ---------------------------------------------------------------------------


def test_a_symlinked_notebook_is_not_read(tmp_path):
    secret = write(tmp_path / "elsewhere" / "ch10.ipynb", notebook(homl_grader={"assignment": "ch10"}))
    root = tmp_path / "submissions"
    (root / "ivy").mkdir(parents=True)
    (root / "ivy" / "ch10.ipynb").symlink_to(secret)
    subs, notes = student_submissions(root / "ivy", KNOWN)
    assert subs == []
    assert notes == ["ch10.ipynb is a symbolic link and was not read"]
    submit(root, "zed", "ch10.ipynb")
    subs, ungraded = find_submissions(root, KNOWN)
    assert [s.student for s in subs] == ["zed"]
    assert ungraded == [("ivy", "no notebook for any assignment: ch10.ipynb is a symbolic link and was not read")]


def test_a_symlinked_student_folder_is_not_read(tmp_path):
    real = tmp_path / "elsewhere" / "jo"
    submit(tmp_path / "elsewhere", "jo", "ch10.ipynb")
    root = tmp_path / "submissions"
    root.mkdir()
    (root / "jo").symlink_to(real, target_is_directory=True)
    submit(root, "zed", "ch10.ipynb")
    subs, ungraded = find_submissions(root, KNOWN)
    assert [s.student for s in subs] == ["zed"]
    assert ungraded == [("jo", "the student folder is a symbolic link; it was not read")]


def test_notes_are_kept_for_a_student_with_a_graded_notebook(tmp_path):
    submit(tmp_path, "kim", "ch10.ipynb")
    submit(tmp_path, "kim", "ch99.ipynb")
    subs, ungraded = find_submissions(tmp_path, KNOWN)
    assert [s.assignment for s in subs] == ["ch10"]
    said = [s.note for s in subs] + [reason for _, reason in ungraded]
    assert any("ch99.ipynb" in text for text in said)


# --- the submissions folder -------------------------------------------------------------------


def test_student_ids_with_spaces_and_unicode_are_kept_as_written(tmp_path):
    names = ["Zoë Ångström", "de la Cruz, Ana", "李雷", "o'brien"]
    for name in names:
        submit(tmp_path, name, "ch10.ipynb")
    subs, ungraded = find_submissions(tmp_path, KNOWN)
    assert ungraded == []
    assert sorted(s.student for s in subs) == sorted(names)
    for s in subs:
        assert Path(s.folder) == tmp_path / s.student
        assert Path(s.path) == tmp_path / s.student / "ch10.ipynb"


def test_hidden_folders_and_loose_files_at_the_root_are_skipped(tmp_path):
    submit(tmp_path, ".git", "ch10.ipynb")
    submit(tmp_path, ".ipynb_checkpoints", "ch10.ipynb")
    (tmp_path / ".DS_Store").write_bytes(b"\x00")
    write(tmp_path / "ch10.ipynb", notebook())
    submit(tmp_path, "lee", "ch10.ipynb")
    subs, ungraded = find_submissions(tmp_path, KNOWN)
    assert [s.student for s in subs] == ["lee"]
    assert ungraded == []


def test_a_folder_without_notebooks_is_ungraded_with_a_reason(tmp_path):
    (tmp_path / "max").mkdir()
    (tmp_path / "max" / "ch10.py").write_text("print(1)\n")
    (tmp_path / "nat").mkdir()
    submit(tmp_path, "oli", "ch14.ipynb")
    subs, ungraded = find_submissions(tmp_path, KNOWN)
    assert [(s.student, s.assignment) for s in subs] == [("oli", "ch14")]
    assert ungraded == [("max", "no notebook for any assignment"), ("nat", "no notebook for any assignment")]


def test_sha256_of_the_graded_file_is_recorded(tmp_path):
    path = submit(tmp_path, "pat", "ch10.ipynb")
    subs, _ = find_submissions(tmp_path, KNOWN)
    assert subs[0].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(subs[0].sha256) == 64


def test_submissions_are_listed_in_a_stable_order(tmp_path):
    for student in ["zed", "amy", "Bea"]:
        submit(tmp_path, student, "ch14.ipynb")
        submit(tmp_path, student, "ch10.ipynb")
    subs, _ = find_submissions(tmp_path, KNOWN)
    assert [(s.student, s.assignment) for s in subs] == [
        ("Bea", "ch10"), ("Bea", "ch14"), ("amy", "ch10"), ("amy", "ch14"), ("zed", "ch10"), ("zed", "ch14")
    ]
