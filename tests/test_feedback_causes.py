"""Causes, not symptoms: the cell that raised, named as the student sees it, and the line of the
student's own code; tested on notebooks executed by a real kernel."""

from __future__ import annotations

import nbclient
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.feedback import causes
from grader.records import ItemResult, PartResult, Report

INTRO = new_markdown_cell("# Chapter 99\n\nSome text mentioning Question 1 in passing.")
SETUP = new_code_cell("import numpy as np")
Q1 = new_markdown_cell("## Question 1 — Reshaping\n\nWrite `f`.")
F = new_code_cell("def f(x):\n    y = x + 1\n    return np.reshape(y, (7,))")
CALL = new_code_cell("a = 1\nf(np.zeros(3))")
Q2 = new_markdown_cell("## Question 2 — Fine\n\nNothing to do.")
FINE = new_code_cell("b = 2")
Q3 = new_markdown_cell("### Question 3: TensorFlow 1")
TF1 = new_code_cell("import types\ntf = types.SimpleNamespace()\n\nx = tf.placeholder('float32')")
PROBE = new_code_cell(
    "import grader.inside.probe as _p\n"
    "try:\n    f(np.zeros(2))\nexcept Exception as e:\n    print('WHERE' + _p._student_line(e.__traceback__))"
)


@pytest.fixture(scope="module")
def executed():
    nb = new_notebook(cells=[INTRO, SETUP, Q1, F, CALL, Q2, FINE, Q3, TF1, PROBE])
    nbclient.NotebookClient(nb, allow_errors=True, kernel_name="python3", timeout=60).execute()
    return nb


pytestmark = pytest.mark.slow


def test_the_cell_that_raised_is_named_by_its_execution_count_and_question(executed):
    failures = causes.cell_failures(executed.cells)
    assert [f.index for f in failures] == [4, 8]
    first = failures[0]
    assert first.place == "In [3] (under Question 1)"  # markdown cells are not counted
    assert first.ename == "ValueError"


def test_the_line_is_the_students_not_numpys(executed):
    first = causes.cell_failures(executed.cells)[0]
    # the deepest frame in the student's cells: inside f, defined in In [2]
    assert first.frame == causes.Frame(2, 3, "return np.reshape(y, (7,))")
    sentence = first.sentence()
    assert sentence.startswith("In [3] (under Question 1) raised ValueError: cannot reshape")
    assert "In [2], line 3: `return np.reshape(y, (7,))`" in sentence
    assert "fromnumeric" not in sentence


def test_a_frame_in_the_failing_cell_itself_says_only_the_line(executed):
    tf1 = causes.cell_failures(executed.cells)[1]
    assert tf1.ename == "AttributeError"
    assert tf1.sentence().endswith("(line 4: `x = tf.placeholder('float32')`).")


def test_each_item_gets_the_first_failure_under_its_question(executed):
    failures = causes.cell_failures(executed.cells)
    found = causes.item_causes(executed.cells, ["ch99.q1", "ch99.q2", "ch99.q3", "ch99.q4"], failures)
    assert {k: v.index for k, v in found.items()} == {"ch99.q1": 4, "ch99.q3": 8}


def test_explain_adds_hints_and_names_each_raising_cell_once_for_problems(executed):
    from grader.feedback.explain import explain, problem_sentences

    found = explain(executed.cells, ["ch99.q1", "ch99.q3"])
    assert "this is TensorFlow 1 code (tf.placeholder)" in found["ch99.q3"].hints[0]
    assert found["ch99.q1"].hints == ()
    sentences = problem_sentences({**found, "ch99.q9": found["ch99.q1"]})
    assert [s.split(" raised")[0] for s in sentences] == ["In [3] (under Question 1)", "In [5] (under Question 3)"]


def test_sections_run_from_the_question_heading_to_the_next(executed):
    sections = causes.item_sections(executed.cells, ["ch99.q1", "ch99.q2", "ch99.q3"])
    assert sections == {"ch99.q1": [2, 3, 4], "ch99.q2": [5, 6], "ch99.q3": [7, 8, 9]}


def test_the_probe_reports_the_students_frame_not_librarys(executed):
    printed = "".join(o.get("text", "") for o in executed.cells[9].outputs)
    assert "WHERE (In [2], line 3: `return np.reshape(y, (7,))`)" in printed


def test_a_stopped_cell_and_a_cell_that_never_ran_are_named_where_they_are():
    nb = new_notebook(cells=[Q1, new_code_cell("x = 1", execution_count=1), new_code_cell("y"), new_code_cell("z")])
    nb.cells[1]["metadata"][causes.GRADER_METADATA] = {"stopped_after_s": 180.0}
    failures = causes.cell_failures(nb.cells, not_run=[3])
    assert [f.sentence() for f in failures] == [
        "In [1] (under Question 1) was stopped by the grader after 180 s: it ran past the time limit of one cell.",
        "the 3rd code cell under Question 1 did not run: the notebook stopped before it.",
    ]


def test_annotate_puts_the_cause_first_in_failed_parts_only(executed):
    failures = causes.cell_failures(executed.cells)
    found = causes.item_causes(executed.cells, ["ch99.q1"], failures)
    report = Report(
        "s", "ch99", 0, 3,
        [ItemResult("ch99.q1", "Reshaping", [
            PartResult("answer_q1", 1, 1, "passed", "right"),
            PartResult("f", 0, 2, "failed", "f raised ValueError on the grader's inputs."),
            PartResult("answer_q1_shapes", 0, 1, "failed", "(2,) expected."),
        ])],
        "", "0", "", 0,
    )
    annotated = causes.annotate(report, found, static_labels={"answer_q1_shapes"})
    passed, failed, static = annotated.items[0].parts
    assert static.feedback == "(2,) expected."  # read without running: the cell did not cost it
    assert passed.feedback == "right"
    assert failed.feedback.startswith("In [3] (under Question 1) raised ValueError")
    assert failed.feedback.endswith("As a result: f raised ValueError on the grader's inputs.")
    assert causes.strip_cause(failed.feedback, found["ch99.q1"]) == "f raised ValueError on the grader's inputs."
    assert report.items[0].parts[1].feedback.startswith("f raised")  # the input is left as it was
