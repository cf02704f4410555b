"""Shared fixtures for the tests that run the real sandbox and kernel (test_sandbox, test_pipeline).

A tiny assignment `ch99` (a choice, `xor_network`, `mlp_forward`) whose solution notebook is
written here, student notebooks made on the spot from a few code cells, and three ways to grade
them: one `SubmissionGrader` (one notebook), `grade_class` (a class), and the `grade` command itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.assign.spec import load_solutions
from grader.sandbox.limits import Limits

ASSIGNMENT = "ch99"

# Student answers, as code cells
Q1_RIGHT = 'answer_q1 = "B"'
Q1_WRONG = 'answer_q1 = "C"'
XOR_RIGHT = "def xor_network(a, b):\n    return int(a + b == 1)"
XOR_WRONG = "def xor_network(a, b):\n    return int(a or b)"  # OR, not XOR
MLP_RIGHT = (
    "import numpy as np\n"
    "def mlp_forward(X, Wh, bh, Wo, bo):\n"
    "    return np.maximum(X @ Wh + bh, 0) @ Wo + bo"
)
MLP_NO_RELU = (
    "import numpy as np\n"
    "def mlp_forward(X, Wh, bh, Wo, bo):\n"
    "    return (X @ Wh + bh) @ Wo + bo"
)
# right for small batches only: which of the grader's random batches fail depends on the seed
MLP_SMALL_BATCHES = (
    "import numpy as np\n"
    "def mlp_forward(X, Wh, bh, Wo, bo):\n"
    "    out = np.maximum(X @ Wh + bh, 0) @ Wo + bo\n"
    "    return out if len(X) <= 32 else out[:-1]"
)
ALL_RIGHT = (Q1_RIGHT, XOR_RIGHT, MLP_RIGHT)
POINTS = {"answer_q1": 2, "xor_network": 4, "mlp_forward": 4}


def _solution_notebook():
    cells = [
        new_markdown_cell("# Chapter 99 (test assignment)"),
        new_code_cell(
            "### ITEM ch99.q1\n"
            '{"title": "One letter", "parts": [{"kind": "choice", "name": "answer_q1",'
            ' "options": "ABCD", "points": 2}]}'
        ),
        new_code_cell(Q1_RIGHT),
        new_code_cell(
            "### ITEM ch99.q2\n"
            '{"title": "XOR", "parts": [{"kind": "function", "name": "xor_network",'
            ' "params": ["a", "b"], "check": "xor_truth_table", "points": 4}]}'
        ),
        new_code_cell(XOR_RIGHT),
        new_code_cell(
            "### ITEM ch99.q3\n"
            '{"title": "Forward pass", "parts": [{"kind": "function", "name": "mlp_forward",'
            ' "params": ["X", "Wh", "bh", "Wo", "bo"], "check": "mlp_forward", "points": 4}]}'
        ),
        new_code_cell(MLP_RIGHT),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["homl_grader"] = {"assignment": ASSIGNMENT, "version": "1", "title": "Chapter 99"}
    return nb


def student_notebook(*cells):
    """A student's ch99 notebook of the given code cells (source strings) or cells (e.g. markdown)."""
    nb = new_notebook(cells=[c if isinstance(c, dict) else new_code_cell(c) for c in cells])
    nb.metadata["homl_grader"] = {"assignment": ASSIGNMENT, "version": "1"}
    return nb


def write_student(submissions: Path, student: str, *cells: str) -> Path:
    path = submissions / student / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student_notebook(*cells), str(path))
    return path


def write_class(submissions: Path, students: dict[str, tuple[str, ...]]) -> Path:
    for student, cells in students.items():
        write_student(submissions, student, *cells)
    return submissions


def part_of(report, label: str):
    """The PartResult (or its JSON dict) labelled `label` in a Report (or report JSON)."""
    items = report["items"] if isinstance(report, dict) else report.items
    for item in items:
        for part in item["parts"] if isinstance(item, dict) else item.parts:
            if (part["label"] if isinstance(part, dict) else part.label) == label:
                return part
    raise KeyError(label)


def cell_output(executed, index: int) -> str:
    """The text a cell of an executed notebook printed (streams and errors)."""
    texts = []
    for out in executed.cells[index].get("outputs", []):
        if out.get("output_type") == "stream":
            texts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            texts.append(f"{out.get('ename')}: {out.get('evalue')}")
    return "".join(texts)


def read_reports(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(out.glob(f"*/{ASSIGNMENT}.json"))}


def processes_with(marker: str) -> list[int]:
    """Pids of this machine's processes whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


@pytest.fixture(scope="session")
def ch99_solutions(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("solutions")
    nbformat.write(_solution_notebook(), str(folder / f"{ASSIGNMENT}.ipynb"))
    return folder


@pytest.fixture(scope="session")
def ch99_specs(ch99_solutions):
    return load_solutions(ch99_solutions)


@pytest.fixture(scope="session")
def sandbox_available():
    from grader.sandbox import bwrap

    why = bwrap.available()
    if why:
        pytest.skip(f"needs a working bubblewrap: {why}")


TEST_LIMITS = dict(cell_timeout=20, notebook_timeout=90, memory_mb=1024, max_processes=128, threads=1)


@pytest.fixture
def make_settings(ch99_specs):
    """RunSettings for ch99 with small limits (overridable), without MNIST."""
    from grader.pipeline.settings import RunSettings

    def make(sandboxed: bool = True, seed: int = 0, **limits):
        return RunSettings(specs=ch99_specs, limits=Limits(**{**TEST_LIMITS, **limits}), sandboxed=sandboxed, seed=seed)

    return make


@pytest.fixture
def grade_notebook(tmp_path, make_settings, sandbox_available):
    """Grade one student's notebook of the given cells with a real SubmissionGrader: (report, executed notebook)."""
    from grader.notebook.match import find_submissions
    from grader.pipeline.single import SubmissionGrader

    def grade(*cells: str, student: str = "alice", settings=None, **limits):
        settings = settings or make_settings(**limits)
        submissions = tmp_path / f"submissions-{student}"
        write_student(submissions, student, *cells)
        (submission,), _ = find_submissions(submissions, set(settings.specs))
        grader_ = SubmissionGrader(settings)
        try:
            return grader_.grade(submission)
        finally:
            grader_.close()

    return grade


@pytest.fixture(scope="session")
def grader_data_dir(tmp_path_factory) -> Path:
    """GRADER_DATA for the CLI tests: the derived MNIST files are made once, here, not in ~."""
    return tmp_path_factory.mktemp("grader-data")


@pytest.fixture
def cli(monkeypatch, grader_data_dir, ch99_solutions):
    """Run `grade ...` in this process; --solutions is the ch99 folder unless given."""
    from grader.cli import main

    monkeypatch.setenv("GRADER_DATA", str(grader_data_dir))

    def run(*args: str):
        args = [str(a) for a in args]
        if "--solutions" not in args:
            args += ["--solutions", str(ch99_solutions)]
        return CliRunner().invoke(main, args, catch_exceptions=False)

    return run
