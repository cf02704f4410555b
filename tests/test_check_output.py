"""What `grade check` prints: wrapped between words at any width and in CI logs (no TTY), a
progress count of the notebook's own cells, causes before the item's problems, and the public
example and threshold lines the check gives."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from rich.console import Console

from grader.check.run import CheckResult, Row
from grader.feedback.check_text import accuracy_line
from grader.feedback.examples import EXAMPLES, example_problem
from grader.ui import CheckProgress, print_check

LONG = (
    "mlp_forward: returned shape (3, 2) for a batch of 3; expected (3, 3): the output layer needs one "
    "column per class, ReLU(X @ Wh + bh) @ Wo + bo; see keras.callbacks.ModelCheckpoint(filepath='checkpoints/model.keras')"
)


def _result() -> CheckResult:
    result = CheckResult("ch10", rows=[
        Row("ch10.q1", "answer_q1", True, "answered"),
        Row("ch10.q5", "mlp_forward", False, LONG + "\n" + example_problem("xor_truth_table", 1)),
        Row("ch10.q9", "mnist_model.keras", True, "mnist_model.keras loads; " + accuracy_line(0.9706, 0.98)),
    ], problems=["In [16] (under Question 9) was stopped by the grader after 180 s: it ran past the time limit of one cell."])
    result.causes = {"ch10.q5": "In [7] (under Question 5) raised NameError: name 'np' is not defined (line 1: `np.zeros(3)`).",
                     "ch10.q1": "never shown: the item is ok"}
    return result


def _printed(width: int | None = None, **env) -> str:
    buffer = io.StringIO()  # not a terminal, like a CI log
    print_check(Path("ch10.ipynb"), _result(), Console(file=buffer, width=width, highlight=False, _environ=env))
    return buffer.getvalue()


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_check_output_wraps_between_words_at_any_width(width):
    printed = _printed(width)
    words = set(re.findall(r"\S+", printed))
    for word in re.findall(r"\S+", LONG):  # every word of the message whole, none cut
        assert word in words, word
    for line in printed.splitlines():
        assert len(line) <= width or " " not in line.strip(), line  # only an unbreakable word overflows


def test_check_output_in_a_ci_log_takes_its_width_from_columns():
    printed = _printed(None, COLUMNS="80")
    assert max(map(len, printed.splitlines())) <= 80
    assert "expected (3, 3): the output layer needs one" in printed.replace("\n         ", " ")


def test_check_output_gives_the_cause_first_the_example_and_the_threshold():
    lines = _printed(100).splitlines()
    assert lines[2].startswith("cause    ch10.q5: In [7] (under Question 5) raised NameError")
    problem = next(i for i, line in enumerate(lines) if line.startswith("problem"))
    assert problem > 2 and lines[problem].startswith("problem  ch10.q5 mlp_forward: returned shape (3, 2)")  # named once
    assert "never shown" not in "\n".join(lines)
    text = "\n".join(lines)
    assert "for example, xor_network(1, 1)\n         should return 0\n         yours returned 1" in text
    assert "validation accuracy 97.06% on the\n         10,000 held-out training digits; full marks need 98% on the hidden" in text


def test_progress_counts_the_notebooks_cells_not_the_graders():
    progress = CheckProgress(interactive=True)
    with progress:
        progress.start(17)
        for index in range(19):  # 17 notebook cells, then the grader's re-run and probe
            progress.advance(index)
        task = progress.progress.tasks[0]
    assert (task.completed, task.total) == (17, 17)
    assert task.description == "grader's checks"


def test_public_examples_are_right_for_the_reference_and_wrong_for_common_mistakes():
    X, Wh, bh, Wo, bo = EXAMPLES["mlp_forward"].args
    assert example_problem("mlp_forward", np.maximum(X @ Wh + bh, 0) @ Wo + bo) is None
    no_relu = example_problem("mlp_forward", (X @ Wh + bh) @ Wo + bo)
    assert no_relu.startswith("for example, mlp_forward(X, Wh, bh, Wo, bo) with\nX = np.array(")
    assert "should return [[ 0.  ,  1.  , -1.  ]," in no_relu
    assert example_problem("xor_truth_table", 0) is None
    one_hot = EXAMPLES["reber_one_hot"]
    assert example_problem("reber_one_hot", one_hot.expected.tolist()) is None
    assert "yours returned" in example_problem("reber_one_hot", one_hot.expected[:5])
    assert example_problem("reber_generate", "BTXSE") is None  # random output: no fixed example


def test_accuracy_line_states_the_threshold():
    assert accuracy_line(0.985, 0.98).endswith("full marks need 98% on the hidden test set")
    assert "below it here" in accuracy_line(0.9706, 0.98)
    assert accuracy_line(0.9, None) == "validation accuracy 90.00% on the 10,000 held-out training digits"


@pytest.mark.slow
def test_grade_check_in_a_ci_log_at_80_columns_wraps_whole_words(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["homl_grader"] = {"assignment": "ch10", "version": "1"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (
        "import numpy as np",
        "def mlp_forward(X, Wh, bh, Wo, bo):\n    return (X @ Wh + bh) @ Wo + bo",
        'answer_q1 = "Z"',
    )]
    path = tmp_path / "ch10.ipynb"
    nbformat.write(nb, str(path))
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", "from grader.cli import main; main()", "check", str(path), "--cell-timeout", "60"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), "COLUMNS": "80", "HOME": str(tmp_path)},
    )
    assert done.returncode == 1, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "grade check ch10.ipynb (ch10)"
    assert all(len(line) <= 80 or " " not in line.strip() for line in lines), done.stdout
    assert any(line.startswith("problem  ch10.q1 answer_q1:") for line in lines)
    assert "running the notebook (3 code cells)" in done.stderr  # no progress bar without a terminal
