"""Hostile and broken submissions (tests/hostile/): graded in ONE class run through the real
sandbox and kernel (`grade` as a process of its own, -j 2, short limits) together with honest
students, whose reports must be exactly what they are when the honest students are graded alone.

Each hostile student's report must say what happened in one sentence; nothing outside a sandbox
may change; the run, its reports and the grader's own memory stay within bounds.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from conftest import ALL_RIGHT, POINTS, Q1_RIGHT, XOR_RIGHT, processes_with, write_class
from grader.data import mnist
from grader.notebook.load import NotebookProblem, read_notebook
from grader.notebook.match import find_submissions
from grader.pipeline.run_class import grade_class
from grader.pipeline.setup import run_settings
from grader.report import report_paths, validate
from grader.sandbox import cgroup
from grader.sandbox.limits import Limits
from hostile import corpus
from hostile.corpus import HONEST, HOSTILE, MODEL_ASSIGNMENT, Case, Context

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent / "hostile"
SEED = 7
LIMITS = dict(cell_timeout=10, notebook_timeout=60, memory_mb=768, max_processes=128, threads=1)
LIMIT_ARGS = ["--cell-timeout", "10", "--notebook-timeout", "60", "--memory-mb", "768", "--max-processes", "128"]
RUN_TIMEOUT = 400  # the whole class; it takes about a minute and a half on 2 cores
MAX_REPORT_BYTES = 2**20
GRADER_MEMORY_MB = 400  # the grader itself (~110 MB), while students send it 500 MB of prints and 400 MB of images
BASE_SCORE = POINTS["answer_q1"] + POINTS["xor_network"]  # what a corpus.BASE notebook earns

needs_cgroups = pytest.mark.skipif(not cgroup.supported(), reason="memory and process limits need writable cgroups")


def grade_argv(submissions: Path, out: Path, solutions: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "grader.cli", str(submissions), "--out", str(out), "--solutions", str(solutions),
            "-j", "2", "--seed", str(SEED), *LIMIT_ARGS, *args]


def sleeper_cell(marker: str) -> str:
    """A cell that starts `sleep 1000 <marker>` (findable in the process table) and returns."""
    return f"import subprocess\nsleeper = subprocess.Popen(['sleep', '1000', {marker!r}])"


def grade_env(grader_data: Path) -> dict[str, str]:
    return {**os.environ, "GRADER_DATA": str(grader_data), "COLUMNS": "1000"}  # rich: no wrapped lines


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every regular file under `root` (links not followed), by relative path."""
    found = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def peak_rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


@dataclass
class ClassResult:
    ctx: Context
    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    grader_peak_mb: float
    reports: dict[tuple[str, str], dict]  # (student, assignment) -> report JSON
    summary: str
    hashes_before: dict[str, dict[str, str]]
    hashes_after: dict[str, dict[str, str]]
    canary: bytes

    def report(self, case: Case) -> dict:
        return self.reports[case.student, case.assignment]

    def html(self, case: Case) -> str:
        return report_paths(self.ctx.out, case.student, case.assignment)[1].read_text(encoding="utf-8")


def sentences(report: dict) -> list[str]:
    return report["problems"] + [p["feedback"] for item in report["items"] for p in item["parts"]]


def part(report: dict, label: str) -> dict:
    return next(p for item in report["items"] for p in item["parts"] if p["label"] == label)


def case(student: str) -> Case:
    return next(c for c in HONEST + HOSTILE if c.student == student)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def keras_models(tmp_path_factory) -> Path:
    """honest.keras, lambda.keras, wrong_shape.keras, made once in a process of their own."""
    folder = tmp_path_factory.mktemp("models")
    subprocess.run([sys.executable, str(HERE / "make_models.py"), str(folder), str(mnist.BUNDLED_NPZ)],
                   check=True, capture_output=True, timeout=300)
    return folder


