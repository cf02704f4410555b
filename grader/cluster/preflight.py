"""The check a worker passes before it gets work, and the client's verdict on it.

`worker_preflight()` runs on each worker: it sweeps what killed workers left, runs the local
sandbox preflight with the class's limits (keeping that runner for the first job), and says
which grader version and MNIST copy it has and whether it can read the submissions. The client
compares that with its own (`own_facts`, `refusals`): a worker whose grader or MNIST differs
would grade differently, so it gets no work.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import grader


def sandbox_problem(isolation: str, limits: dict[str, Any] | None = None) -> str | None:
    """None when this machine can run notebooks with `isolation` and `limits` (Limits' fields;
    default: the defaults), else why not: the local run's own preflight (a kernel and the
    evaluator in the real sandbox). The runner that passed it is kept for this worker's jobs."""
    from grader.run.job import preflight_runner
    from grader.sandbox.limits import Limits

    try:
        preflight_runner(Limits(**(limits or {})), isolation)
    except Exception as exc:  # GraderError: its message says why and what to do
        return str(exc)
    return None


def worker_preflight(isolation: str = "bubblewrap", submissions: str | None = None, limits: dict[str, Any] | None = None) -> dict[str, Any]:
    """What this process can do and has: plain data, sent back to the client."""
    from grader.sandbox.cleanup import sweep_leftovers

    sweep_leftovers()  # what workers killed on this machine left (folders, mounts, cgroups)
    facts = worker_facts(submissions)
    if why := sandbox_problem(isolation, limits):
        facts["problems"].insert(0, why)
    return facts


def worker_facts(submissions: str | None = None) -> dict[str, Any]:
    """The worker's grader version and MNIST copy, and whether it can read the submissions."""
    from grader.data import mnist

    problems = []
    try:
        mnist_sha256 = mnist.active().sha256
    except Exception as exc:  # MnistError, or a broken data folder
        mnist_sha256 = ""
        problems.append(f"no usable MNIST copy: {exc}")
    if submissions is not None and not os.access(submissions, os.R_OK | os.X_OK):
        problems.append(f"cannot read the submissions at {submissions} (is it on a shared filesystem?)")
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "grader_version": grader.__version__,
        "mnist_sha256": mnist_sha256,
        "problems": problems,
    }


def own_facts() -> dict[str, Any]:
    """What every worker must match: this process's grader version and MNIST copy (no sandbox
    started here: the client judges, the workers run)."""
    from grader.data import mnist

    return {"grader_version": grader.__version__, "mnist_sha256": mnist.active().sha256}


def refusals(own: dict[str, Any], worker: dict[str, Any]) -> list[str]:
    """Why a worker must get no work (empty: it may grade). `own` is the client's own_facts()."""
    reasons = list(worker.get("problems", []))
    if worker.get("grader_version") != own["grader_version"]:
        reasons.append(f"grader {worker.get('grader_version')} there, {own['grader_version']} here")
    if worker.get("mnist_sha256") and worker["mnist_sha256"] != own["mnist_sha256"]:
        reasons.append(
            f"MNIST copy {worker['mnist_sha256'][:12]}... there, {own['mnist_sha256'][:12]}... here "
            "(run `grade data status` on both)"
        )
    return reasons
