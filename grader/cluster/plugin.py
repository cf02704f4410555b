"""What every Dask worker does when it joins: pin its threads, run the preflight, and only then
offer the `grader` resource that every job asks for, so a refused worker never gets a job.

Workers that join later (a restarted worker, a Slurm job that started late) run the same setup:
Dask hands registered plugins to every new worker.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from typing import Any

from distributed import WorkerPlugin

from grader.cluster.preflight import refusals
from grader.cluster.threads import thread_env

RESOURCE = "grader"  # one per worker process: a job takes it for its whole run


class GraderWorkerPlugin(WorkerPlugin):
    name = "homl-grader"

    def __init__(self, preflight: Callable[..., dict[str, Any]], preflight_kwargs: dict[str, Any], own: dict[str, Any], threads: int):
        self.preflight = preflight
        self.preflight_kwargs = preflight_kwargs
        self.own = own  # the client's own preflight: what every worker must match
        self.threads = threads

    async def setup(self, worker) -> None:
        os.environ.update(thread_env(self.threads))
        try:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(None, functools.partial(self.preflight, **self.preflight_kwargs))
            result["refused"] = refusals(self.own, result)
        except Exception as exc:  # a preflight that crashes refuses its worker, it does not kill it
            result = {"host": "", "pid": os.getpid(), "refused": [f"the preflight failed: {type(exc).__name__}: {exc}"]}
        worker.homl_grader_preflight = result
        if not result["refused"]:
            await worker.set_resources(**{RESOURCE: 1})


    def teardown(self, worker) -> None:
        from grader.run.job import close_runners

        close_runners()  # the kept evaluators, and each runner's scratch folder


def preflight_of(dask_worker) -> dict[str, Any] | None:
    """Run on each worker by the client (`client.run`): the result its plugin kept."""
    return getattr(dask_worker, "homl_grader_preflight", None)
