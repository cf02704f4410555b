"""Run once, judge any number of times: run records, settings resolved once, regrading without
a sandbox, the SQLite gradebook and instructor overrides (ch99 from conftest.py; ch10/ch14 specs
for the model settings)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import nbformat
import numpy as np
import pytest

from conftest import ALL_RIGHT, MLP_NO_RELU, POINTS, Q1_RIGHT, Q1_WRONG, XOR_RIGHT, read_reports, write_class
from grader.assign.spec import load_solutions
from grader.checks import JudgeContext
from grader.data import mnist, reber
from grader.gradebook import GRADEBOOK_NAME, Gradebook
from grader.judge.run import judge_run
from grader.run.plan import make_plan, part_key
from grader.run.record import FORMAT, RunRecord
from grader.sandbox.limits import Limits
from grader.settings import COMMAND_LINE, DEFAULT, SOLUTION, resolve

ROOT = Path(__file__).resolve().parents[1]


def _with_key(solutions: Path, target: Path, old: str, new: str) -> Path:
    """A copy of the ch99 solutions with the key of answer_q1 changed."""
    target.mkdir()
    nb = nbformat.read(solutions / "ch99.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.source == f'answer_q1 = "{old}"':
            cell.source = f'answer_q1 = "{new}"'
    nbformat.write(nb, str(target / "ch99.ipynb"))
    return target


@pytest.fixture
def no_sandbox(monkeypatch):
    """Fail the test if anything starts a kernel or an evaluator."""
    def refuse(*args, **kwargs):
        raise AssertionError("a sandbox was started")

    monkeypatch.setattr("grader.run.stage.run_notebook", refuse)
    monkeypatch.setattr("grader.sandbox.evaluator.Evaluator.start", refuse)


@pytest.fixture
def graded_class(tmp_path, cli, sandbox_available):
    submissions, out = tmp_path / "submissions", tmp_path / "reports"
    write_class(submissions, {"alice": ALL_RIGHT, "bob": (Q1_WRONG, XOR_RIGHT, MLP_NO_RELU), "carol": (Q1_RIGHT,)})
    first = cli(submissions, "--out", out, "-j", "2", "--seed", "4")
    assert first.exit_code == 0, first.output
    return submissions, out


def test_a_key_change_rejudges_the_class_without_a_sandbox_and_says_who_moved(graded_class, cli, ch99_solutions, tmp_path, no_sandbox):
    submissions, out = graded_class
    before = read_reports(out)
    changed = _with_key(ch99_solutions, tmp_path / "solutions-C", "B", "C")
    again = cli(submissions, "--out", out, "--solutions", changed)
    assert again.exit_code == 0, again.output
    assert "0 run, 3 judged again from stored runs, 0 unchanged" in again.output
    after = read_reports(out)
    assert after["bob"]["score"] == before["bob"]["score"] + POINTS["answer_q1"]
    assert after["alice"]["score"] == before["alice"]["score"] - POINTS["answer_q1"]
    assert after["bob"]["key_version"] != before["bob"]["key_version"]  # the report names the key it used
    assert after["bob"]["run"] == before["bob"]["run"] and after["bob"]["seed"] == 4  # same run, same seed
    logs = list(out.glob("regrade-*.md"))
    assert len(logs) == 1
    lines = [l for l in logs[0].read_text().splitlines() if l.startswith("- ")]
    assert sorted(lines) == sorted([
        f"- alice ch99: {before['alice']['score']:g} -> {after['alice']['score']:g} (ch99.q1 key B -> C)",
        f"- bob ch99: {before['bob']['score']:g} -> {after['bob']['score']:g} (ch99.q1 key B -> C)",
        f"- carol ch99: {before['carol']['score']:g} -> {after['carol']['score']:g} (ch99.q1 key B -> C)",
    ])
    # the key used is kept per verdict: going back to B re-judges again, no verdict kept from the other key
    back = cli(submissions, "--out", out, "--solutions", ch99_solutions)
    assert back.exit_code == 0 and read_reports(out)["bob"]["score"] == before["bob"]["score"]


def test_an_unchanged_class_is_neither_run_nor_rewritten(graded_class, cli, no_sandbox):
    submissions, out = graded_class
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/ch99.*")}
    again = cli(submissions, "--out", out)
    assert again.exit_code == 0, again.output
    assert "0 run, 0 judged again from stored runs, 3 unchanged" in again.output
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/ch99.*")} == stamps
    assert not list(out.glob("regrade-*.md"))


def test_a_new_seed_reruns_and_a_changed_notebook_reruns_only_itself(graded_class, cli, sandbox_available):
    submissions, out = graded_class
    write_class(submissions, {"carol": (Q1_RIGHT, XOR_RIGHT)})
    again = cli(submissions, "--out", out)  # the folder's seed (4) is kept
    assert again.exit_code == 0, again.output
    assert "1 run, 0 judged again from stored runs, 2 unchanged" in again.output
    assert read_reports(out)["carol"]["score"] == POINTS["answer_q1"] + POINTS["xor_network"]
    new_seed = cli(submissions, "--out", out, "--seed", "5")  # new probe inputs for mlp_forward: a new run plan
    assert "3 run," in new_seed.output and read_reports(out)["alice"]["seed"] == 5


def test_an_override_shows_in_the_report_and_survives_a_regrade(graded_class, cli, ch99_solutions, tmp_path, no_sandbox):
    submissions, out = graded_class
    set_ = cli("override", "bob", "ch99.q3", "3", "--comment", "ReLU forgotten, rest right", "--reports", out)
    assert set_.exit_code == 0, set_.output
    assert "bob ch99.q3: override set to 3/4" in set_.output
    item = next(i for i in read_reports(out)["bob"]["items"] if i["id"] == "ch99.q3")
    assert item["score"] == 3 and item["override"] == {"score": 3, "comment": "ReLU forgotten, rest right", "auto_score": 0}
    assert "ReLU forgotten" in (out / "bob" / "ch99.html").read_text()
    changed = _with_key(ch99_solutions, tmp_path / "solutions-C", "B", "C")
    again = cli(submissions, "--out", out, "--solutions", changed)
    assert again.exit_code == 0, again.output
    bob = read_reports(out)["bob"]
    assert next(i for i in bob["items"] if i["id"] == "ch99.q3")["score"] == 3
    assert bob["score"] == POINTS["answer_q1"] + POINTS["xor_network"] + 3
    removed = cli("override", "bob", "ch99.q3", "--remove", "--reports", out)
    assert removed.exit_code == 0, removed.output
    assert next(i for i in read_reports(out)["bob"]["items"] if i["id"] == "ch99.q3")["score"] == 0
    bad = cli("override", "bob", "ch99.q3", "9", "--reports", out)
    assert bad.exit_code != 0 and "worth 4 points" in bad.output


def test_the_gradebook_is_sqlite_in_wal_mode_with_a_schema_version(graded_class):
    _, out = graded_class
    db = sqlite3.connect(out / GRADEBOOK_NAME)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 3
    assert db.execute("SELECT COUNT(DISTINCT student) FROM verdicts").fetchone()[0] == 3
    paths = [Path(p) for (p,) in db.execute("SELECT path FROM runs")]
    assert all((p / "record.json").is_file() and (p / "arrays.npz").is_file() for p in paths)
    # plain data only: JSON that parses, an npz that loads without pickles
    for path in paths:
        record = RunRecord.read(path, with_notebook=True)
        assert record.data["format"] == FORMAT and record.executed is not None


def test_a_newer_gradebook_schema_is_refused(tmp_path):
    db = sqlite3.connect(tmp_path / GRADEBOOK_NAME)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(RuntimeError, match="newer grader"):
        Gradebook(tmp_path / GRADEBOOK_NAME)


# --- settings resolved once ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def specs():
    return load_solutions(ROOT / "solutions")


def _model_part(specs, check):
    for spec in specs.values():
        for item in spec.items:
            for part in item.parts:
                if part.check == check:
                    return spec, item, part
    raise KeyError(check)


def test_settings_resolve_default_then_solution_then_command_line(specs):
    _, _, reber_part = _model_part(specs, "reber_classifier")
    assert resolve(reber_part, {})["alpha"].source == SOLUTION
    assert resolve(reber_part, {"reber_classifier": {"alpha": 0.01}})["alpha"].value == 0.01
    assert resolve(reber_part, {"reber_classifier": {"alpha": 0.01}})["alpha"].source == COMMAND_LINE
    bare = type(reber_part)(kind="model", points=1, file="m.keras", check="reber_classifier")
    assert resolve(bare, {})["alpha"].source == DEFAULT


def _record(spec, plan, model_facts: dict, arrays: dict) -> RunRecord:
    return RunRecord({
        "format": FORMAT, "plan_digest": plan.digest(), "plan": plan.to_json(),
        "submission": {"student": "s", "assignment": spec.id, "sha256": "0" * 64, "file": "x.ipynb"},
        "static": {}, "notes": [], "execution": None, "probe": {"missing_kind": "x", "missing_reason": "not run"},
        "models": model_facts, "training": None, "duration_s": 0.0,
    }, arrays)


def _judge(spec, record, overrides):
    report = judge_run(record, spec, student="s", seed=1, data_note={}, overrides=overrides,
                       ctx=JudgeContext(mnist_labels=mnist.test_labels()))
    return report


def test_threshold_on_the_command_line_wins_over_the_solution(specs):
    spec, item, part = _model_part(specs, "mnist_dense")
    plan = make_plan(spec, None, mode="grade", seed=1, student="s", limits=Limits(), isolation="none", data="")
    index = list(plan.parts).index(part_key(item, part))
    labels = mnist.test_labels()
    predictions = np.eye(10, dtype="float32")[labels]
    predictions[:250] = np.eye(10, dtype="float32")[(labels[:250] + 1) % 10]  # 97.5% right
    description = {"inputs": [[None, 28, 28]], "output": [None, 10], "layers": [{"class": "Dense", "params": 1}]}
    facts = {str(index): {"file": part.file, "state": "present", "description": description,
                          "predictions": {"mnist_test": f"pred{index}_mnist_test"}}}
    record = _record(spec, plan, facts, {f"pred{index}_mnist_test": predictions})
    report = _judge(spec, record, {})
    verdict = next(p for i in report.items for p in i.parts if p.label == part.file)
    assert verdict.score < verdict.max_score and "below the 98%" in verdict.feedback
    report = _judge(spec, record, {"mnist_dense": {"threshold": 0.97}})
    verdict = next(p for i in report.items for p in i.parts if p.label == part.file)
    assert verdict.score == verdict.max_score and verdict.details["threshold"] == 0.97
    used = {s["name"]: s for s in report.settings}
    assert used[f"{part_key(item, part)} threshold"] == {"name": f"{part_key(item, part)} threshold", "value": 0.97, "source": COMMAND_LINE}


def test_alpha_on_the_command_line_wins_over_the_solution(specs):
    spec, item, part = _model_part(specs, "reber_classifier")
    plan = make_plan(spec, None, mode="grade", seed=1, student="s", limits=Limits(), isolation="none", data="")
    index = list(plan.parts).index(part_key(item, part))
    strings = plan.parts[part_key(item, part)].model["reber"]
    _, labels = reber.evaluation_set(strings["seed"], n_each=strings["n_each"])
    # 52% right on 4,000 strings: p ~ 0.006, above chance at alpha 0.01, not at the solution's 0.001
    right = np.zeros(len(labels), dtype=bool)
    right[: int(0.52 * len(labels))] = True
    predictions = np.where(right, labels, 1 - labels).astype("float32").reshape(-1, 1)
    description = {"inputs": [[None, None, 7]], "output": [None, 1], "layers": []}
    facts = {str(index): {"file": part.file, "state": "present", "description": description, "reber": strings,
                          "kept": f"kept{index}", "predictions": {"reber": f"pred{index}_reber"}}}
    record = _record(spec, plan, facts, {f"pred{index}_reber": predictions, f"kept{index}": np.arange(len(labels))})
    strict = next(p for i in _judge(spec, record, {}).items for p in i.parts if p.label == part.file)
    loose_report = _judge(spec, record, {"reber_classifier": {"alpha": 0.01}})
    loose = next(p for i in loose_report.items for p in i.parts if p.label == part.file)
    assert strict.score == 0 and loose.score == loose.max_score
    assert {s["name"]: s["source"] for s in loose_report.settings}[f"{part_key(item, part)} alpha"] == COMMAND_LINE


def test_unknown_threshold_check_is_a_bad_parameter(tmp_path, cli):
    (tmp_path / "s").mkdir()
    result = cli(tmp_path / "s", "--threshold", "reber_classifier=0.9")
    assert result.exit_code == 2 and "has no threshold" in result.output


# --- deadlines re-judge without running ------------------------------------------------------------

EXPORT_METADATA = """\
submission_1:
  :submitters:
  - :name: Ada Lovelace
    :sid: '900001'
    :email: ada@example.edu
  :created_at: 2026-03-05 23:00:00.000000000 -08:00
