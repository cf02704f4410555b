"""Running jobs: on a local thread pool or on a Dask cluster, results handed back as they finish.

A job is plain data (see grader/cluster/__init__.py); a job function runs it and returns the files
of its run record. Both executors call `on_outcome` once per job, in the client's thread, as soon
as it is over, so Ctrl-C never loses a finished job: `run` then stops what is running and returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

Job = dict[str, Any]
JobFn = Callable[[Job], dict[str, bytes]]

KILLED_WORKERS = "stopped the worker running it {n} times (the process died); not run again"


@dataclass
class Outcome:
    """How one job ended: the run record's files, or why there are none."""

    job_id: str
    files: dict[str, bytes] | None  # {"record.json": ..., ...}; None when the job failed
    error: str = ""  # the grading machine's failure, never a student's score
    killed_workers: bool = False  # the job's process died every time it ran

    @property
    def ok(self) -> bool:
        return self.files is not None


@dataclass
class RunSummary:
    finished: list[str] = field(default_factory=list)  # job ids with a run record
    failed: list[Outcome] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)  # not run or stopped (Ctrl-C)
    refused_workers: dict[str, list[str]] = field(default_factory=dict)  # worker -> why no work
    interrupted: bool = False


class Progress:
    """What executors report to; the rich display implements it (grader/cluster/progress.py)."""

    def start(self, total: int) -> None: ...
    def running(self, n: int) -> None: ...
    def finished(self, outcome: Outcome) -> None: ...


def _failure(job_id: str, exc: BaseException) -> Outcome:
    return Outcome(job_id, None, error=f"{type(exc).__name__}: {str(exc)[:300]}")


def _checked(job_id: str, files: Any) -> Outcome:
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, bytes) for k, v in files.items()):
        return Outcome(job_id, None, error=f"the job function returned {type(files).__name__}, not {{name: bytes}}")
    return Outcome(job_id, files)


def _record(summary: RunSummary, outcome: Outcome) -> None:
    if outcome.ok:
        summary.finished.append(outcome.job_id)
    else:
        summary.failed.append(outcome)


class LocalExecutor:
    """A thread pool in this process (the default route: `-j N`)."""

    def __init__(self, job_fn: JobFn, workers: int, on_interrupt: Callable[[], None] = lambda: None):
        self.job_fn = job_fn
        self.workers = max(1, workers)
        self.on_interrupt = on_interrupt  # stops the jobs running now (kills their sandboxes)

    def run(self, jobs: list[Job], on_outcome: Callable[[Outcome], None], progress: Progress | None = None) -> RunSummary:
        progress = progress or Progress()
        summary = RunSummary()
        progress.start(len(jobs))
        running = [0]
        lock = threading.Lock()

        def one(job: Job) -> dict[str, bytes]:
            with lock:
                running[0] += 1
            try:
                return self.job_fn(job)
            finally:
                with lock:
                    running[0] -= 1

        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="job")
        pending = {pool.submit(one, job): job["id"] for job in jobs}
        try:
            while pending:
                done, _ = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                progress.running(running[0])
                for future in done:
                    job_id = pending.pop(future)
                    try:
                        outcome = _checked(job_id, future.result())
                    except Exception as exc:
                        outcome = _failure(job_id, exc)
                    _record(summary, outcome)
                    on_outcome(outcome)
                    progress.finished(outcome)
        except KeyboardInterrupt:
            summary.interrupted = True
            self.on_interrupt()
            for future in pending:
                future.cancel()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for future, job_id in list(pending.items()):  # finished while stopping: kept all the same
            if future.done() and not future.cancelled() and future.exception() is None:
                outcome = _checked(job_id, future.result())
                if outcome.ok:
                    del pending[future]
                    _record(summary, outcome)
                    on_outcome(outcome)
        summary.unfinished = sorted(pending.values())
        return summary

