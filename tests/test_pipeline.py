"""The grading run end to end on ch99 (conftest.py): reports and their schema, resuming, -j, the
output-folder lock, exit codes, --sandbox none, and what the grader reads back from a sandbox.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import (
    ALL_RIGHT,
    MLP_NO_RELU,
    MLP_RIGHT,
    MLP_SMALL_BATCHES,
    POINTS,
    Q1_RIGHT,
    Q1_WRONG,
    XOR_RIGHT,
    XOR_WRONG,
    part_of,
    processes_with,
    read_reports,
    write_class,
    write_student,
)
from grader.assign.spec import Part
from grader.judge.run import UNSANDBOXED
from grader.pipeline.single import SubmissionGrader
from grader.run import probe as probe_io
from grader.pipeline.run_class import LOCK_NAME, grade_class
from grader.report import validate

REPO = Path(__file__).resolve().parents[1]
MAX = sum(POINTS.values())


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def snapshot(out: Path, *students: str) -> dict[str, tuple[int, bytes]]:
    """(mtime_ns, bytes) of each student's JSON and HTML report."""
    found = {}
    for student in students:
        for suffix in (".json", ".html"):
            path = out / student / f"ch99{suffix}"
            found[f"{student}{suffix}"] = (path.stat().st_mtime_ns, path.read_bytes())
    return found


def start_grade(submissions: Path, out: Path, solutions: Path, grader_data: Path, *args: str) -> subprocess.Popen:
    """`grade` as a process of its own, to be killed or raced against."""
    env = {**os.environ, "GRADER_DATA": str(grader_data)}
    argv = [sys.executable, "-m", "grader.cli", str(submissions), "--out", str(out), "--solutions", str(solutions), *args]
    return subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def sleeper_cell(marker: str) -> str:
    """A cell that starts `sleep 1000 <marker>` (findable in the process table) and returns."""
    return f"import subprocess\nsleeper = subprocess.Popen(['sleep', '1000', {marker!r}])"


# --- reports ------------------------------------------------------------------------------------


def test_graded_report_validates_against_the_schema_with_expected_feedback(tmp_path, make_settings, sandbox_available):
    submissions, out = tmp_path / "submissions", tmp_path / "grade-reports"
    write_class(submissions, {"alice": ALL_RIGHT, "bob": (Q1_WRONG, XOR_WRONG, MLP_NO_RELU), "carol": (Q1_RIGHT,)})
    run = grade_class(submissions, out, make_settings(), jobs=2)
    assert len(run.graded) == 3 and not run.ungraded
    reports = read_reports(out)
    assert set(reports) == {"alice", "bob", "carol"}
    for report in reports.values():
        validate(report)
        assert [i["id"] for i in report["items"]] == ["ch99.q1", "ch99.q2", "ch99.q3"]
        assert report["max_score"] == MAX and report["sandbox"] == "bubblewrap"

    alice = reports["alice"]
    assert alice["score"] == MAX and alice["problems"] == []
    assert [i["status"] for i in alice["items"]] == ["passed"] * 3
    assert part_of(alice, "answer_q1")["feedback"] == "B is correct."
    assert part_of(alice, "xor_network")["feedback"].startswith("the truth table is right")
    assert part_of(alice, "mlp_forward")["feedback"].startswith("correct on 3 random batches")

    bob = reports["bob"]
    assert bob["score"] == 0 and [i["status"] for i in bob["items"]] == ["failed"] * 3
    assert part_of(bob, "answer_q1")["feedback"] == "C is not correct."
    assert "XOR gives 0, 1, 1, 0" in part_of(bob, "xor_network")["feedback"]
    assert "0 of 3 random batches right" in part_of(bob, "mlp_forward")["feedback"]

    carol = reports["carol"]
    assert carol["score"] == POINTS["answer_q1"]
    assert part_of(carol, "xor_network")["feedback"] == "xor_network is not defined."
    assert part_of(carol, "xor_network")["status"] == "failed"


# --- resuming -----------------------------------------------------------------------------------


