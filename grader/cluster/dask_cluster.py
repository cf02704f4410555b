"""Starting or joining the Dask cluster a `--cluster` value names.

Settings every route shares, and why:
- one thread per worker process: a job owns its process (its kernels, its model evaluator);
- worker processes are not daemonic (`distributed.worker.daemon: False`), so a job may start
  processes of its own by any means, multiprocessing included;
- a job that kills its worker is run again on another one at most twice
  (`distributed.scheduler.allowed-failures: 2`), then reported as killing workers;
- TensorFlow/BLAS threads are pinned to each worker's share of the cores.
An existing scheduler (tcp://) keeps its own settings: start it as the README says.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from grader.cluster.address import ClusterAddress
from grader.cluster.threads import THREAD_VARS, thread_env
from grader.wording import counted

ALLOWED_FAILURES = 2  # retries of a job whose worker died while running it
# the same settings as environment variables, for worker processes started elsewhere (Slurm jobs)
WORKER_ENV = {"DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
SCHEDULER_CONFIG = {
    "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
    "distributed.scheduler.worker-saturation": 1.0,  # no job waits on a busy worker
}


class ClusterError(RuntimeError):
    """The cluster could not be started or reached; the message says why and what to do."""


@dataclass
class SlurmSettings:
    """One Slurm job = `processes` Dask workers sharing `cores` and `memory` for `walltime`.

    Unset values come from dask-jobqueue's own configuration (jobqueue.slurm.* in
    ~/.config/dask/jobqueue.yaml), then from these defaults.
    """

    jobs: int = 1  # Slurm jobs to start
    cores: int | None = None  # per job
    memory: str | None = None  # per job, e.g. "16GB"
    processes: int | None = None  # Dask workers per job [default: cores // threads]
    walltime: str | None = None  # "HH:MM:SS"
    queue: str | None = None  # partition
    account: str | None = None
    job_extra: list[str] = field(default_factory=list)  # more #SBATCH lines, e.g. "--qos=short"
    python: str | None = None  # the Python with homl-grader on the nodes [default: this one]
    log_directory: str | None = None  # the jobs' output files [default: the current folder]


@dataclass
class Cluster:
    client: object  # distributed.Client
    threads: int  # TensorFlow/BLAS threads per job
    workers: int  # worker processes to wait for before the preflight
    description: str


def _local(n: int, threads: int | None) -> tuple[object, int]:
    from distributed import LocalCluster

    cores = len(os.sched_getaffinity(0))
    threads = threads or max(1, cores // n)
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        memory_limit=0,  # the sandboxes' cgroups limit memory; a worker's own RSS is small
        dashboard_address=":0",  # never clash with another cluster on this machine
        silence_logs=logging.ERROR,
        scheduler_kwargs={"allowed_failures": ALLOWED_FAILURES},
        env=thread_env(threads),
    )
    return cluster, threads


def _slurm(settings: SlurmSettings, threads: int | None) -> tuple[object, int, int]:
    import dask
    from dask_jobqueue import SLURMCluster

    cores = settings.cores or dask.config.get("jobqueue.slurm.cores", None) or 1
    threads = threads or 1
    processes = settings.processes or max(1, cores // threads)
    threads = max(1, cores // processes)
    prologue = [f"export {k}={v}" for k, v in {**WORKER_ENV, **thread_env(threads)}.items()]
    kwargs = dict(
        cores=cores,
        processes=processes,
        memory=settings.memory or dask.config.get("jobqueue.slurm.memory", None) or "4GB",
        walltime=settings.walltime,
        queue=settings.queue,
        account=settings.account,
        job_extra_directives=list(settings.job_extra),
        job_script_prologue=prologue,
        python=settings.python,
        log_directory=settings.log_directory,
        scheduler_options={"allowed_failures": ALLOWED_FAILURES, "dashboard_address": ":0"},
        silence_logs=logging.ERROR,
    )
    cluster = SLURMCluster(**{k: v for k, v in kwargs.items() if v is not None})
    cluster.scale(jobs=settings.jobs)
    return cluster, threads, processes * settings.jobs


@contextlib.contextmanager
def open_cluster(address: ClusterAddress, *, threads: int | None = None, slurm: SlurmSettings | None = None) -> Iterator[Cluster]:
    """A connected client for `address`; a cluster started here is shut down on exit."""
    try:
        import dask
        from distributed import Client
    except ImportError:
        raise ClusterError('--cluster needs Dask: pip install "homl-grader[dask]"') from None
    # Dask's nanny sets OMP_NUM_THREADS & co. in this process before spawning workers
    # (distributed.nanny.pre-spawn-environ): put this process's own values back afterwards
    saved_env = {name: os.environ.get(name) for name in THREAD_VARS}
    with dask.config.set({"distributed.worker.daemon": False, **SCHEDULER_CONFIG}):
        cluster = None
        try:
            if address.kind == "local":
                cluster, threads = _local(address.workers, threads)
                client, workers = Client(cluster), address.workers
                description = f"a local Dask cluster of {counted(address.workers, 'worker process', 'worker processes')}"
            elif address.kind == "scheduler":
                try:
                    client = Client(address.address, timeout="20s")
                except OSError as exc:
                    raise ClusterError(f"cannot reach the Dask scheduler at {address.address}: {exc}") from None
                threads, workers = threads or 1, 1
                description = f"the Dask scheduler at {address.address}"
            else:
                settings = slurm or SlurmSettings()
                try:
                    cluster, threads, workers = _slurm(settings, threads)
                except ImportError:
                    raise ClusterError('--cluster slurm needs dask-jobqueue: pip install "homl-grader[dask]"') from None
                client = Client(cluster)
                description = f"{settings.jobs} Slurm job(s) of {workers // settings.jobs} Dask worker(s)"
            try:
                yield Cluster(client, threads, workers, description)
            finally:
                client.close()
        finally:
            if cluster is not None:
                cluster.close()
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