submission_2:
  :submitters:
  - :name: Ben Late
    :sid: '900002'
    :email: ben@example.edu
  :created_at: 2026-03-07 10:00:00.000000000 -08:00
"""

COURSE = """\
[assignments.ch99]
due = 2026-03-06T23:59:00-08:00
penalty_percent = 10
per = "day"
"""


def test_an_extension_rejudges_the_late_penalty_without_a_sandbox(tmp_path, cli, sandbox_available, monkeypatch):
    from conftest import student_notebook

    export = tmp_path / "export"
    for folder in ("submission_1", "submission_2"):
        (export / folder).mkdir(parents=True)
        nbformat.write(student_notebook(*ALL_RIGHT), str(export / folder / "ch99.ipynb"))
    (export / "submission_metadata.yml").write_text(EXPORT_METADATA)
    course = tmp_path / "course.toml"
    course.write_text(COURSE)
    out = tmp_path / "reports"
    first = cli(export, "--out", out, "--course", course, "--seed", "1")
    assert first.exit_code == 0, first.output
    reports = read_reports(out)
    full = sum(POINTS.values())
    assert reports["900001"]["score"] == full and reports["900001"]["late"]["penalty_percent"] == 0
    ben = reports["900002"]
    assert ben["raw_score"] == full and ben["late"]["penalty_percent"] == 10 and ben["score"] == pytest.approx(0.9 * full)

    def refuse(*args, **kwargs):
        raise AssertionError("a sandbox was started")

    monkeypatch.setattr("grader.run.stage.run_notebook", refuse)
    monkeypatch.setattr("grader.sandbox.evaluator.Evaluator.start", refuse)
    course.write_text(COURSE + '\n[[extensions]]\nstudent = "900002"\nassignment = "ch99"\ndays = 2\nreason = "illness"\n')
    again = cli(export, "--out", out, "--course", course)
    assert again.exit_code == 0, again.output
    assert "0 run, 1 judged again from stored runs, 1 unchanged" in again.output
    ben = read_reports(out)["900002"]
    assert ben["score"] == full and ben["late"]["penalty_percent"] == 0


# --- a grading machine that fails is never a student's grade -------------------------------------------

def _broken_bwrap(tmp_path: Path) -> Path:
    """A bubblewrap that answers --help like 0.8 but fails every sandbox, as an old one fails on --size."""
    import shutil
    import subprocess

    real = shutil.which("bwrap")
    script = tmp_path / "bwrap"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--help" ]; then exec {real} --help; fi\n'
        f'case "$*" in *--ro-bind*--version*) exec {real} "$@";; esac\n'
        'echo "bwrap: Unknown option --size" >&2\nexit 1\n'
    )
    script.chmod(0o755)
    assert subprocess.run([str(script), "--help"], capture_output=True).returncode == 0
    return script


def test_a_sandbox_that_cannot_start_stops_the_run_and_is_no_ones_score(tmp_path, make_settings, monkeypatch, sandbox_available):
    from grader.errors import GraderError
    from grader.pipeline.run_class import grade_class

    monkeypatch.setenv("HOML_GRADER_BWRAP", str(_broken_bwrap(tmp_path)))
    submissions, out = tmp_path / "submissions", tmp_path / "reports"
    write_class(submissions, {f"s{i}": ALL_RIGHT for i in range(5)})
    with pytest.raises(GraderError, match="in a row could not start their sandbox"):
        grade_class(submissions, out, make_settings(), jobs=1)
    reports = read_reports(out)
    assert 3 <= len(reports) < 5  # stopped after three in a row, not after the whole class
    assert all(r["status"] == "not graded" for r in reports.values())
    assert all("Unknown option --size" in r["problems"][0] for r in reports.values())
    db = sqlite3.connect(out / GRADEBOOK_NAME)
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0  # nothing kept as a student's run


def test_preflight_refuses_to_grade_on_a_broken_sandbox_with_the_cause(tmp_path, cli, monkeypatch, sandbox_available):
    monkeypatch.setenv("HOML_GRADER_BWRAP", str(_broken_bwrap(tmp_path)))
    submissions = write_class(tmp_path / "submissions", {"alice": ALL_RIGHT})
    result = cli(submissions, "--out", tmp_path / "out", "--sandbox", "bubblewrap")
    assert result.exit_code == 1
    assert "Unknown option --size" in result.output and "Traceback" not in result.output
    assert not list((tmp_path / "out").glob("*/ch99.json"))