def test_resume_rewrites_only_the_missing_report(tmp_path, cli, sandbox_available):
    submissions, out = tmp_path / "submissions", tmp_path / "grade-reports"
    write_class(submissions, {"alice": ALL_RIGHT, "bob": (Q1_WRONG, XOR_RIGHT), "carol": (Q1_RIGHT, MLP_RIGHT)})
    first = cli(submissions, "--out", out, "-j", "2", "--seed", "3")
    assert first.exit_code == 0, first.output
    kept = snapshot(out, "alice", "carol")
    bob_before = json.loads((out / "bob" / "ch99.json").read_text())
    (out / "bob" / "ch99.json").unlink()

    again = cli(submissions, "--out", out, "-j", "2", "--seed", "3")
    assert again.exit_code == 0, again.output
    assert "0 run, 1 judged again from stored runs, 2 unchanged" in again.output
    assert snapshot(out, "alice", "carol") == kept
    bob = json.loads((out / "bob" / "ch99.json").read_text())
    assert bob["score"] == bob_before["score"] == POINTS["xor_network"]
    assert bob["graded_at"] >= bob_before["graded_at"]


def test_killed_run_resumes_keeping_finished_reports(tmp_path, cli, ch99_solutions, grader_data_dir, sandbox_available):
    submissions, out = tmp_path / "submissions", tmp_path / "grade-reports"
    marker = f"0.000{secrets.randbelow(10**9):09d}"
    write_class(submissions, {
        "alice": ALL_RIGHT,
        "bob": (Q1_RIGHT, XOR_WRONG),
        "zed": (Q1_RIGHT, sleeper_cell(marker), "import time\ntime.sleep(30)", XOR_RIGHT),
    })
    args = ("-j", "1", "--cell-timeout", "4", "--seed", "5")
    proc = start_grade(submissions, out, ch99_solutions, grader_data_dir, *args)
    try:
        finished = lambda: (out / "alice" / "ch99.json").exists() and (out / "bob" / "ch99.json").exists()
        wait_for(lambda: finished() and processes_with(marker), 60, "alice and bob graded, zed's notebook running")
        assert not (out / "zed" / "ch99.json").exists()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # the sandbox of the killed run dies with it
    wait_for(lambda: not processes_with(marker), 15, "the killed run's sandbox to go away")
    kept = snapshot(out, "alice", "bob")

    again = cli(submissions, "--out", out, *args)
    assert again.exit_code == 0, again.output
    assert "1 run, 0 judged again from stored runs, 2 unchanged" in again.output
    assert snapshot(out, "alice", "bob") == kept
    zed = read_reports(out)["zed"]
    assert zed["score"] == POINTS["answer_q1"] + POINTS["xor_network"]
    assert any("In [3] was stopped by the grader" in p for p in zed["problems"]), zed["problems"]
    assert processes_with(marker) == []


# --- parallel runs ------------------------------------------------------------------------------


def test_jobs_1_and_2_with_the_same_seed_give_identical_results(tmp_path, cli, sandbox_available):
    submissions = write_class(tmp_path / "submissions", {
        "alice": ALL_RIGHT,
        "bob": (Q1_WRONG, XOR_RIGHT, MLP_SMALL_BATCHES),
        "carol": (Q1_RIGHT, XOR_WRONG, MLP_SMALL_BATCHES),
        "dave": (Q1_RIGHT, MLP_NO_RELU),
    })
    results = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out-j{jobs}"
        run = cli(submissions, "--out", out, "-j", jobs, "--seed", "11")
        assert run.exit_code == 0, run.output
        results[jobs] = {
            student: (r["score"], [p["feedback"] for i in r["items"] for p in i["parts"]])
            for student, r in read_reports(out).items()
        }
    assert len(results["1"]) == 4
    assert results["1"] == results["2"]
    assert results["1"]["alice"][0] == MAX


# --- the command: lock, exit codes, sandbox choice ------------------------------------------------


