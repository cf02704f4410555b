"""The autograder.zip an instructor uploads to Gradescope, and what it runs there.

Gradescope's layout ("Autograder Specifications", docs/specs.md in
github.com/gradescope/autograder_samples): the zip holds `setup.sh` and `run_autograder` at
its root; it is extracted to /autograder/source; `setup.sh` runs once, as root, while the
image is built (Ubuntu; apt works); `run_autograder` is copied to /autograder/run_autograder and
run for every submission, as root, in /autograder, with the student's files in
/autograder/submission; it must write /autograder/results/results.json, and anything it prints
goes to /autograder/results/stdout, shown to instructors only.

The bundle:

    setup.sh         apt-get install bubblewrap + a Python >= 3.11, a venv in /opt/homl-grader,
                     pip install of the wheel below (its dependencies come from PyPI)
    run_autograder   python -m grader.ci.gradescope_bundle run ...; writes a results.json that
                     says what went wrong whatever happens, and a watchdog writes one before
                     Gradescope's time limit ends (`timeout`)
    not-finished.json  what the watchdog writes
    wheels/          homl_grader-<version>-py3-none-any.whl, built from this checkout
    solutions/       the solution notebooks: the answer keys (never mounted into a sandbox)

    python -m grader.ci.gradescope_bundle build --solutions solutions --out autograder.zip
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grader
from grader.ci.cases import TestCase, cases_from_report
from grader.ci.gradescope import failure_results, results_json, write_results
from grader.errors import GraderError
from grader.records import Report

VENV = "/opt/homl-grader"
SOURCE = "/autograder/source"
SUBMISSION = "/autograder/submission"
RESULTS = "/autograder/results/results.json"
STUDENT = "student"  # the one-student class folder run_autograder grades
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed, so the same inputs give the same zip
GRADESCOPE_TIMEOUT = 600  # s: Gradescope's default time limit per submission
WATCHDOG_MARGIN = 30  # s before Gradescope's limit: the watchdog writes results.json then
# what the grader needs after the notebook's own timeout: judging, the model evaluator (TensorFlow
# at Gradescope's 0.5 vCPU), reports; at least this much, or a fifth of the limit
REST_S = 120
NOT_FINISHED = (
    "Your notebook was received but its grading did not finish within the autograder's time "
    "limit ({timeout} s), so it was stopped and has no score. This is not a verdict on your work: "
    "please tell your instructor (a notebook that trains for long may need a longer limit)."
)
# Memory the reference ch10 notebook needs in Gradescope's container, all processes together (the
# kernel, the model evaluator, the grader), measured in examples/gradescope/simulate.py: 1283 MiB
# summed RSS; the default 768 MB container kills the kernel (the reference solution scored 46).
MIN_MEMORY_MB = 1536

SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (Ubuntu).
# Installs bubblewrap (the sandbox) and homl-grader, from the wheel in this bundle, into a venv.
set -euxo pipefail
export DEBIAN_FRONTEND=noninteractive
SOURCE={SOURCE}
VENV={VENV}

apt-get update
# bubblewrap where the container allows namespaces; libseccomp2 for container isolation otherwise
apt-get install -y --no-install-recommends bubblewrap libseccomp2 python3-pip python3-venv ca-certificates

# homl-grader needs Python >= 3.11; Ubuntu 22.04's python3 is 3.10 (3.11 is in its universe)
PYTHON=""
for candidate in python3 python3.13 python3.12 python3.11; do
  if command -v "$candidate" >/dev/null 2>&1 \\
      && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PYTHON="$(command -v "$candidate")"
    break
  fi
done
if [ -z "$PYTHON" ]; then
  apt-get install -y --no-install-recommends python3.11 python3.11-venv python3.11-dev
  PYTHON="$(command -v python3.11)"
fi
VERSION="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
apt-get install -y --no-install-recommends "python$VERSION-venv" || true

# a venv, so Gradescope's own python3 (its harness) is left alone
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --upgrade pip
"$VENV/bin/python" -m pip install "$SOURCE"/wheels/*.whl
# again without its dependencies: pip skips a wheel whose version is installed, and a rerun of this
# script (an updated bundle of the same version) must install the new build
"$VENV/bin/python" -m pip install --force-reinstall --no-deps "$SOURCE"/wheels/*.whl
"$VENV/bin/grade" --version
# which isolation runs in this container (bubblewrap, else container isolation), for the log;
# run_autograder chooses again for every submission and says so in results.json when none can
HOML_GRADER_CONTAINER=1 "$VENV/bin/python" -c '
from grader.errors import GraderError
from grader.sandbox.isolation import choose_isolation
try:
    print("isolation:", choose_isolation("auto"))
except GraderError as exc:
    print("no isolation works here:", exc)
'
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, in /autograder: it grades the notebooks in
# {submission} against the keys in {source}/solutions and writes {results}.
# Whatever fails, a results.json is written that says so (Gradescope shows nothing without one);
# a watchdog writes one {watchdog} s after the start (Gradescope stops the run at {timeout} s).
set -uo pipefail
set -m  # background jobs in process groups of their own: the watchdog can stop the grader's
RESULTS={results}
mkdir -p "$(dirname "$RESULTS")"
rm -f "$RESULTS"
# this is a throwaway container: where bubblewrap cannot run, the grader may use container isolation
export HOML_GRADER_CONTAINER=1

{venv}/bin/python -m grader.ci.gradescope_bundle run \\
  --submission {submission} \\
  --solutions {source}/solutions \\
  --results "$RESULTS" \\
  --sandbox {sandbox}{assignment_option}{grade_options} &
grader=$!
(
  sleep {watchdog}
  echo "watchdog: grading did not finish in {watchdog} s; writing results.json and stopping it"
  [ -s "$RESULTS" ] || {{ cp {source}/not-finished.json "$RESULTS.watchdog" && mv -f "$RESULTS.watchdog" "$RESULTS"; }}
  kill -TERM -- -"$grader" 2>/dev/null
  sleep 5
  kill -KILL -- -"$grader" 2>/dev/null
) &
watchdog=$!
disown "$watchdog"  # no job-control notice in the log when it is stopped
wait "$grader"
status=$?
kill -- -"$watchdog" 2>/dev/null

if [ ! -s "$RESULTS" ]; then
  # plain words only (no quotes or backslashes): the message goes into JSON as it is
  MESSAGE="homl-grader is not installed in this image, or it stopped before writing results"
  MESSAGE="$MESSAGE (exit status $status). Your submission was received, but the autograder"
  MESSAGE="$MESSAGE could not run: please tell your instructor."
  printf '{{"score": 0, "output_format": "text", "output": "%s", "tests": []}}\\n' "$MESSAGE" > "$RESULTS"
fi
exit 0
"""


