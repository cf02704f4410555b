"""The cluster route of a class run: what run_class._run_all does on this machine, done by the
workers of a Dask cluster. The instructor's process makes the jobs (keyless), receives each run
record as it finishes, stores it and judges it at once; keys and labels never leave it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from dataclasses import dataclass, field

from grader.cluster.executor import JobFn, Outcome, Progress
from grader.cluster.run import describe, run_jobs


@dataclass
class ClusterOptions:
    cluster: str  # a --cluster value: local:N, tcp://HOST:PORT, slurm
    threads: int | None = None  # TensorFlow/BLAS threads per job [default: the worker's share]
    slurm: object = None  # dask_cluster.SlurmSettings for --cluster slurm
    job_fn: JobFn | None = None  # [default: grader.run.job.run_job]
    progress: Progress | None = None  # done / running / failed / time left
    notes: list[str] = field(default_factory=list)  # filled: refused workers, jobs not run, Ctrl-C
    on_cluster: Callable[[str], None] = lambda description: None


def run_on_cluster(todo, grader_, settings, run, on_done, options: ClusterOptions) -> list:
    """Run `todo` [(submission, notebook, plan, record name)] on the cluster; judge each record as it
    arrives. Same contract as run_class._run_all: returns the reports written, sets
    run.interrupted and run.unfinished."""
    from grader.run.job import make_job, run_job
    from grader.run.record import RunRecord

    entries, jobs = {}, []
    for submission, _nb, plan, name in todo:
        job = make_job(submission, settings.specs[submission.assignment], grader_.seed, settings.limits,
                       grader_.isolation, settings.data_sha256, plan.digest())
        entries[job["id"]] = (submission, name)
        jobs.append(job)
    written = []

    def on_outcome(outcome: Outcome) -> None:
        submission, name = entries[outcome.job_id]
        if not outcome.ok:  # the grading machine failed: "not graded", run again next time
            report = grader_.record_failure(submission, outcome.error)
        else:
            try:
                record = RunRecord.from_files(outcome.files)
                path = record.write(grader_.runs)
                grader_.store.add_run(name, submission.sha256, record.data["plan_digest"], str(path), record.data["duration_s"])
                report = grader_.judge(submission, name, record, path, force=True)
            except Exception as exc:  # a broken record or a grader bug: this submission only
                report = grader_.record_failure(submission, f"{type(exc).__name__}: {str(exc)[:200]}")
        written.append(report)
        on_done(report)

    summary = run_jobs(
        jobs, options.job_fn or run_job, on_outcome,
        cluster=options.cluster, threads=options.threads, slurm=options.slurm,
        preflight_kwargs={"isolation": grader_.isolation, "submissions": _common_folder(todo),
                          "limits": {name: getattr(settings.limits, name) for name in type(settings.limits).__dataclass_fields__}},
        progress=options.progress, on_cluster=options.on_cluster,
    )
    options.notes.extend(describe(summary))
    run.interrupted = summary.interrupted
    left = set(summary.unfinished)
    run.unfinished = [s for s, *_ in todo if f"{s.student}/{s.assignment}" in left]
    return written


def _common_folder(todo) -> str | None:
    """The folder holding every submission to run (an export's are copies beside the reports):
    what each worker must be able to read."""
    import os

    folders = [str(Path(submission.folder).resolve()) for submission, *_ in todo]
    return os.path.commonpath(folders) if folders else None
