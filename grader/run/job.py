"""The unit of distributed work: run one submission in its sandbox and return its run record.

A job is plain JSON-able data and holds no key and no label: the assignment's keyless spec, the
submission's folder, the seed and the limits. The worker makes the run plan itself and checks
that its digest is the one the instructor's process computed (same grader, same data), runs the
notebook, and returns the record's files; judging stays in the instructor's process.

    job = {"id": "ben/ch10", "submission": {"student", "assignment", "path", "folder", "sha256"},
           "spec": Assignment.public(), "seed": int, "limits": {...}, "isolation": "bubblewrap",
           "data": <MNIST sha256>, "plan_digest": str}
"""

from __future__ import annotations

import threading
from pathlib import Path

from grader.assign.spec import Assignment
from grader.data import mnist
from grader.notebook.load import read_notebook
from grader.run.plan import make_plan
from grader.run.stage import RunEnvironment, Runner
from grader.sandbox.limits import Limits

_idle: dict[tuple, list[Runner]] = {}  # runners between jobs, by (limits, isolation): their evaluators are kept
_all: list[Runner] = []
_lock = threading.Lock()


class PlanMismatch(RuntimeError):
    """The worker would run another plan than the instructor's: another grader version or data."""


def make_job(submission, spec: Assignment, seed: int, limits: Limits, isolation: str, data: str, plan_digest: str) -> dict:
    return {
        "id": f"{submission.student}/{submission.assignment}",
        "submission": {"student": submission.student, "assignment": submission.assignment,
                       "path": submission.path, "folder": submission.folder, "sha256": submission.sha256},
        "spec": spec.public(),
        "seed": seed,
        "limits": {name: getattr(limits, name) for name in Limits.__dataclass_fields__},
        "isolation": isolation,
        "data": data,
        "plan_digest": plan_digest,
    }


def _new_runner(limits: Limits, isolation: str) -> Runner:
    files = mnist.sandbox_files(mnist.active())
    runner = Runner(RunEnvironment(limits, isolation != "none", files.notebook_npz, files.test_images, files.sealed_images, isolation))
    with _lock:
        _all.append(runner)
    return runner


def _take_runner(limits: Limits, isolation: str) -> Runner:
    with _lock:
        idle = _idle.get((limits, isolation))
        if idle:
            return idle.pop()
    return _new_runner(limits, isolation)


def _give_back(runner: Runner, limits: Limits, isolation: str) -> None:
    with _lock:
        _idle.setdefault((limits, isolation), []).append(runner)


def preflight_runner(limits: Limits, isolation: str) -> None:
    """The sandbox preflight on this worker, as its jobs will run (same limits and isolation);
    the runner that passed it, evaluator started, waits for the first job. GraderError if not."""
    runner = _new_runner(limits, isolation)
    try:
        runner.preflight()
    except BaseException:
        close_runner(runner)
        raise
    _give_back(runner, limits, isolation)


def close_runner(runner: Runner) -> None:
    with _lock:
        if runner in _all:
            _all.remove(runner)
        for idle in _idle.values():
            if runner in idle:
                idle.remove(runner)
    runner.close()


def close_runners() -> None:
    with _lock:
        runners = list(_all)
    for runner in runners:
        close_runner(runner)


def run_job(job: dict) -> dict[str, bytes]:
    """Run one submission in its sandbox; return the files of its run record."""
    submission = job["submission"]
    spec = Assignment.from_public(job["spec"])
    limits = Limits(**job["limits"])
    copy = mnist.active()
    if copy.sha256 != job["data"]:
        raise PlanMismatch(f"this worker's MNIST copy is {copy.sha256[:12]}, the instructor's {job['data'][:12]}")
    nb = read_notebook(Path(submission["path"]))
    plan = make_plan(
        spec, nb, mode="grade", seed=job["seed"], student=submission["student"], limits=limits,
        isolation=job["isolation"], data=job["data"],
    )
    if plan.digest() != job["plan_digest"]:
        raise PlanMismatch("this worker makes another run plan than the instructor's (another grader version?)")
    runner = _take_runner(limits, job["isolation"])
    try:
        record = runner.run({**submission, "file": Path(submission["path"]).name}, nb, plan)
    except BaseException:
        close_runner(runner)  # it may be halfway through a notebook: never reused
        raise
    _give_back(runner, limits, job["isolation"])
    return record.to_files()
