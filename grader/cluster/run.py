"""One call for the `grade` command: run a class's jobs locally or on the cluster it names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grader.cluster.address import parse_cluster
from grader.cluster.executor import Job, JobFn, LocalExecutor, Outcome, Progress, RunSummary
from grader.cluster.preflight import worker_preflight


def with_threads(job: Job, threads: int) -> Job:
    """The job with its TensorFlow/BLAS threads set to its worker's share."""
    if "limits" not in job:
        return job
    return {**job, "limits": {**job["limits"], "threads": threads}}


def run_jobs(
    jobs: list[Job],
    job_fn: JobFn,
    on_outcome: Callable[[Outcome], None],
    *,
    cluster: str | None = None,
    local_workers: int = 1,
    threads: int | None = None,
    slurm=None,
    preflight: Callable[..., dict[str, Any]] = worker_preflight,
    preflight_kwargs: dict[str, Any] | None = None,
    progress: Progress | None = None,
    on_interrupt: Callable[[], None] = lambda: None,
    on_cluster: Callable[[str], None] = lambda description: None,
) -> RunSummary:
    """Run every job, calling `on_outcome` as each finishes; see executor.RunSummary.

    cluster: None for a thread pool of `local_workers` here, else a --cluster value
    (local:N, tcp://HOST:PORT, slurm). threads: TensorFlow/BLAS threads per job [default: the
    worker's share of its machine's cores]. Raises ValueError for a bad --cluster value and
    dask_cluster.ClusterError when the cluster cannot start or no worker passes the preflight.
    """
    if cluster is None:
        if threads is not None:
            jobs = [with_threads(job, threads) for job in jobs]
        return LocalExecutor(job_fn, local_workers, on_interrupt).run(jobs, on_outcome, progress)

    address = parse_cluster(cluster)
    from grader.cluster.dask_cluster import open_cluster
    from grader.cluster.dask_executor import DaskExecutor

    with open_cluster(address, threads=threads, slurm=slurm) as opened:
        executor = DaskExecutor(opened, job_fn, preflight, preflight_kwargs)
        on_cluster(opened.description)
        executor.prepare()
        return executor.run([with_threads(job, opened.threads) for job in jobs], on_outcome, progress)


def describe(summary: RunSummary) -> list[str]:
    """Lines for the person running the class: refused workers and jobs that did not run."""
    lines = [f"worker {worker} got no work: {'; '.join(why)}" for worker, why in sorted(summary.refused_workers.items())]
    lines += [f"{outcome.job_id} not run: {outcome.error}" for outcome in summary.failed]
    if summary.interrupted:
        lines.append(f"stopped (Ctrl-C): {len(summary.finished)} finished and kept, {len(summary.unfinished)} left for the next run")
    return lines