@pytest.fixture(scope="module")
def hostile_solutions(tmp_path_factory, ch99_solutions) -> Path:
    folder = tmp_path_factory.mktemp("hostile-solutions")
    shutil.copy(ch99_solutions / "ch99.ipynb", folder / "ch99.ipynb")
    nbformat.write(corpus.model_solution(), str(folder / f"{MODEL_ASSIGNMENT}.ipynb"))
    nbformat.write(corpus.reber_solution(), str(folder / f"{corpus.REBER_ASSIGNMENT}.ipynb"))
    return folder


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory, hostile_solutions, keras_models, grader_data_dir, sandbox_available) -> ClassResult:
    root = tmp_path_factory.mktemp("hostile")
    ctx = Context(
        submissions=root / "submissions", out=root / "grade-reports", solutions=hostile_solutions,
        models=keras_models, marker=f"0.000{secrets.randbelow(10**9):09d}", escape_mark=f"escaped-{secrets.token_hex(8)}",
    )
    ctx.submissions.mkdir()
    corpus.write_cases(HONEST + HOSTILE, ctx)
    ctx.out.mkdir()
    canary = b"an earlier file in the report folder\n"
    (ctx.out / "canary.txt").write_bytes(canary)
    watched = {"submissions": ctx.submissions, "solutions": ctx.solutions}
    before = {name: tree_hashes(path) for name, path in watched.items()}

    env = grade_env(grader_data_dir)
    started = time.monotonic()
    proc = subprocess.Popen(grade_argv(ctx.submissions, ctx.out, ctx.solutions), cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ctx.grader_pid = proc.pid
    peak = 0.0
    try:
        while proc.poll() is None and time.monotonic() - started < RUN_TIMEOUT:
            peak = max(peak, peak_rss_mb(proc.pid))
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
    stdout, stderr = proc.communicate()
    elapsed = time.monotonic() - started
    print(f"\nhostile class: {elapsed:.0f} s, grader peak {peak:.0f} MB")  # for the record (pytest -s)

    reports = {}
    for path in ctx.out.glob("*/*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        reports[data["student"], data["assignment"]] = data
    return ClassResult(
        ctx, proc.returncode, stdout, stderr, elapsed, peak, reports, (ctx.out / "summary.md").read_text(),
        before, {name: tree_hashes(path) for name, path in watched.items()}, canary,
    )


@pytest.fixture(scope="module")
def honest_alone(tmp_path_factory, hostile_solutions, keras_models, grader_data_dir, sandbox_available) -> dict:
    """The honest students graded in a class of their own, same seed and limits."""
    root = tmp_path_factory.mktemp("honest")
    ctx = Context(root / "submissions", root / "out", hostile_solutions, keras_models, "", "")
    ctx.submissions.mkdir()
    corpus.write_cases(HONEST, ctx)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_DATA", str(grader_data_dir))
        settings = run_settings(hostile_solutions, Limits(**LIMITS), True, SEED, {})
    run = grade_class(ctx.submissions, ctx.out, settings, jobs=2)
    return {(r.student, r.assignment): r.to_json() for r in run.graded}


# --- the run as a whole -------------------------------------------------------------------------


def test_the_class_run_finishes_within_its_limits(hostile_class):
    assert hostile_class.returncode == 0, hostile_class.stderr[-3000:]
    assert hostile_class.elapsed < RUN_TIMEOUT
    graded = [c for c in HONEST + HOSTILE if c.assignment]
    assert set(hostile_class.reports) == {(c.student, c.assignment) for c in graded}
    for report in hostile_class.reports.values():
        validate(report)
        # a notebook never takes more than its limit, plus kernel start and model evaluation
        assert report["duration_s"] < LIMITS["notebook_timeout"] + 60, (report["student"], report["duration_s"])


def test_honest_students_get_exactly_the_reports_they_get_when_graded_alone(hostile_class, honest_alone):
    def essentials(report):
        return report["score"], [(p["label"], p["score"], p["status"], p["feedback"])
                                 for item in report["items"] for p in item["parts"]], report["problems"]

    for honest in HONEST:
        key = honest.student, honest.assignment
        assert essentials(hostile_class.reports[key]) == essentials(honest_alone[key]), honest.student
    assert hostile_class.reports["alice", "ch99"]["score"] == sum(POINTS.values())
    assert hostile_class.reports["hana", MODEL_ASSIGNMENT]["score"] == sum(corpus.MODEL_POINTS.values())


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda c: c.student.encode("unicode_escape").decode()[:30])
def test_each_hostile_report_says_what_happened_in_one_sentence(hostile_class, hostile):
    if hostile.assignment is None:  # not graded: summary.md and the terminal say why
        reason = next(line for line in hostile_class.summary.splitlines() if line.startswith(f"- {hostile.student}:"))
        assert hostile.says in reason
        said = [line for line in hostile_class.stdout.splitlines() if line.startswith(f"not graded: {hostile.student}: ")]
        assert said and hostile.says in said[0], hostile_class.stdout[-3000:]
        assert not any(s == hostile.student for s, _ in hostile_class.reports)
        return
    report = hostile_class.report(hostile)
    if hostile.student == "fork-bomb" and not cgroup.supported():  # refused by an rlimit, which counts nothing
        from grader.judge.run import LIMITS_PER_PROCESS

        assert report["machine_notes"] == [LIMITS_PER_PROCESS]
        return
    # "a | b": either outcome is the grader's (which one comes first depends on the machine's load)
    said = [s for s in sentences(report) if any(part in s for part in hostile.says.split(" | "))]
    assert said, sentences(report)
    assert len(said[0]) < 400 and said[0].count(". ") <= 2, said[0]


def test_reports_stay_small_and_the_grader_does_not_hold_what_students_print(hostile_class):
    for (student, assignment) in hostile_class.reports:
        json_path, html_path = report_paths(hostile_class.ctx.out, student, assignment)
        assert json_path.stat().st_size < MAX_REPORT_BYTES, student
        assert html_path.stat().st_size < MAX_REPORT_BYTES, student
    assert 0 < hostile_class.grader_peak_mb < GRADER_MEMORY_MB, hostile_class.grader_peak_mb


def test_huge_outputs_are_cut_and_a_progress_bar_shows_its_last_frame(hostile_class):
    printed = hostile_class.html(case("print-500mb"))
    assert "output cut at 100,000 characters by the grader" in printed
    image = hostile_class.html(case("image-100mb"))
    assert "output cut at 100,000 characters by the grader" in image and "AAAAAAAAAA" * 100 not in image
    bar = hostile_class.html(case("progress-bar"))
    assert "10000/10000" in bar and "output cut" not in bar
    assert "] 5000/10000" not in bar  # earlier frames were overwritten, as in Jupyter
    images = hostile_class.html(case("images-40x90kb"))
    assert "output budget is used up" in images
    for student in ("print-500mb", "progress-bar", "image-100mb", "raw-100mb-messages", "images-40x90kb"):
        report = hostile_class.report(case(student))
        assert report["score"] == BASE_SCORE, (student, sentences(report))  # the cells after still ran


@needs_cgroups
def test_a_fork_bomb_hits_the_process_limit_and_leaves_nothing_running(hostile_class):
    html = hostile_class.html(case("fork-bomb"))
    forked = int(re.search(r"FORKED (\d+)", html).group(1))
    assert 0 < forked < LIMITS["max_processes"]
    report = hostile_class.report(case("fork-bomb"))
    assert part(report, "xor_network")["status"] == "passed"  # the kernel carried on
    assert processes_with(hostile_class.ctx.marker) == []


NOT_GRADABLE = ["empty-file", "invalid-json", "truncated", "py-renamed", "binary-garbage", "huge-300mb",
                "deep-json", "many-cells"]


def test_files_that_are_no_notebook_score_zero_with_the_reason_on_every_part(hostile_class):
    for student in NOT_GRADABLE:
        report = hostile_class.report(case(student))
        assert report["score"] == 0 and report["problems"], student
        for item in report["items"]:
            assert item["status"] == "error"
            assert all(p["feedback"].startswith("not graded: ch99.ipynb ") for p in item["parts"])
    for student in ("nbformat3", "utf16", "metadata-unknown"):  # read, converted or decoded: graded
        report = hostile_class.report(case(student))
        assert report["score"] == BASE_SCORE, (student, sentences(report))


def test_several_or_mislabelled_notebooks_are_each_graded_once(hostile_class):
    two = hostile_class.report(case("two-notebooks"))
    assert two["score"] == sum(POINTS.values())  # the newer one, ALL_RIGHT
    assert ("metadata-wins", "ch99") not in hostile_class.reports
    assert hostile_class.reports["metadata-wins", MODEL_ASSIGNMENT]["score"] == corpus.MODEL_POINTS["answer_q1"]


def test_a_300_mb_notebook_is_refused_without_reading_it(tmp_path):
    corpus._huge(tmp_path / "big", None)
    path = tmp_path / "big" / "ch99.ipynb"
    tracemalloc.start()
    try:
        started = time.monotonic()
        (submission,), _ = find_submissions(tmp_path, {"ch99"})
        with pytest.raises(NotebookProblem, match="300 MB, over the 50 MB limit"):
            read_notebook(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, peak  # hashed in 1 MB chunks, never read whole
    assert time.monotonic() - started < 10
    assert submission.assignment == "ch99"


ANSWER_SCORES = {  # answer_q1 points: lowercase and spaces are accepted, the last assignment counts
    "answer-missing": 0, "answer-none": 0, "answer-chr": 0, "answer-lowercase": 2, "answer-spaces": 2,
    "answer-twice": 0, "answer-reordered": 2, "answer-in-globals": 0, "answer-deep": 0, "answer-1mb": 0,
}


def test_answers_get_consistent_scores_and_the_functions_are_still_graded(hostile_class):
    for student, points in ANSWER_SCORES.items():
        report = hostile_class.report(case(student))
        assert part(report, "answer_q1")["score"] == points, (student, part(report, "answer_q1"))
        assert part(report, "xor_network")["status"] == "passed", (student, part(report, "xor_network"))
    reordered = hostile_class.html(case("answer-reordered"))
    assert "NameError" in reordered  # the call above the definition failed; the function still counts


def test_bad_model_files_score_zero_and_the_rest_is_still_graded(hostile_class):
    for hostile in corpus.MODELS:
        report = hostile_class.report(hostile)
        assert part(report, corpus.MODEL_FILE)["score"] == 0, hostile.student
        assert part(report, "answer_q1")["score"] == corpus.MODEL_POINTS["answer_q1"], hostile.student


def test_links_in_the_submissions_folder_are_never_followed(hostile_class):
    html = hostile_class.html(case("links-inside"))
    for name in ("passwd", "key.ipynb", "answers/ch99.ipynb", "answers"):
        assert f"LINK {name} missing" in html
    assert "root:x:0:0" not in html
    assert hostile_class.report(case("links-inside"))["score"] == BASE_SCORE
    solution = (hostile_class.ctx.solutions / "ch99.ipynb").read_text()
    assert "ITEM ch99.q1" in solution
    for (student, assignment) in hostile_class.reports:  # the key's item cell reached no report
        assert "ITEM ch99.q1" not in report_paths(hostile_class.ctx.out, student, assignment)[1].read_text()


def test_odd_student_ids_get_reports_inside_the_report_folder(hostile_class):
    out = hostile_class.ctx.out.resolve()
    rows = list(csv.reader(io.StringIO((out / "gradebook.csv").read_text(encoding="utf-8-sig"))))
    for name in corpus.ODD_IDS:
        json_path, html_path = report_paths(out, name, "ch99")
        assert json_path.resolve().parent.parent == out and html_path.exists(), name
        assert hostile_class.reports[name, "ch99"]["score"] == sum(POINTS.values())
        assert any(row[0] in (name, "'" + name) for row in rows), name
    folders = [p.name for p in out.iterdir() if p.is_dir()]
    assert all(not f.startswith((".", "-")) and "\n" not in f for f in folders), folders


def test_a_folder_of_10000_files_is_graded_in_bounded_time(hostile_class):
    report = hostile_class.report(case("many-files"))
    assert report["score"] == BASE_SCORE
    assert report["duration_s"] < 30
    note = next(p for p in report["problems"] if "not copied" in p)
    assert note.startswith("over ") and len(note) < 300


def test_nothing_outside_the_sandboxes_changed(hostile_class):
    ctx = hostile_class.ctx
    assert "WROTE" in hostile_class.html(case("escape-writer"))  # the writer ran
    assert hostile_class.hashes_after == hostile_class.hashes_before
    assert (ctx.out / "canary.txt").read_bytes() == hostile_class.canary
    expected = {".grade.lock", "gradebook.csv", "gradebook-max.csv", "summary.md", "canary.txt", "class.html", "grader.log",
                "submissions.json", "similar.json"}
    for student, assignment in hostile_class.reports:
        json_path, html_path = report_paths(ctx.out, student, assignment)
        expected |= {str(json_path.relative_to(ctx.out)), str(html_path.relative_to(ctx.out))}
    written = {str(p.relative_to(ctx.out)) for p in ctx.out.rglob("*") if p.is_file()}
    store = {w for w in written if w.startswith(("runs/", "gradebook.sqlite"))}  # the grader's own store
    assert {w.rsplit("/", 1)[-1] for w in store if w.startswith("runs/")} <= {"record.json", "arrays.npz", "executed.ipynb"}
    assert written - store == expected
    mark = ctx.escape_mark
    for path in [*ctx.out.rglob("*"), *ctx.submissions.rglob("*"), *ctx.solutions.rglob("*")]:
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 50 * 2**20:
            assert mark.encode() not in path.read_bytes(), path
    for folder in (Path("/tmp"), Path("/dev/shm"), Path.home(), Path("/")):
        for path in folder.iterdir():
            assert mark not in path.name, path
        assert not (folder / f"{mark}.txt").exists()


# --- round two (issue 15) -----------------------------------------------------------------------


def test_text_that_cannot_be_written_as_utf8_is_replaced_not_fatal(hostile_class):
    for student in ("surrogate-error", "surrogate-markdown", "non-utf8-name"):
        json_path, html_path = report_paths(hostile_class.ctx.out, student, "ch99")
        json_path.read_bytes().decode("utf-8")  # valid UTF-8 throughout
        assert "\ufffd" in html_path.read_text(encoding="utf-8"), student
    assert "My notes \ufffd without its pair" in hostile_class.html(case("surrogate-markdown"))
    for student in ("surrogate-markdown", "non-utf8-name"):
        assert hostile_class.report(case(student))["score"] == BASE_SCORE, student


def test_floods_and_forged_probe_files_cost_only_their_own_report(hostile_class):
    for student in ("stdin-flood", "comm-flood", "reply-flood"):
        # sending 1.2 GB can use up the flooding sandbox's own 768 MB; it costs only that report
        report = hostile_class.report(case(student))
        assert part(report, "answer_q1")["score"] == POINTS["answer_q1"], (student, sentences(report))
        assert not any("grader failed" in s for s in sentences(report)), (student, sentences(report))
    for student in ("forged-json-60mb", "forged-npz-bomb"):
        report = hostile_class.report(case(student))
        assert part(report, "xor_network")["score"] == 0 and part(report, "answer_q1")["score"] == POINTS["answer_q1"]
    # the grader's own peak memory: test_reports_stay_small_and_the_grader_does_not_hold_what_students_print


def test_a_notebook_filling_its_space_and_a_deep_tree_leave_nothing_behind(hostile_class):
    made = re.search(r"MADE (\d+) No space left on device", hostile_class.html(case("file-flood")))
    assert made and int(made.group(1)) < Limits().max_files, "the file flood stopped at its own limit"
    assert "DEEP" in hostile_class.html(case("deep-tree"))
    assert hostile_class.report(case("deep-tree"))["score"] == BASE_SCORE
    # setsid-loops: 30 busy loops in their own sessions, held to its sandbox's CPU quota; the
    # honest students' equality (test_honest_students_get_exactly...) is what this case tests
    owned = f"homl-grader-{hostile_class.ctx.grader_pid}-"
    assert [p for p in Path("/dev/shm").iterdir() if p.name.startswith(owned)] == []
    assert [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if owned in line] == []
    for hierarchy in cgroup.hierarchies():
        assert [g for g in hierarchy.iterdir() if g.name.startswith(owned)] == []


def test_readme_lists_every_case_in_one_line():
    lines = (HERE / "README.md").read_text().splitlines()
    listed = {m.group(1) for line in lines if (m := re.match(r"^\| `([^`]+)` \|", line))}
    named = {c.student for c in HOSTILE if c.student not in corpus.ODD_IDS} | {"odd student ids"}
    assert named <= listed, named - listed


# --- interruption -------------------------------------------------------------------------------


def test_sigint_stops_the_class_cleanly_and_a_rerun_grades_the_rest(tmp_path, ch99_solutions, grader_data_dir, sandbox_available):
    submissions, out = tmp_path / "submissions", tmp_path / "grade-reports"
    marker = f"0.000{secrets.randbelow(10**9):09d}"
    slow = (Q1_RIGHT, sleeper_cell(marker), "import time\ntime.sleep(8)", XOR_RIGHT)
    write_class(submissions, {"i-alice": ALL_RIGHT, "i-bob": (Q1_RIGHT, XOR_RIGHT), "i-slow1": slow, "i-slow2": slow})
    env = grade_env(grader_data_dir)
    argv = grade_argv(submissions, out, ch99_solutions)
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ((out / "i-bob" / "ch99.json").exists() and (out / "i-alice" / "ch99.json").exists()
                   and processes_with(marker)):
            assert time.monotonic() < deadline and proc.poll() is None, "alice and bob graded, a slow one running"
            time.sleep(0.1)
        interrupted_at = time.monotonic()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr[-2000:]
    assert time.monotonic() - interrupted_at < 15  # the running notebooks were stopped, not waited for
    assert "interrupted: 2 run," in stdout
    finished = re.search(r"Finished in this run: (.*?)\. Not graded yet: (.*?);", stdout)
    assert finished, stdout
    assert sorted(finished.group(1).split(", ")) == ["i-alice/ch99", "i-bob/ch99"]
    assert sorted(finished.group(2).split(", ")) == ["i-slow1/ch99", "i-slow2/ch99"]
    assert not (out / "i-slow1" / "ch99.json").exists() and not (out / "i-slow2" / "ch99.json").exists()
    assert (out / "summary.md").exists() and (out / "gradebook.csv").exists()
    time.sleep(1)
    assert processes_with(marker) == []

    again = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "done: 2 run, 0 judged again from stored runs, 2 unchanged" in again.stdout
    for student in ("i-slow1", "i-slow2"):
        report = json.loads((out / student / "ch99.json").read_text())
        assert report["score"] == BASE_SCORE