def notebook_timeout_for(timeout: float) -> float:
    """The notebook timeout that leaves the grader time to judge and report within `timeout`."""
    return timeout - max(REST_S, timeout / 5)


# ---- building the bundle -----------------------------------------------------------------------


def project_root() -> Path:
    """The source checkout this package runs from (where pyproject.toml is)."""
    root = Path(grader.__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        raise FileNotFoundError(
            f"{root} is not a source checkout of homl-grader (no pyproject.toml): "
            "build the bundle from a clone, or pass a built wheel"
        )
    return root


def build_wheel(project: Path, out_dir: Path) -> Path:
    """Build homl-grader's wheel from a copy of the checkout (the work tree stays clean)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="homl-wheel-") as temp:
        src = Path(temp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "setup.cfg"):
            if (project / name).is_file():
                shutil.copy2(project / name, src / name)
        shutil.copytree(
            project / "grader",
            src / "grader",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
        )
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(temp), str(src)]
        done = subprocess.run(command, capture_output=True, text=True)
        wheels = sorted(Path(temp).glob("homl_grader-*.whl"))
        if done.returncode != 0 or not wheels:
            raise RuntimeError(f"building the wheel failed: {' '.join(command)}\n{done.stdout}{done.stderr}")
        target = out_dir / wheels[-1].name
        shutil.copy2(wheels[-1], target)
        return target


def _zip_entry(name: str, executable: bool = False) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
    info.create_system = 3  # Unix, so unzip honours the mode bits
    return info


def run_autograder_script(
    *,
    sandbox: str = "auto",
    assignment: str | None = None,
    grade_options: Sequence[str] = (),
    timeout: float = GRADESCOPE_TIMEOUT,
) -> str:
    options = " ".join(shlex.quote(option) for option in grade_options)
    return RUN_AUTOGRADER.format(
        submission=SUBMISSION,
        source=SOURCE,
        results=RESULTS,
        venv=VENV,
        sandbox=sandbox,
        assignment_option=f" \\\n  --assignment {shlex.quote(assignment)}" if assignment else "",
        grade_options=f" \\\n  --grade-options {shlex.quote(options)}" if options else "",
        timeout=int(timeout),
        watchdog=int(timeout - WATCHDOG_MARGIN),
    )


def _with_notebook_timeout(grade_options: Sequence[str], timeout: float) -> list[str]:
    """`grade_options` with a notebook timeout that fits in Gradescope's `timeout`."""
    options = list(grade_options)
    limit = notebook_timeout_for(timeout)
    if limit < 60:
        raise GraderError(f"a Gradescope timeout of {timeout:g} s leaves no time to run a notebook: give 300 s or more")
    for index, option in enumerate(options):
        given = option.partition("=")[2] if option.startswith("--notebook-timeout=") else (
            options[index + 1] if option == "--notebook-timeout" and index + 1 < len(options) else None
        )
        if given is not None:
            if float(given) > limit:
                raise GraderError(
                    f"--notebook-timeout {given} leaves no time to judge and report within Gradescope's "
                    f"{timeout:g} s: give at most {limit:g}, or a longer --timeout"
                )
            return options
    return [*options, "--notebook-timeout", f"{limit:g}"]


def build_bundle(
    solutions: Path,
    out_zip: Path,
    *,
    wheel: Path | None = None,
    assignment: str | None = None,
    unsandboxed: bool = False,
    grade_options: Sequence[str] = (),
    timeout: float = GRADESCOPE_TIMEOUT,
) -> Path:
    """Write Gradescope's autograder.zip (atomically) and return its path.

    `solutions`: the folder of solution notebooks (the answer keys go into the zip).
    `assignment`: e.g. "ch10" for a Gradescope assignment of one chapter: only that key is
    bundled and other notebooks are not graded. `wheel`: a built homl-grader wheel; built from
    this checkout when None. `grade_options`: extra `grade` options, e.g.
    ["--threshold", "mnist_dense=0.97"]. `timeout`: the autograder timeout set on Gradescope
    (s): the notebook timeout is made to leave time to judge and report before it, and a
    watchdog writes results.json before it. `unsandboxed=True` grades with `--sandbox none`
    (student code then runs as root in Gradescope's container, beside the keys and the grader: a
    student could read the keys or forge a score); by default bubblewrap runs notebooks where it
    can, container isolation where it cannot, and a container where neither can gets a
    results.json saying the notebook was not graded.
    """
    solutions = Path(solutions)
    notebooks = sorted(solutions.glob("*.ipynb"))
    if assignment:
        notebooks = [n for n in notebooks if n.stem == assignment]
    if not notebooks:
        wanted = f"{assignment}.ipynb" if assignment else "*.ipynb"
        known = ", ".join(n.stem for n in sorted(solutions.glob("*.ipynb"))) or "none"
        raise GraderError(f"no solution notebook {wanted} in {solutions} (assignments there: {known})")
    from grader.assign.spec import load_solutions

    with tempfile.TemporaryDirectory(prefix="homl-bundle-") as temp:
        keys = Path(temp) / "solutions"
        keys.mkdir()
        for notebook in notebooks:
            shutil.copy2(notebook, keys / notebook.name)
        load_solutions(keys)  # a broken key fails here, not on Gradescope
        if wheel is None:
            wheel = build_wheel(project_root(), Path(temp) / "wheels")
        script = run_autograder_script(
            sandbox="none" if unsandboxed else "auto",
            assignment=assignment,
            grade_options=_with_notebook_timeout(grade_options, timeout),
            timeout=timeout,
        )
        not_finished = failure_results(NOT_FINISHED.format(timeout=int(timeout)))
        out_zip = Path(out_zip)
        out_zip.parent.mkdir(parents=True, exist_ok=True)
        partial = out_zip.with_name(f".{out_zip.name}.{os.getpid()}.tmp")
        try:
            with zipfile.ZipFile(partial, "w") as bundle:
                bundle.writestr(_zip_entry("setup.sh", executable=True), SETUP_SH)
                bundle.writestr(_zip_entry("run_autograder", executable=True), script)
                bundle.writestr(_zip_entry("not-finished.json"), json.dumps(not_finished, indent=2) + "\n")
                bundle.writestr(_zip_entry(f"wheels/{Path(wheel).name}"), Path(wheel).read_bytes())
                for notebook in notebooks:
                    bundle.writestr(_zip_entry(f"solutions/{notebook.name}"), notebook.read_bytes())
            os.replace(partial, out_zip)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return out_zip


# ---- running on Gradescope ---------------------------------------------------------------------


def _submitted_notebooks(submission: Path) -> list[Path]:
    skip = {".ipynb_checkpoints", "__MACOSX"}
    return sorted(
        p
        for p in submission.rglob("*.ipynb")
        if p.is_file() and not skip.intersection(p.relative_to(submission).parts)
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _report_output(report: Report) -> list[str]:
    from grader.report.gradebook import format_number

    score, max_score = format_number(round(report.score, 2)), format_number(report.max_score)
    lines = [f"{report.assignment}: {score} / {max_score} points."]
    lines += [f"Problem: {problem}" for problem in report.problems]
    lines.append(f"Graded by homl-grader {report.grader_version}, seed {report.seed}.")
    return lines


def instructor_log(reports: Sequence[Report]) -> list[str]:
    """What only the instructor reads (run_autograder's stdout): isolation and machine notes."""
    lines = []
    for report in reports:
        lines.append(f"{report.student}/{report.assignment}: isolation {report.sandbox}")
        lines += [f"  note: {note}" for note in report.machine_notes]
    return lines


def results_from_reports(
    reports: Sequence[Report],
    notebooks: dict[str, str],
    *,
    execution_time: float | None = None,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """results.json for the reports of one submission.

    `notebooks` maps a notebook's sha256 to its name as submitted, so each case names the file.
    """
    cases: list[TestCase] = []
    output: list[str] = []
    for report in reports:
        cases += cases_from_report(report, notebooks.get(report.submission_sha256, f"{report.assignment}.ipynb"))
        output += _report_output(report)
    output += list(notes)
    return results_json(cases, execution_time, output="\n".join(output))


def _grade_messages(completed: subprocess.CompletedProcess) -> str:
    """What `grade` said about a notebook it could not grade (its "not graded: ..." lines)."""
    prefix = f"not graded: {STUDENT}: "
    said = [line[len(prefix) :].strip() for line in (completed.stdout or "").splitlines() if line.startswith(prefix)]
    if said:
        return "\n".join(said)
    tail = ((completed.stdout or "") + (completed.stderr or "")).strip()[-1500:]
    return tail or f"grade exited with status {completed.returncode}"


def container_memory_mb(root: Path = Path("/")) -> int | None:
    """The container's memory limit in MiB, from its cgroup (v2, then v1); None when unknown."""
    for path in ("sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            value = (root / path).read_text().strip()
        except OSError:
            continue
        if value.isdigit() and int(value) < 2**50:  # v1 writes a huge number for "no limit"
            return int(value) // 2**20
        return None
    return None


def run_submission(
    submission: Path,
    solutions: Path,
    results_path: Path,
    *,
    sandbox: str = "auto",
    assignment: str | None = None,
    grade_options: Sequence[str] = (),
    work: Path | None = None,
    min_memory_mb: int = MIN_MEMORY_MB,
) -> dict[str, Any]:
    """Grade one Gradescope submission and write results.json; return what was written.

    Never raises for a problem of the submission or of the container: every outcome is a
    results.json a student can read (the details of a crash go to stdout, for the instructor).
    A container with less memory than `min_memory_mb` grades nothing: its kernels would be killed
    and the scores would be the machine's, not the student's.
    """
    started = time.monotonic()
    elapsed = lambda: time.monotonic() - started  # noqa: E731

    def finish(results: dict[str, Any]) -> dict[str, Any]:
        write_results(results, results_path)
        return results

    try:
        notebooks = _submitted_notebooks(Path(submission))
        if not notebooks:
            return finish(
                failure_results(
                    "No Jupyter notebook (.ipynb) was found in your submission. Upload your notebook "
                    f"itself ({assignment or 'ch10'}.ipynb), not a PDF, HTML or Python export.",
                    elapsed(),
                )
            )
        from grader.sandbox.isolation import choose_isolation

        try:
            isolation = choose_isolation(sandbox)
        except GraderError as exc:
            print(f"no isolation for student code in this container: {exc}", flush=True)
            return finish(
                failure_results(
                    "Your notebook was received but NOT graded: the grader runs notebooks only in a "
                    "sandbox, and none can start in this Gradescope container. This is not a problem "
                    "with your work; your instructor has the details and will grade it.",
                    elapsed(),
                )
            )
        print(f"isolation: {isolation}", flush=True)
        memory = container_memory_mb()
        if memory is not None and memory < min_memory_mb:
            print(
                f"this container has {memory} MiB of memory; grading needs {min_memory_mb} MiB (the reference "
                "ch10 notebook, the model evaluator and the grader together): choose a bigger container "
                "in the assignment's Autograder settings, then regrade",
                flush=True,
            )
            return finish(
                failure_results(
                    "Your notebook was received but NOT graded: the autograder's container has too little "
                    "memory to run it. This is not a problem with your work; your instructor has the "
                    "details and will regrade it.",
                    elapsed(),
                )
            )
        with tempfile.TemporaryDirectory(prefix="homl-gradescope-") as temp:
            root = Path(work) if work else Path(temp)
            folder = root / "class" / STUDENT
            folder.mkdir(parents=True, exist_ok=True)
            names: dict[str, str] = {}
            for notebook in notebooks:
                target = folder / notebook.name
                if target.exists():  # same name in two subfolders: keep both
                    target = folder / f"{notebook.stem} ({len(names) + 1}){notebook.suffix}"
                shutil.copy2(notebook, target)
                names.setdefault(_sha256(target), notebook.relative_to(submission).as_posix())
            out = root / "reports"
            command = [
                sys.executable, "-m", "grader.cli", str(folder.parent),
                "--solutions", str(solutions), "--out", str(out), "--sandbox", isolation, "-j", "1",
                *grade_options,
            ]  # fmt: skip
            print("$", shlex.join(command), flush=True)
            env = {**os.environ, "COLUMNS": "10000"}  # rich would wrap its lines at 80 columns
            completed = subprocess.run(command, capture_output=True, text=True, env=env)
            print(completed.stdout, completed.stderr, sep="\n", flush=True)
            from grader.report.files import finished_reports

            reports = [r for r in finished_reports(out) if r.student == STUDENT]
            notes = []
            if assignment:
                notes = [
                    f"{r.assignment}: not graded here (this Gradescope assignment grades {assignment})."
                    for r in reports
                    if r.assignment != assignment
                ]
                reports = [r for r in reports if r.assignment == assignment]
            for line in instructor_log(reports):
                print(line, flush=True)
            if not reports:
                return finish(
                    failure_results(
                        "Your notebook could not be graded:\n" + _grade_messages(completed) + "".join(
                            f"\n{note}" for note in notes
                        ),
                        elapsed(),
                    )
                )
            return finish(results_from_reports(reports, names, execution_time=elapsed(), notes=notes))
    except Exception as exc:  # the grader's own failure: still a results.json
        traceback.print_exc()
        return finish(
            failure_results(
                f"The autograder failed ({type(exc).__name__}: {exc}). Your submission was received: "
                "please tell your instructor.",
                elapsed(),
            )
        )


# ---- command line ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.ci.gradescope_bundle", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write autograder.zip for Gradescope")
    build.add_argument("--solutions", type=Path, default=Path("solutions"), help="solution notebooks [solutions]")
    build.add_argument("--out", type=Path, default=Path("autograder.zip"), help="the zip to write [autograder.zip]")
    build.add_argument("--assignment", help="grade only this assignment, e.g. ch10")
    build.add_argument("--wheel", type=Path, help="a built homl-grader wheel (default: build one from this checkout)")
    build.add_argument("--grade-options", default="", help='extra `grade` options, e.g. "--notebook-timeout 2100"')
    build.add_argument("--timeout", type=float, default=GRADESCOPE_TIMEOUT, help="the autograder timeout set on Gradescope, s [600]")
    build.add_argument("--unsandboxed", action="store_true", help="grade with --sandbox none (unsafe; see README)")
    run = commands.add_parser("run", help="grade one submission (what run_autograder calls)")
    run.add_argument("--submission", type=Path, default=Path(SUBMISSION))
    run.add_argument("--solutions", type=Path, default=Path(SOURCE) / "solutions")
    run.add_argument("--results", type=Path, default=Path(RESULTS))
    run.add_argument("--sandbox", choices=["auto", "bubblewrap", "container", "none"], default="auto")
    run.add_argument("--assignment")
    run.add_argument("--grade-options", default="")
    run.add_argument("--min-memory-mb", type=int, default=MIN_MEMORY_MB)
    args = parser.parse_args(argv)
    options = shlex.split(args.grade_options)
    if args.command == "build":
        path = build_bundle(
            args.solutions,
            args.out,
            wheel=args.wheel,
            assignment=args.assignment,
            unsandboxed=args.unsandboxed,
            timeout=args.timeout,
            grade_options=options,
        )
        print(f"wrote {path}")
        return 0
    results = run_submission(
        args.submission,
        args.solutions,
        args.results,
        sandbox=args.sandbox,
        assignment=args.assignment,
        grade_options=options,
        min_memory_mb=args.min_memory_mb,
    )
    print(json.dumps({"score": results.get("score"), "tests": len(results.get("tests", []))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
