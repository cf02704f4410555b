"""The grader's own failures reach the user as one clear message, never a traceback; grader.log
keeps the traceback."""

from __future__ import annotations

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_notebook

from grader.cli import main
from grader.errors import GraderError
from grader.logfile import NAME, open_log

ITEM = '### ITEM ch99.q1\n{"title": "x", "parts": [{"kind": "choice", "name": "answer_q1", "options": "AB", "points": 1}]}'


def solution(folder, *cells, assignment="ch99"):
    folder.mkdir(exist_ok=True)
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["homl_grader"] = {"assignment": assignment, "version": "1"}
    nbformat.write(nb, str(folder / f"{assignment}.ipynb"))
    return folder


def grade(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, GraderError)
    return result.output


def test_an_unclosed_solution_marker_is_one_message(tmp_path):
    sol = solution(tmp_path / "solutions", ITEM, "### BEGIN SOLUTION\nanswer_q1 = 'A'")
    output = grade("assign", "--solutions", sol, "--out", tmp_path / "out")
    assert "ch99.ipynb: ### BEGIN SOLUTION without ### END SOLUTION" in output


def test_an_unknown_assignment_is_one_message_naming_the_known_ones(tmp_path):
    sol = solution(tmp_path / "solutions", ITEM, "answer_q1 = 'A'")
    output = grade("gradescope-bundle", "--solutions", sol, "--assignment", "ch77", "--out", tmp_path / "a.zip")
    assert "no solution notebook ch77.ipynb" in output and "assignments there: ch99" in output


def test_a_solutions_folder_without_items_is_refused(tmp_path):
    sol = solution(tmp_path / "solutions", "x = 1", assignment="ch98")
    output = grade("assign", "--solutions", sol, "--out", tmp_path / "out")
    assert "no ### ITEM cells" in output and not (tmp_path / "out").exists()


def test_a_sandbox_that_cannot_start_is_one_message_with_what_bubblewrap_said(tmp_path, monkeypatch):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("HOML_GRADER_BWRAP", str(fake))
    nb = tmp_path / "ch99.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), str(nb))
    output = grade("check", nb, "--sandbox", "bubblewrap")
    assert "No permissions to create new namespace" in output


def test_grader_log_keeps_the_traceback_of_a_grader_error(tmp_path):
    log = open_log(tmp_path, verbose=False)
    sol = solution(tmp_path / "solutions", ITEM, "### BEGIN SOLUTION\nanswer_q1 = 'A'")
    grade("assign", "--solutions", sol, "--out", tmp_path / "out")
    for handler in log.handlers:
        handler.flush()
    text = (tmp_path / NAME).read_text()
    assert "without ### END SOLUTION" in text and "Traceback" in text
    verbose = CliRunner().invoke(main, ["-v", "assign", "--solutions", str(sol), "--out", str(tmp_path / "out")])
    assert verbose.exit_code == 1 and "Traceback" in verbose.output  # -v shows it too
