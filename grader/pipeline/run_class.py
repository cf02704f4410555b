"""Grading a whole class: submissions in parallel, each report written as soon as it is done.

Resuming: a submission whose report exists for the same notebook (same sha256) is not graded
again, so a run killed midway and started again finishes only the rest. Two runs on one output
folder at once are refused (a lock file), never mixed.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader.notebook.match import find_submissions
from grader.pipeline.grade_submission import Interrupted, Worker
from grader.pipeline.settings import RunSettings
from grader.records import Report, Submission
from grader.report import (
    finished_reports,
    read_report_json,
    read_reports,
    report_paths,
    write_class_report,
    write_gradebook,
    write_intake,
    write_report_html,
    write_report_json,
    write_summary,
)

LOCK_NAME = ".grade.lock"


class OutputBusy(RuntimeError):
    pass


@dataclass
class ClassRun:
    graded: list[Report] = field(default_factory=list)  # graded in this run
    reused: list[Submission] = field(default_factory=list)  # finished in an earlier run
    ungraded: list[tuple[str, str]] = field(default_factory=list)  # (student, reason)
    unfinished: list[Submission] = field(default_factory=list)  # left for the next run (interrupted)
    reports: list[Report] = field(default_factory=list)  # every finished report in the folder
    interrupted: bool = False
    total: int = 0


class _Lock:
    def __init__(self, out: Path):
        out.mkdir(parents=True, exist_ok=True)
        self.file = open(out / LOCK_NAME, "w")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise OutputBusy(f"another `grade` run is writing to {out}; wait for it to finish") from None
        self.file.write(str(os.getpid()))
        self.file.flush()

    def release(self) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def _already_graded(out: Path, submission: Submission) -> bool:
    json_path, _ = report_paths(out, submission.student, submission.assignment)
    try:
        return read_report_json(json_path).submission_sha256 == submission.sha256
    except Exception:
        return False


def grade_class(
    root: Path,
    out: Path,
    settings: RunSettings,
    jobs: int,
    on_start: Callable[[int, int], None] = lambda total, reused: None,
    on_done: Callable[[Report], None] = lambda report: None,
) -> ClassRun:
    lock = _Lock(out)
    run = ClassRun()
    staging = tempfile.TemporaryDirectory(prefix="homl-grader-intake-")  # an export's per-student copies
    try:
        intake = find_submissions(root, set(settings.specs), Path(staging.name))
        submissions, run.ungraded = intake.submissions, intake.ungraded
        todo = []
        for submission in submissions:
            (run.reused if _already_graded(out, submission) else todo).append(submission)
        run.total = len(submissions)
        on_start(len(submissions), len(run.reused))
        local = threading.local()
        workers: list[Worker] = []
        workers_lock = threading.Lock()
        written: list[Report] = []  # by the workers, also those that finished while stopping

        def grade_one(submission: Submission) -> Report:
            if not hasattr(local, "worker"):
                with workers_lock:
                    if run.interrupted:  # a queued job that started while stopping
                        raise Interrupted()
                    local.worker = Worker(settings)
                    workers.append(local.worker)
            report, executed = local.worker.grade(submission)
            # HTML first: the JSON is the mark of a finished submission
            write_report_html(out, report, executed)
            write_report_json(out, report)
            written.append(report)
            return report

        pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="grade")
        pending = {pool.submit(grade_one, s) for s in todo}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    report = future.result()
                    run.graded.append(report)
                    on_done(report)
        except KeyboardInterrupt:
            # stop now: the notebooks being graded are killed and get no report; a rerun grades them
            with workers_lock:
                run.interrupted = True
                for worker in workers:
                    worker.cancel()
            for future in pending:
                future.cancel()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for worker in workers:
                worker.close()
        run.graded = list(written)
        finished = {(r.student, r.assignment) for r in written}
        run.unfinished = [s for s in todo if (s.student, s.assignment) not in finished]
        run.reports = finished_reports(out)
        write_intake(out, intake.source, intake.submissions, intake.ungraded, intake.unused)
        write_gradebook(out, run.reports, intake.submissions, intake.ungraded)
        write_summary(out, run.reports, run.ungraded, intake.submissions)
        write_class_report(out, read_reports(out), intake.submissions, intake.ungraded)
        return run
    finally:
        lock.release()
        staging.cleanup()
