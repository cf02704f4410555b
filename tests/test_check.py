"""`grade check`: a student's self-check without the key, and a student's package without keys."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from grader.assign.generate import BEGIN, END
from grader.assign.spec import load_public_specs, load_solution
from grader.check.run import check_notebook
from grader.checks import PartFacts, check_for
from grader.notebook.answers import find_assignment
from grader.cli import main
from grader.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
LIMITS = Limits(cell_timeout=120, threads=2)


def test_check_on_the_stub_lists_every_missing_item(tmp_path):
    stub = tmp_path / "ch10.ipynb"
    stub.write_text((ROOT / "assignments" / "ch10.ipynb").read_text())
    result = check_notebook(stub, sandboxed=True, limits=LIMITS)
    spec = load_public_specs()["ch10"]
    expected = {(i.id, p.label) for i in spec.items for p in i.parts}
    assert {(r.item, r.part) for r in result.rows} == expected
    assert not any(r.ok for r in result.rows)
    messages = {r.part: r.message for r in result.rows}
    assert "is still None" in messages["answer_q1"]
    assert "NotImplementedError" in messages["xor_network"]
    assert "was not saved" in messages["mnist_model.keras"]
    env = {"GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "GITHUB_OUTPUT": str(tmp_path / "output")}
    cli = CliRunner().invoke(
        main,
        ["check", str(stub), "--cell-timeout", "60", "--format", "junit", "--format", "gradescope",
         "--format", "github", "--junit-path", str(tmp_path / "check.xml"), "--results-path", str(tmp_path / "results.json")],
        env=env,
    )
    assert cli.exit_code == 1
    # one JUnit testcase and one Gradescope test per item, all failing, none scoring
    suite = ET.parse(tmp_path / "check.xml").getroot().find("testsuite")
    assert int(suite.get("tests")) == len(spec.items) and int(suite.get("failures")) == len(spec.items)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == 0 and len(results["tests"]) == len(spec.items)
    assert "::error file=" in cli.output and "ch10.q1" in (tmp_path / "summary.md").read_text()
    encoded = (tmp_path / "output").read_text().split("result=", 1)[1].strip()
    classroom = json.loads(base64.b64decode(encoded))
    assert classroom["status"] == "fail" and len(classroom["tests"]) == len(spec.items)


def test_what_the_machine_could_not_enforce_is_a_note_never_a_problem_to_fix(tmp_path, monkeypatch):
    # a student's laptop or a GitHub runner: no writable cgroups
    from grader.check.run import CheckResult, Row
    from grader.judge.run import LIMITS_PER_PROCESS
    from grader.sandbox import evaluator, execute

    monkeypatch.setattr(execute, "cgroups_supported", lambda: False)
    monkeypatch.setattr(evaluator, "cgroups_supported", lambda: False)
    stub = tmp_path / "ch10.ipynb"
    stub.write_text((ROOT / "assignments" / "ch10.ipynb").read_text())
    spec = load_public_specs()["ch10"]
    env = {"COLUMNS": "1000", "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    cli = CliRunner().invoke(main, ["check", str(stub), "--cell-timeout", "60", "--format", "junit", "--format", "github",
                                    "--junit-path", str(tmp_path / "check.xml")], env=env)
    rows = sum(len(i.parts) for i in spec.items)
    assert f"note     {LIMITS_PER_PROCESS}" in cli.output and f"\n{rows} problem(s) to fix" in cli.output, cli.output
    # no case of its own in JUnit or GitHub Classroom's results
    suite = ET.parse(tmp_path / "check.xml").getroot().find("testsuite")
    assert int(suite.get("tests")) == len(spec.items) and int(suite.get("errors", 0)) == 0
    classroom = json.loads(base64.b64decode((tmp_path / "output").read_text().split("result=", 1)[1].strip()))
    assert len(classroom["tests"]) == len(spec.items) and "cgroups" not in json.dumps(classroom)
    assert CheckResult("ch10", rows=[Row("ch10.q1", "answer_q1", True, "answered")], notes=[LIMITS_PER_PROCESS]).ok


def _nb(*sources, assignment="ch10"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["homl_grader"] = {"assignment": assignment, "version": "1"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def test_check_never_says_whether_a_choice_is_right():
    spec = load_public_specs()["ch10"]
    part = spec.item("ch10.q2").parts[0]
    rows = [
        check_for(part).well_formed(part, PartFacts(plan={}, static=find_assignment(_nb(f'answer_q2 = "{letter}"'), "answer_q2")), {})
        for letter in "ABCD"
    ]
    assert len(set(rows)) == 1
    assert all(ok for ok, _ in rows)


def test_check_names_the_shapes_of_a_wrong_shaped_model(tmp_path):
    nb = _nb(
        "import keras\n"
        "model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation='softmax')])\n"
        "model.save('mnist_model.keras')"
    )
    path = tmp_path / "ch10.ipynb"
    nbformat.write(nb, path)
    rows = {r.part: r for r in check_notebook(path, sandboxed=True, limits=LIMITS).rows}
    row = rows["mnist_model.keras"]
    assert not row.ok
    assert "[None, 784]" in row.message and "[None, 28, 28]" in row.message


def test_check_on_the_reference_solution_finds_nothing_missing(tmp_path):
    path = tmp_path / "ch10.ipynb"
    path.write_text((ROOT / "solutions" / "ch10.ipynb").read_text())
    result = check_notebook(path, sandboxed=True, limits=LIMITS)
    assert result.ok, [(r.part, r.message) for r in result.rows if not r.ok] + result.problems
    accuracy = {r.part: r.message for r in result.rows}["mnist_model.keras"]
    assert "validation accuracy" in accuracy and "held-out training digits" in accuracy


def _key_strings() -> list[str]:
    """Every key as the solution writes it, and every line of solution code."""
    found = []
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        nb, spec = load_solution(path)
        stub_text = (ROOT / "assignments" / path.name).read_text()
        for item in spec.items:
            for part in item.parts:
                if part.kind == "choice":
                    found += [f'{part.name} = "{part.key}"', f"{part.name} = '{part.key}'"]
                elif part.kind == "shapes":
                    found += [f'"{k}": {tuple(v)}' for k, v in part.key.items()]
        for cell in nb.cells:
            inside = False
            for line in cell.source.split("\n"):
                if BEGIN.match(line):
                    inside = True
                elif END.match(line):
                    inside = False
                elif inside and len(line.strip()) > 30 and line.strip() not in stub_text:
                    found.append(line.strip())
    return found


# The grader's own Reber implementation is in the package by design (the judge generates and
# recognises strings with it); its code may coincide with the exercise's, not with any key.
REFERENCE_MODULES = {"grader/data/reber.py"}


def test_the_students_package_holds_no_answer_key(tmp_path):
    source = tmp_path / "src"  # a clean copy: no stale build/ folder in the wheel
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info", "grade-reports", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)],
        check=True,
    )
    wheel = next(tmp_path.glob("homl_grader-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        texts = {
            n: archive.read(n).decode("utf-8", "replace")
            for n in names
            if not n.endswith((".npz", ".npy")) and n not in REFERENCE_MODULES
        }
    assert not [n for n in names if n.endswith(".ipynb") or "solutions/" in n]
    assert any(n.endswith("grader/specs/ch10.json") for n in names)
    keys = _key_strings()
    assert len(keys) > 50
    leaks = [(k, n) for k in keys for n, text in texts.items() if k in text]
    assert not leaks


def test_check_of_chens_ch14_gives_the_cause_of_a_keras_error_and_judges_the_public_example(tmp_path):
    # chen's notebook (the example class) stacks two SimpleRNNs without return_sequences=True
    path = tmp_path / "ch14.ipynb"
    shutil.copy(ROOT / "examples" / "submissions" / "chen" / "ch14.ipynb", path)
    rows = {r.part: r for r in check_notebook(path, sandboxed=True, limits=LIMITS).rows}
    stacked = rows["build_stacked_rnn"]
    assert not stacked.ok and "expected ndim=3" in stacked.message
    assert "Hint:" in stacked.message and "return_sequences=True" in stacked.message
    assert rows["string_to_one_hot_vectors"].ok  # its public example call has no `chars`: read as given



def test_a_fault_of_the_grader_in_one_part_is_said_and_the_others_are_still_checked(tmp_path, monkeypatch):
    import grader.check.run as check_run

    real = check_run.check_for

    class Broken:
        def well_formed(self, part, facts, settings):
            raise KeyError("oops")

    monkeypatch.setattr(check_run, "check_for", lambda part: Broken() if part.name == "xor_network" else real(part))
    stub = tmp_path / "ch10.ipynb"
    stub.write_text((ROOT / "assignments" / "ch10.ipynb").read_text())
    rows = {r.part: r for r in check_notebook(stub, sandboxed=True, limits=LIMITS).rows}
    assert not rows["xor_network"].ok and "fault of the grader, not of your notebook" in rows["xor_network"].message
    assert "KeyError" in rows["xor_network"].message
    assert "is still None" in rows["answer_q1"].message  # the rest checked as ever
