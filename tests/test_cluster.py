"""Grading on a Dask cluster: the same results as the local pool, workers that die or fail their
preflight cost no grade, Ctrl-C keeps what finished. Jobs here are stand-ins (tests/cluster_jobs.py)
that run real notebooks in real kernels started by the Dask worker processes."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import cluster_jobs
from grader.cluster.address import ClusterAddress, parse_cluster
from grader.cluster.canonical import canonical_report, canonical_reports
from grader.cluster.executor import LocalExecutor
from grader.cluster.preflight import own_facts, refusals, worker_facts
from grader.cluster.run import run_jobs
from grader.cluster.shards import parse_shard, shard

# --- pure parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_shards_hold_every_id_exactly_once(n):
    ids = [f"student{i:03d}/ch{10 + i % 2 * 4}" for i in range(20)]
    shards = [shard(reversed(ids), k, n) for k in range(1, n + 1)]
    flat = [i for s in shards for i in s]
    assert sorted(flat) == sorted(ids) and len(flat) == len(set(flat))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert shards == [shard(ids, k, n) for k in range(1, n + 1)]  # input order does not matter


@pytest.mark.parametrize("text", ["0/3", "4/3", "2-3", "2/", "a/b"])
def test_bad_shard_is_refused_with_the_form(text):
    with pytest.raises(ValueError, match="K"):
        parse_shard(text)


def test_cluster_addresses():
    assert parse_cluster("local:4") == ClusterAddress("local", workers=4)
    assert parse_cluster("tcp://head:8786") == ClusterAddress("scheduler", address="tcp://head:8786")
    assert parse_cluster("slurm") == ClusterAddress("slurm")
    for bad in ("local:0", "local", "head:8786", "tcp://head", "pbs"):
        with pytest.raises(ValueError):
            parse_cluster(bad)


def test_canonical_report_drops_times_and_nothing_else():
    report = {"student": "ada", "assignment": "ch10", "score": 3.5, "graded_at": "2026-01-01T00:00:00",
              "duration_s": 12.3, "items": [{"id": "ch10.q1", "parts": [{"details": {"accuracy": 0.98}}]}]}
    later = {**report, "graded_at": "2026-02-02T00:00:00", "duration_s": 99.0}
    assert canonical_report(report) == canonical_report(later)
    assert canonical_report(report) != canonical_report({**report, "score": 3.0})
    changed = json.loads(json.dumps(report))
    changed["items"][0]["parts"][0]["details"]["accuracy"] = 0.97
    assert canonical_report(report) != canonical_report(changed)
    assert "graded_at" not in canonical_report(report) and "duration_s" not in canonical_report(report)


def test_a_worker_with_another_grader_or_mnist_is_refused():
    own = own_facts()
    assert refusals(own, worker_facts()) == []
    assert "grader 9.9 there" in refusals(own, {**own, "grader_version": "9.9"})[0]
    assert "MNIST copy" in refusals(own, {**own, "mnist_sha256": "0" * 64})[0]
    assert refusals(own, {**own, "problems": ["bubblewrap is not installed"]}) == ["bubblewrap is not installed"]


def test_preflight_says_when_the_submissions_are_unreadable(tmp_path):
    result = worker_facts(submissions=str(tmp_path / "absent"))
    assert any("cannot read the submissions" in p for p in result["problems"])
    assert result["mnist_sha256"] and result["grader_version"]


# --- a small class of real notebooks ------------------------------------------------------------


def _class(root: Path, students: int, extra_cells: dict[str, list[str]] | None = None) -> list[dict]:
    """Student notebooks and their jobs; cell outputs depend on the student, never on the run."""
    jobs = []
    for i in range(students):
        student = f"s{i:02d}"
        cells = [f"print({i} * 7, 'ok')", "import os\nprint('env:', os.environ.get('OMP_NUM_THREADS'), os.environ.get('SLURM_JOB_ID'))",
                 f"print('even ok' if {i} % 2 == 0 else 'odd')"]
        cells += (extra_cells or {}).get(student, [])
        folder = root / student
        folder.mkdir(parents=True)
        nb = new_notebook(cells=[new_code_cell(c) for c in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / "ch10.ipynb")
        jobs.append({"id": f"{student}/ch10", "submission": {"student": student, "assignment": "ch10",
                     "path": str(folder / "ch10.ipynb"), "folder": str(folder)},
                     "plan": {"marker_dir": str(root.parent / "markers")}, "limits": {"threads": 1}})
    (root.parent / "markers").mkdir(exist_ok=True)
    return jobs


def _markers(tmp_path: Path, job_id: str) -> list[int]:
    """PIDs of the worker processes that started the job, one per attempt."""
    prefix = job_id.replace("/", "_") + "."
    return [int(p.name[len(prefix):]) for p in (tmp_path / "markers").glob(prefix + "*")]


def _reports(outcomes) -> dict[str, str]:
    return canonical_reports(cluster_jobs.judge(o.files) for o in outcomes if o.ok)


def _ctrl_c_after(n: int):
    """(outcomes received, a callback that keeps them and sends this process SIGINT after the n-th)."""
    got = []

    def on_outcome(outcome):
        got.append(outcome)
        if len(got) == n:
            threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()

    return got, on_outcome


def test_local_pool_keeps_what_finished_on_ctrl_c(tmp_path):
    jobs = [{"id": f"s{i}/ch10", "plan": {"sleep": 0.6}} for i in range(8)]
    got, on_outcome = _ctrl_c_after(2)
    summary = LocalExecutor(cluster_jobs.sleep_job, 2).run(jobs, on_outcome)
    assert summary.interrupted
    assert sorted(o.job_id for o in got) == sorted(summary.finished) and len(got) >= 2
    assert sorted(summary.finished + summary.unfinished) == sorted(j["id"] for j in jobs)
    assert summary.unfinished, "Ctrl-C should have left jobs unrun"


# --- Dask ----------------------------------------------------------------------------------------

dask_tests = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]


@pytest.fixture(scope="module")
def local2():
    """One LocalCluster of 2 worker processes, preflighted, shared by the tests below."""
    pytest.importorskip("distributed")
    from grader.cluster.dask_cluster import open_cluster
    from grader.cluster.dask_executor import DaskExecutor

    with open_cluster(parse_cluster("local:2")) as cluster:
        # the stand-in jobs run no sandbox; the sandbox preflight is tested with the real run_job
        executor = DaskExecutor(cluster, cluster_jobs.notebook_job, preflight=cluster_jobs.facts_preflight)
        assert len(executor.prepare()) == 2 and executor.refused == {}
        yield executor


def _run(executor, jobs, job_fn=cluster_jobs.notebook_job):
    executor.job_fn = job_fn
    got = []
    summary = executor.run(jobs, got.append)
    return summary, got


@pytest.mark.slow
def test_local_cluster_grades_like_the_local_pool(tmp_path, local2):
    jobs = _class(tmp_path / "class", 4)
    serial = []
    LocalExecutor(cluster_jobs.notebook_job, 1).run(jobs, serial.append)
    summary, got = _run(local2, jobs)
    assert summary.failed == [] and len(got) == 4
    assert _reports(got) == _reports(serial)
    # the kernels were started by the workers, with TensorFlow/BLAS pinned to their share (1 of 2 cores)
    record = json.loads(got[0].files["record.json"])
    assert record["outputs"][1].split()[:2] == ["env:", "1"]
    assert set(got[0].files) == {"record.json", "executed.ipynb"}


@pytest.mark.slow
def test_worker_killed_mid_notebook_costs_no_grade(tmp_path, local2):
    jobs = _class(tmp_path / "class", 3, {"s01": ["import time\ntime.sleep(6)\nprint('slept ok')"]})
    victim = "s01/ch10"

    def kill_first_attempt():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _markers(tmp_path, victim):
            time.sleep(0.1)
        time.sleep(2.0)  # inside the notebook's sleep cell
        os.kill(_markers(tmp_path, victim)[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_first_attempt)
    killer.start()
    summary, got = _run(local2, jobs)
    killer.join()
    assert summary.failed == [] and sorted(summary.finished) == sorted(j["id"] for j in jobs)
    assert len(set(_markers(tmp_path, victim))) == 2  # ran again in another worker process
    record = json.loads(next(o for o in got if o.job_id == victim).files["record.json"])
    assert record["outputs"][-1].strip() == "slept ok"


@pytest.mark.slow
def test_a_notebook_that_kills_its_worker_every_time_is_reported_not_retried_forever(tmp_path, local2):
    killer_cell = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos._exit(0)"
    jobs = _class(tmp_path / "class", 2, {"s00": [killer_cell]})
    summary, got = _run(local2, jobs)
    assert summary.finished == ["s01/ch10"]
    (failed,) = summary.failed
    assert failed.job_id == "s00/ch10" and failed.killed_workers and "not run again" in failed.error
    assert len(_markers(tmp_path, "s00/ch10")) == 3  # the first run and 2 retries, no more


@pytest.mark.slow
def test_ctrl_c_stops_the_cluster_run_and_keeps_every_finished_result(tmp_path, local2):
    jobs = [{"id": f"s{i}/ch10", "plan": {"sleep": 1.0}} for i in range(10)]
    got, on_outcome = _ctrl_c_after(2)
    local2.job_fn = cluster_jobs.sleep_job
    summary = local2.run(jobs, on_outcome)
    assert summary.interrupted and summary.failed == []
    assert sorted(o.job_id for o in got) == sorted(summary.finished) and len(got) >= 2
    assert sorted(summary.finished + summary.unfinished) == sorted(j["id"] for j in jobs)
    assert summary.unfinished


@pytest.mark.slow
def test_a_worker_that_fails_its_preflight_gets_no_work(tmp_path):
    pytest.importorskip("distributed")
    (tmp_path / "flag").mkdir()
    jobs = [{"id": f"s{i}/ch10", "plan": {"sleep": 0.2}} for i in range(6)]
    got = []
    summary = run_jobs(jobs, cluster_jobs.sleep_job, got.append, cluster="local:2",
                       preflight=cluster_jobs.refuse_first_preflight, preflight_kwargs={"flag_dir": str(tmp_path / "flag")})
    refused_pid = int((tmp_path / "flag" / "refused").read_text())
    assert len(summary.finished) == 6
    pids = {json.loads(o.files["record.json"])["pid"] for o in got}
    assert len(pids) == 1 and refused_pid not in pids
    (why,) = summary.refused_workers.values()
    assert why == ["test: this worker cannot sandbox"]


@pytest.mark.slow
def test_no_worker_passing_the_preflight_stops_the_run_saying_which_and_why(tmp_path):
    pytest.importorskip("distributed")
    from grader.cluster.dask_cluster import ClusterError

    with pytest.raises(ClusterError) as error:
        run_jobs([{"id": "s0/ch10", "plan": {}}], cluster_jobs.sleep_job, lambda o: None, cluster="local:2",
                 preflight=cluster_jobs.other_version_preflight)
    message = str(error.value)
    assert "no worker" in message and message.count("grader 0.0.0-other there") == 2


@pytest.mark.slow
def test_an_existing_scheduler_started_as_the_readme_says_runs_jobs_and_stops_retrying(tmp_path):
    pytest.importorskip("distributed")
    import subprocess
    import sys

    tests = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": f"{tests.parent}:{tests}",
           "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "2", "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    scheduler_file = tmp_path / "scheduler.json"
    logs = open(tmp_path / "dask.log", "w")
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--scheduler-file", str(scheduler_file),
                                  "--port", "0", "--dashboard-address", ":0"], env=env, stdout=logs, stderr=logs)
    workers = None
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        workers = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                    "--nworkers", "2", "--dashboard-address", ":0"], env=env, stdout=logs, stderr=logs)
        killer_cell = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos._exit(0)"
        jobs = _class(tmp_path / "class", 2, {"s00": [killer_cell]})
        got = []
        summary = run_jobs(jobs, cluster_jobs.notebook_job, got.append, cluster=address, preflight=cluster_jobs.facts_preflight)
        assert summary.finished == ["s01/ch10"]
        assert [o.job_id for o in summary.failed] == ["s00/ch10"] and summary.failed[0].killed_workers
        assert len(_markers(tmp_path, "s00/ch10")) == 3
    finally:
        for process in (workers, scheduler):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        logs.close()
