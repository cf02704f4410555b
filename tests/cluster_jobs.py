"""Stand-in job functions for the cluster tests: real kernels (nbclient) and real processes,
returning run-record-like files. Importable by Dask worker processes (tests/ is on their path)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import nbformat


def notebook_job(job: dict) -> dict[str, bytes]:
    """Run the submission's notebook in a kernel started by this (worker) process."""
    from nbclient import NotebookClient

    nb = nbformat.read(job["submission"]["path"], as_version=4)
    with tempfile.TemporaryDirectory() as work:
        env_marker = job.get("plan", {}).get("marker_dir")
        if env_marker:  # the test sees that this job has started, and in which process
            Path(env_marker, f"{job['id'].replace('/', '_')}.{os.getpid()}").touch()
        NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": work}}).execute()
    outputs = [
        "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        for cell in nb.cells
        if cell.cell_type == "code"
    ]
    record = {"id": job["id"], "outputs": outputs, "limits": job.get("limits", {})}
    return {"record.json": json.dumps(record).encode(), "executed.ipynb": nbformat.writes(nb).encode()}


def sleep_job(job: dict) -> dict[str, bytes]:
    time.sleep(job["plan"].get("sleep", 0.0))
    return {"record.json": json.dumps({"id": job["id"], "pid": os.getpid()}).encode()}


def failing_job(job: dict) -> dict[str, bytes]:
    raise RuntimeError(f"the grader broke on {job['id']}")


def judge(files: dict[str, bytes]) -> dict:
    """A stand-in judge: a report dict from a stand-in record (times included, to be dropped)."""
    record = json.loads(files["record.json"])
    student, assignment = record["id"].split("/")
    outputs = [text for text in record["outputs"] if not text.startswith("env:")]  # the machine, not the student
    score = sum(1 for text in outputs if text.strip().endswith("ok"))
    return {
        "student": student,
        "assignment": assignment,
        "score": score,
        "max_score": len(outputs),
        "items": [{"id": f"{assignment}.q{i}", "feedback": text} for i, text in enumerate(outputs)],
        "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "duration_s": time.monotonic() % 7,
    }


def _in_worker() -> bool:
    """True in a Dask worker process (spawned), False in the test's own process."""
    import multiprocessing

    return multiprocessing.parent_process() is not None


def facts_preflight(**_) -> dict:
    """The worker preflight without its sandbox half: the stand-in jobs start no sandbox."""
    from grader.cluster.preflight import worker_facts

    return worker_facts()


def refuse_first_preflight(flag_dir: str) -> dict:
    """The preflight's facts, except that the first worker to run it (a file, O_EXCL) fails it."""
    result = facts_preflight()
    if not _in_worker():
        return result  # the client's own preflight
    try:
        fd = os.open(os.path.join(flag_dir, "refused"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return result
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    result["problems"].append("test: this worker cannot sandbox")
    return result


def other_version_preflight() -> dict:
    result = facts_preflight()
    if _in_worker():  # the client keeps its own version
        result["grader_version"] = "0.0.0-other"
    return result