def test_second_grade_on_a_busy_output_folder_is_refused(tmp_path, cli, ch99_solutions, grader_data_dir, sandbox_available):
    submissions, out = tmp_path / "submissions", tmp_path / "grade-reports"
    write_class(submissions, {"alice": (Q1_RIGHT, "import time\ntime.sleep(60)")})
    proc = start_grade(submissions, out, ch99_solutions, grader_data_dir, "-j", "1", "--cell-timeout", "60")
    try:
        lock = out / LOCK_NAME
        wait_for(lambda: lock.exists() and lock.read_text() == str(proc.pid), 30, "the first run to take the lock")
        second = cli(submissions, "--out", out)
        assert second.exit_code != 0
        assert "another `grade` run is writing to" in second.output
        assert proc.poll() is None  # the first run was left alone
    finally:
        proc.kill()
        proc.wait()
    assert not (out / "alice" / "ch99.json").exists()


def test_exit_code_is_zero_when_grading_ran_whatever_the_scores(tmp_path, cli, sandbox_available):
    submissions = write_class(tmp_path / "submissions", {"bob": (Q1_WRONG, XOR_WRONG, "raise ValueError('oops')")})
    result = cli(submissions, "--out", tmp_path / "out", "-j", "1")
    assert result.exit_code == 0, result.output
    assert read_reports(tmp_path / "out")["bob"]["score"] == 0


@pytest.mark.parametrize("args", [
    ["--threshold", "nonsense"],
    ["--threshold", "mnist_dense=1.5"],
    ["-j", "0"],
    ["--sandbox", "docker"],
    ["--cell-timeout", "soon"],
    ["--no-such-option"],
])
def test_bad_arguments_exit_non_zero(tmp_path, cli, args):
    submissions = write_class(tmp_path / "submissions", {"alice": ALL_RIGHT})
    result = cli(submissions, "--out", tmp_path / "out", *args)
    assert result.exit_code not in (0, None), result.output
    assert not (tmp_path / "out" / "alice").exists()


def test_missing_submissions_folder_or_solutions_exit_non_zero(tmp_path, cli):
    assert cli(tmp_path / "nowhere").exit_code != 0
    submissions = write_class(tmp_path / "submissions", {"alice": ALL_RIGHT})
    empty = tmp_path / "no-solutions"
    empty.mkdir()
    result = cli(submissions, "--solutions", empty)
    assert result.exit_code != 0
    assert "solution" in result.output


def test_sandbox_none_runs_and_warns_in_every_report(tmp_path, cli):
    submissions = write_class(tmp_path / "submissions", {"alice": ALL_RIGHT, "bob": (Q1_WRONG,)})
    broken = tmp_path / "submissions" / "carol" / "ch99.ipynb"
    broken.parent.mkdir()
    broken.write_text("{ not a notebook")
    result = cli(submissions, "--out", tmp_path / "out", "--sandbox", "none", "-j", "2")
    assert result.exit_code == 0, result.output
    assert "--sandbox none" in result.output  # the warning on the terminal
    reports = read_reports(tmp_path / "out")
    assert set(reports) == {"alice", "bob", "carol"}
    for report in reports.values():
        assert report["sandbox"] == "none"
        assert report["problems"][0] == UNSANDBOXED
    assert reports["alice"]["score"] == MAX


def test_grade_refuses_without_bubblewrap_and_says_how_to_install_it(tmp_path, cli, monkeypatch):
    from grader.sandbox import bwrap

    from grader.sandbox import container

    monkeypatch.setattr(bwrap, "available", lambda: "bubblewrap is not installed (Debian/Ubuntu: sudo apt-get install bubblewrap)")
    monkeypatch.setattr(container, "available", lambda: "container isolation needs root")
    submissions = write_class(tmp_path / "submissions", {"alice": ALL_RIGHT})
    for args in ((), ("--sandbox", "bubblewrap")):
        result = cli(submissions, "--out", tmp_path / "out", *args)
        assert result.exit_code != 0
        assert "apt-get install bubblewrap" in result.output
        assert "--sandbox none" in result.output
        assert not (tmp_path / "out").exists()


