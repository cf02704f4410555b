"""Running jobs on a Dask cluster: preflight every worker, then one job per worker at a time.

A job asks for the `grader` resource, which only workers that passed the preflight offer, so a
refused worker never runs one. A worker that dies mid-job (killed, out of memory, node lost)
costs nothing: the scheduler runs the job again on another worker, at most twice
(dask_cluster.ALLOWED_FAILURES); a job that kills its worker every time ends as KilledWorker
and is reported as such. Jobs and run records travel between the client and the workers
directly; the scheduler only sees small job dicts.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from distributed import as_completed
from distributed.scheduler import KilledWorker

from grader.cluster.dask_cluster import ALLOWED_FAILURES, Cluster, ClusterError
from grader.cluster.executor import KILLED_WORKERS, Job, JobFn, Outcome, Progress, RunSummary, _checked, _failure, _record
from grader.cluster.plugin import RESOURCE, GraderWorkerPlugin, preflight_of
from grader.cluster.preflight import own_facts, worker_preflight

WORKERS_TIMEOUT = 600.0  # seconds to wait for the first workers (Slurm jobs may queue)
NO_WORKER_TIMEOUT = 900.0  # stop when no worker may run jobs for this long


def _scheduler_state(dask_scheduler) -> tuple[int, int]:
    """(jobs running, workers that passed the preflight), read on the scheduler."""
    running = able = 0
    for ws in dask_scheduler.workers.values():
        running += min(len(ws.processing), ws.nthreads)
        able += bool(ws.resources.get(RESOURCE))
    return running, able


class DaskExecutor:
    def __init__(
        self,
        cluster: Cluster,
        job_fn: JobFn,
        preflight: Callable[..., dict[str, Any]] = worker_preflight,
        preflight_kwargs: dict[str, Any] | None = None,
        workers_timeout: float = WORKERS_TIMEOUT,
    ):
        self.cluster = cluster
        self.client = cluster.client
        self.job_fn = job_fn
        self.preflight = preflight
        self.preflight_kwargs = preflight_kwargs or {}
        self.workers_timeout = workers_timeout
        self.refused: dict[str, list[str]] = {}

    def prepare(self) -> list[str]:
        """Preflight every worker; the addresses of those that passed. ClusterError when none did."""
        own = own_facts()
        try:
            self.client.wait_for_workers(self.cluster.workers, timeout=self.workers_timeout)
        except TimeoutError:
            if not self.client.scheduler_info()["workers"]:
                raise ClusterError(f"no Dask worker joined {self.cluster.description} within {self.workers_timeout:.0f} s") from None
        plugin = GraderWorkerPlugin(self.preflight, self.preflight_kwargs, own, self.cluster.threads)
        try:
            self.client.register_plugin(plugin)
        except Exception:  # a worker died during its preflight; the scheduler still gives the plugin to every worker
            pass
        deadline = time.monotonic() + self.workers_timeout
        while True:
            passed, waiting = self._collect_preflights()
            if passed or not waiting or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        if not passed:
            lines = "\n".join(f"  {w}: {'; '.join(why)}" for w, why in sorted(self.refused.items()))
            raise ClusterError(f"no worker of {self.cluster.description} passed the preflight:\n{lines or '  (none answered)'}")
        return passed

    def _collect_preflights(self) -> tuple[list[str], int]:
        """(workers that passed, workers still running their preflight); refusals go to self.refused."""
        passed, waiting = [], 0
        try:
            results = self.client.run(preflight_of)
        except Exception:  # a worker died while asked: ask again later
            return [], 1
        for address, result in results.items():
            if result is None:
                waiting += 1  # its preflight is still running, or it joined after the plugin
            elif result["refused"]:
                self.refused[f"{address} ({result.get('host', '')})"] = result["refused"]
            else:
                passed.append(address)
        return passed, waiting

    def run(self, jobs: list[Job], on_outcome: Callable[[Outcome], None], progress: Progress | None = None) -> RunSummary:
        progress = progress or Progress()
        summary = RunSummary()
        progress.start(len(jobs))
        token = uuid.uuid4().hex[:8]
        futures = {
            self.client.submit(self.job_fn, job, key=f"grade-{job['id']}-{token}", pure=False, resources={RESOURCE: 1}): job["id"]
            for job in jobs
        }
        pending = dict(futures)
        stop = threading.Event()
        stalled: list[str] = []
        watcher = threading.Thread(target=self._watch, args=(progress, stop, stalled, pending), daemon=True)
        watcher.start()
        try:
            completed = as_completed(list(futures))
            while not completed.is_empty():
                batch = completed.next_batch(block=False)
                if stalled:
                    raise ClusterError(stalled[0])
                if not batch:
                    time.sleep(0.2)
                for future in batch:
                    outcome = self._outcome(future, pending.pop(future))
                    future.release()
                    _record(summary, outcome)
                    on_outcome(outcome)
                    progress.finished(outcome)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            stop.set()
            if pending:
                self._keep_finished(pending, summary, on_outcome)
                self.client.cancel(list(pending), force=True)
            summary.unfinished = sorted(pending.values())
            try:
                self._collect_preflights()
            except Exception:
                pass  # the cluster is going away; the refusals seen so far stand
            summary.refused_workers = dict(self.refused)
        return summary

    @staticmethod
    def _outcome(future, job_id: str) -> Outcome:
        if future.status == "finished":
            try:
                return _checked(job_id, future.result())
            except Exception as exc:  # the result could not be fetched from its worker
                return _failure(job_id, exc)
        exc = future.exception()
        if isinstance(exc, KilledWorker):
            return Outcome(job_id, None, KILLED_WORKERS.format(n=ALLOWED_FAILURES + 1), killed_workers=True)
        return _failure(job_id, exc)

    def _keep_finished(self, pending: dict, summary: RunSummary, on_outcome: Callable[[Outcome], None]) -> None:
        for future, job_id in list(pending.items()):
            if future.status == "finished":
                try:
                    outcome = _checked(job_id, future.result(timeout=10))
                except Exception:
                    continue
                if outcome.ok:
                    del pending[future]
                    _record(summary, outcome)
                    on_outcome(outcome)

    def _watch(self, progress: Progress, stop: threading.Event, stalled: list[str], pending: dict) -> None:
        """Every 2 s: how many jobs run; whether any worker may still run them."""
        since = time.monotonic()
        while not stop.wait(2.0):
            try:
                running, able = self.client.run_on_scheduler(_scheduler_state)
            except Exception:
                continue
            progress.running(running)
            if able or not pending:
                since = time.monotonic()
            elif time.monotonic() - since > NO_WORKER_TIMEOUT and not stalled:
                stalled.append(f"no worker of {self.cluster.description} may run jobs for {NO_WORKER_TIMEOUT:.0f} s "
                               f"(refused: {self.refused or 'none'}); {len(pending)} jobs left")
