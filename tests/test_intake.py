"""Intake of LMS exports: Canvas, Moodle and Gradescope layouts, zips, and what was not used."""

from __future__ import annotations

import csv
import io
import stat
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.errors import GraderError
from grader.intake.unzip import safe_unpack
from grader.notebook.match import find_submissions
from helpers_notebooks import notebook

KNOWN = {"ch10", "ch14"}


def nb_bytes(answer: str = "B", assignment: str | None = None) -> bytes:
    meta = {"homl_grader": {"assignment": assignment}} if assignment else {}
    return nbformat.writes(notebook(f'answer_q1 = "{answer}"', **meta)).encode()


def put(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return archive


def by_student(intake):
    return {(s.student, s.assignment): s for s in intake.submissions}


# ---- Canvas -----------------------------------------------------------------------------------


def canvas_export(root: Path) -> Path:
    put(root, "lovelaceada_12345_67890_ch10.ipynb", nb_bytes("A"))
    put(root, "babbagecharles_LATE_22222_67891_ch10-1.ipynb", nb_bytes("C"))
    put(root, "hopper grace_33333_67892_ch10.ipynb", nb_bytes())  # not Canvas' pattern: a space
    put(root, "turingalan_late_44444_67893_notes.txt", b"my notes")
    put(root, "turingalan_late_44444_67893_Copy of ch14.ipynb", nb_bytes())
    return root


def test_canvas_export_maps_user_ids_and_late_marks(tmp_path):
    intake = find_submissions(canvas_export(tmp_path / "canvas"), KNOWN, tmp_path / "work")
    assert intake.source == "canvas"
    subs = by_student(intake)
    assert sorted(subs) == [("babbagecharles", "ch10"), ("lovelaceada", "ch10"), ("turingalan", "ch14")]
    ada, charles, alan = subs["lovelaceada", "ch10"], subs["babbagecharles", "ch10"], subs["turingalan", "ch14"]
    assert (ada.lms_id, ada.lms_late, ada.source, ada.submitted_at) == ("12345", False, "canvas", None)
    assert (charles.lms_id, charles.lms_late) == ("22222", True)
    assert charles.note == "matched to ch10 by its file name"
    # each student's files sit alone in a folder of their own, under their own names
    assert Path(ada.folder) != Path(charles.folder)
    assert sorted(p.name for p in Path(alan.folder).iterdir()) == ["Copy of ch14.ipynb", "notes.txt"]
    assert Path(ada.folder).parent == tmp_path / "work" / "students"
    assert intake.unused == [
        ("hopper grace_33333_67892_ch10.ipynb", "not a Canvas submission file (<name>_<userid>_<submissionid>_<file>)")
    ]


def test_canvas_zip_is_unpacked_into_the_work_folder(tmp_path):
    archive = zip_folder(canvas_export(tmp_path / "canvas"), tmp_path / "submissions.zip")
    intake = find_submissions(archive, KNOWN, tmp_path / "work")
    assert intake.source == "canvas"
    assert len(intake.submissions) == 3
    assert (tmp_path / "work" / "unpacked" / "lovelaceada_12345_67890_ch10.ipynb").is_file()
    assert intake.unused[0][0] == "submissions.zip:hopper grace_33333_67892_ch10.ipynb"
    # a second run over the same work folder starts afresh
    assert len(find_submissions(archive, KNOWN, tmp_path / "work").submissions) == 3


def test_two_canvas_students_of_one_name_are_kept_apart(tmp_path):
    put(tmp_path, "smithjo_1_10_ch10.ipynb", nb_bytes("A"))
    put(tmp_path, "smithjo_2_11_ch10.ipynb", nb_bytes("B"))
    intake = find_submissions(tmp_path, KNOWN, tmp_path / ".work")
    assert sorted(s.student for s in intake.submissions) == ["smithjo_1", "smithjo_2"]


# ---- Moodle -----------------------------------------------------------------------------------


def test_moodle_export_in_folders(tmp_path):
    root = tmp_path / "moodle"
    put(root, "Ada Lovelace_101_assignsubmission_file_/ch10.ipynb", nb_bytes("A"))
    put(root, "Ada Lovelace_101_assignsubmission_file_/data/extra.csv", b"1,2\n")
    put(root, "Ada Lovelace_101_assignsubmission_onlinetext_/onlinetext.html", b"<p>hi</p>")
    put(root, "Zoë Ångström_102_assignsubmission_file_/ch14 final.ipynb", nb_bytes())
    put(root, "Zoë Ångström_102_assignsubmission_file_/ch99.ipynb", nb_bytes())
    intake = find_submissions(root, KNOWN, tmp_path / "work")
    assert intake.source == "moodle"
    subs = by_student(intake)
    assert sorted(subs) == [("Ada Lovelace", "ch10"), ("Zoë Ångström", "ch14")]
    ada = subs["Ada Lovelace", "ch10"]
    assert (ada.lms_id, ada.student_name, ada.source) == ("101", "Ada Lovelace", "moodle")
    assert (Path(ada.folder) / "data" / "extra.csv").read_bytes() == b"1,2\n"
    assert sorted(intake.unused) == [
        ("Ada Lovelace_101_assignsubmission_onlinetext_", "Moodle onlinetext text, not a handed-in file"),
        ("Zoë Ångström_102_assignsubmission_file_/ch99.ipynb", "matches no assignment (ch10, ch14)"),
    ]


def test_moodle_flat_export_inside_a_wrapping_folder_of_a_zip(tmp_path):
    src = tmp_path / "src"
    put(src, "CS101-Ch10-123/Ada Lovelace_101_assignsubmission_file_ch10.ipynb", nb_bytes("A"))
    put(src, "CS101-Ch10-123/Alan Turing_103_assignsubmission_file_ch10.ipynb", nb_bytes("D"))
    intake = find_submissions(zip_folder(src, tmp_path / "moodle.zip"), KNOWN, tmp_path / "work")
    assert intake.source == "moodle"
    assert sorted((s.student, s.lms_id) for s in intake.submissions) == [("Ada Lovelace", "101"), ("Alan Turing", "103")]


# ---- Gradescope -------------------------------------------------------------------------------

GRADESCOPE_METADATA = """\
submission_1001:
  :submitters:
  - :name: Ada Lovelace
    :sid: '900001'
    :email: ada@example.edu
  :created_at: 2026-03-05 23:59:30.123456789 -08:00
  :score: 0.0
  :status: processed
submission_1002:
  :submitters:
  - :name: Pair One
    :sid: '900002'
    :email: one@example.edu
  - :name: Pair Two
    :sid: ''
    :email: two@example.edu
  :created_at: 2026-03-07 10:00:00.000000000 +00:00
"""


def test_gradescope_export_reads_submitters_and_times(tmp_path):
    root = tmp_path / "assignment_55_export"
    put(root, "submission_metadata.yml", GRADESCOPE_METADATA.encode())
    put(root, "submission_1001/ch10.ipynb", nb_bytes("A"))
    put(root, "submission_1002/my_ch10.ipynb", nb_bytes("C"))
    put(root, "submission_1003/ch10.ipynb", nb_bytes())  # not in the metadata
    intake = find_submissions(tmp_path, KNOWN, tmp_path / "work")  # found through the wrapping folder
    assert intake.source == "gradescope"
    subs = by_student(intake)
    assert sorted(subs) == [("900001", "ch10"), ("900002", "ch10"), ("two@example.edu", "ch10")]
    ada = subs["900001", "ch10"]
    assert ada.submitted_at == "2026-03-05T23:59:30.123456-08:00"
    assert (ada.student_name, ada.email, ada.lms_id) == ("Ada Lovelace", "ada@example.edu", "900001")
    assert subs["two@example.edu", "ch10"].submitted_at == "2026-03-07T10:00:00+00:00"
    assert intake.unused == [
        ("assignment_55_export/submission_1003", "not a submission listed in submission_metadata.yml")
    ]


# ---- nothing to grade -------------------------------------------------------------------------


def test_a_folder_where_nothing_matches_names_the_layouts(tmp_path):
    put(tmp_path, "readme.txt", b"hello")
    put(tmp_path, "ada/homework.ipynb", nb_bytes())
    with pytest.raises(GraderError) as err:
        find_submissions(tmp_path, KNOWN)
    text = str(err.value)
    assert "no submission found" in text
    for layout in ("folders:", "canvas:", "moodle:", "gradescope:", "submission_metadata.yml"):
        assert layout in text
    assert "homework.ipynb" in text


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    path = put(tmp_path, "class.zip", b"not a zip")
    with pytest.raises(GraderError, match="neither a folder of submissions nor a zip"):
        find_submissions(path, KNOWN, tmp_path / "work")


# ---- unpacking safely -------------------------------------------------------------------------


def test_unpacking_refuses_traversal_links_and_bombs(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok_1_2_ch10.ipynb", nb_bytes())
        zf.writestr("../escape.txt", b"x")
        zf.writestr("/abs.txt", b"x")
        zf.writestr("__MACOSX/._ok", b"x")
        link = zipfile.ZipInfo("link_1_3_ch10.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("bomb.bin", b"\0" * (3 * 2**20))  # 3 MB of zeros: compresses ~1000 times
    target = tmp_path / "out"
    skipped = dict(safe_unpack(archive, target))
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == ["ok_1_2_ch10.ipynb"]
    assert not (tmp_path / "escape.txt").exists()
    assert set(skipped) == {"../escape.txt", "/abs.txt", "__MACOSX/._ok", "link_1_3_ch10.ipynb", "bomb.bin"}
    assert "link" in skipped["link_1_3_ch10.ipynb"] and "zip bomb" in skipped["bomb.bin"]


def test_unpacking_refuses_a_folder_that_is_not_empty(tmp_path):
    archive = zip_folder(canvas_export(tmp_path / "c"), tmp_path / "c.zip")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep me")
    with pytest.raises(GraderError, match="not empty"):
        safe_unpack(archive, tmp_path / "out")
    assert (tmp_path / "out" / "mine.txt").read_text() == "keep me"


# ---- `grade submissions` --------------------------------------------------------------------


def test_grade_submissions_without_a_slash_grades_that_folder(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import grader.pipeline.run_class as run_class
    import grader.pipeline.setup as setup
    from grader import cli

    seen = []

    def fake_grade_class(root, *args, **kwargs):
        seen.append(Path(root))
        raise run_class.OutputBusy("stopped by the test")

    from grader.pipeline.settings import RunSettings

    monkeypatch.setattr(setup, "run_settings", lambda *a, **k: RunSettings(specs={}))
    monkeypatch.setattr(run_class, "grade_class", fake_grade_class)
    (tmp_path / "submissions").mkdir()
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for args in (["submissions"], ["submissions", "--seed", "3"]):
        result = runner.invoke(cli.main, [*args, "--sandbox", "none"])
        assert "stopped by the test" in result.output, result.output
    assert seen == [Path("submissions"), Path("submissions")]
    result = runner.invoke(cli.main, ["submissions", "elsewhere", "--sandbox", "none"])
    assert "'elsewhere' does not exist" in result.output


# ---- an LMS zip through `grade`, then `grade export` ----------------------------------------


@pytest.mark.slow
def test_a_canvas_zip_is_graded_and_exported_for_canvas(tmp_path, cli, sandbox_available):
    from conftest import ALL_RIGHT, Q1_WRONG, student_notebook

    export = tmp_path / "export"
    put(export, "lovelaceada_12345_67890_ch99.ipynb", nbformat.writes(student_notebook(*ALL_RIGHT)).encode())
    put(export, "babbagecharles_LATE_22222_67891_ch99-1.ipynb", nbformat.writes(student_notebook(Q1_WRONG)).encode())
    put(export, "babbagecharles_LATE_22222_67891_notes.txt", b"draft")
    archive = zip_folder(export, tmp_path / "submissions.zip")
    out = tmp_path / "grade-reports"

    result = cli(archive, "--out", out, "-j", "2")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["babbagecharles", "lovelaceada", "runs"]
    assert (out / "class.html").is_file() and (out / "submissions.json").is_file()
    gradebook = (out / "gradebook.csv").read_text().splitlines()
    assert gradebook[1].startswith("babbagecharles,") and ",graded,ch99-1.ipynb," in gradebook[1]

    from click.testing import CliRunner

    from grader.cli import main

    result = CliRunner().invoke(main, ["export", "canvas", "--reports", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((out / "canvas-import.csv").read_text())))
    assert {r["ID"]: r["ch99"] != "" for r in rows} == {"12345": True, "22222": True}

    empty = zip_folder(put(tmp_path / "nothing", "readme.txt", b"hi").parent, tmp_path / "nothing.zip")
    result = cli(empty, "--out", tmp_path / "r2")
    assert result.exit_code == 1 and "canvas:" in result.output
    assert f"no submission found in {empty} for ch99" in result.output