# --- what the grader reads back from a sandbox ----------------------------------------------------


def test_probe_results_planted_as_links_fifos_or_malformed_are_not_read(tmp_path):
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "results-t1.json").write_text(json.dumps({"signatures": {}, "calls": {"c0": {"ok": True, "values": [1]}}}))
    import numpy as np

    np.savez(folder / "arrays-t1.npz")
    raw, _ = probe_io.read_results(folder, "t1")  # the probe's own files are read
    assert raw["calls"]["c0"]["ok"]

    (folder / "results-t2.json").symlink_to("/dev/zero")  # would never end
    (folder / "arrays-t2.npz").symlink_to(folder / "arrays-t1.npz")
    started = time.monotonic()
    with pytest.raises(OSError):
        probe_io.read_results(folder, "t2")
    assert time.monotonic() - started < 5

    os.mkfifo(folder / "results-t3.json")  # would block
    with pytest.raises(ValueError):
        probe_io.read_results(folder, "t3")

    (folder / "results-t4.json").write_text(json.dumps({"signatures": [], "calls": ["c0"]}))
    np.savez(folder / "arrays-t4.npz")
    with pytest.raises(ValueError):
        probe_io.read_results(folder, "t4")


def test_builder_model_must_be_a_file_the_probe_saved(tmp_path):
    probe = tmp_path / "probe"
    probe.mkdir()
    elsewhere = tmp_path / "bob" / "model.keras"  # e.g. another student's model
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"PK\x03\x04")
    (probe / "c0_0.keras").symlink_to(elsewhere)
    for path in (elsewhere, probe / "c0_0.keras", probe / ".." / "bob" / "model.keras", "/etc/passwd"):
        assert probe_io.model_file(probe, {"model": str(path)}) is None
    (probe / "c1_0.keras").write_bytes(b"PK\x03\x04")
    assert probe_io.model_file(probe, {"model": str(probe / "c1_0.keras")}) == probe / "c1_0.keras"


BUILD_RIGHT = (
    "import keras\n"
    "from keras import layers\n"
    "def build_model():\n"
    "    return keras.Sequential([keras.Input(shape=(100, 2)), layers.SimpleRNN(30, return_sequences=True),\n"
    "                             layers.SimpleRNN(30), layers.Dense(1)])"
)


def test_builder_model_is_saved_by_the_probe_and_judged_by_the_evaluator(tmp_path, make_settings, sandbox_available):
    """The one test with TensorFlow: a tiny Keras model crosses from the kernel to the evaluator."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from grader.assign.spec import load_solutions
    from grader.notebook.match import find_submissions

    solution = new_notebook(cells=[
        new_code_cell(
            "### ITEM ch98.q1\n"
            '{"title": "Stacked RNN", "parts": [{"kind": "builder", "name": "build_model", "params": [],'
            ' "check": "stacked_rnn", "points": 4}]}'
        ),
        new_code_cell(BUILD_RIGHT),
    ])
    solution.metadata["homl_grader"] = {"assignment": "ch98", "version": "1"}
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution, str(tmp_path / "solutions" / "ch98.ipynb"))
    settings = make_settings(cell_timeout=90, notebook_timeout=180)  # importing keras takes a while on a busy machine
    settings.specs = load_solutions(tmp_path / "solutions")
    student = new_notebook(cells=[new_code_cell(BUILD_RIGHT)])
    student.metadata["homl_grader"] = {"assignment": "ch98"}
    (tmp_path / "submissions" / "alice").mkdir(parents=True)
    nbformat.write(student, str(tmp_path / "submissions" / "alice" / "ch98.ipynb"))
    (submission,), _ = find_submissions(tmp_path / "submissions", {"ch98"})
    grader_ = SubmissionGrader(settings)
    try:
        report, _ = grader_.grade(submission)
    finally:
        grader_.close()
    part = part_of(report, "build_model")
    assert part.status == "passed", (part.feedback, report.problems)
    assert "every layer matches" in part.feedback
