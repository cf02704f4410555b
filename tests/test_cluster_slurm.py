"""Grading through a real single-node Slurm (started by the test, see single_node_slurm.py):
Dask workers started as Slurm jobs by dask-jobqueue run real notebooks in real kernels."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

import cluster_jobs
from grader.cluster.canonical import canonical_reports
from grader.cluster.executor import LocalExecutor
from grader.cluster.run import run_jobs
from single_node_slurm import SlurmUnavailable, single_node_slurm
from test_cluster import _class

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]


@pytest.fixture(scope="module")
def slurm():
    pytest.importorskip("dask_jobqueue")
    # not under /tmp: sandboxes get a private /tmp; not in the repository
    folder = Path(tempfile.mkdtemp(prefix="homl-grader-slurm-", dir="/var/tmp"))
    try:
        with single_node_slurm(folder) as env:
            yield folder, env
    except SlurmUnavailable as why:
        pytest.skip(f"Slurm cannot start here: {why}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_grades_through_slurm_jobs_like_the_local_pool(tmp_path, slurm, monkeypatch):
    folder, env = slurm
    from grader.cluster.dask_cluster import SlurmSettings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # the Slurm jobs import the stand-in job functions from tests/
    monkeypatch.setenv("PYTHONPATH", ":".join(filter(None, [str(Path(__file__).parent), str(Path(__file__).parents[1])])))
    jobs = _class(tmp_path / "class", 3)
    serial = []
    LocalExecutor(cluster_jobs.notebook_job, 1).run(jobs, serial.append)
    got = []
    settings = SlurmSettings(jobs=2, cores=1, memory="2GB", walltime="00:10:00", queue="debug", log_directory=str(folder / "jobs"))
    summary = run_jobs(jobs, cluster_jobs.notebook_job, got.append, cluster="slurm", slurm=settings,
                       preflight_kwargs={"isolation": "none"})
    assert summary.failed == [] and summary.refused_workers == {} and len(got) == 3
    assert canonical_reports(cluster_jobs.judge(o.files) for o in got) == canonical_reports(cluster_jobs.judge(o.files) for o in serial)
    # every kernel ran inside a Slurm job (its worker's environment says which), pinned to 1 thread
    for outcome in got:
        record = json.loads(outcome.files["record.json"])
        _, threads, job_id = record["outputs"][1].split()
        assert threads == "1" and job_id.isdigit() and record["limits"]["threads"] == 1


# --- the real grader through Slurm ---------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


def _slurm_env(monkeypatch, env, grader_data_dir):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Slurm jobs start fresh processes: they must import this checkout and find the same data
    monkeypatch.setenv("PYTHONPATH", f"{REPO}:{Path(__file__).parent}")
    monkeypatch.setenv("GRADER_DATA", str(grader_data_dir))


def test_grade_cluster_slurm_gives_the_reports_of_j1(tmp_path, slurm, cli, monkeypatch, grader_data_dir, sandbox_available):
    from test_cluster_grading import CLASS, COMMON, _grade, _reports
    from conftest import write_class

    folder, env = slurm
    _slurm_env(monkeypatch, env, grader_data_dir)
    monkeypatch.chdir(folder / "jobs")  # dask-jobqueue's job output files
    submissions = write_class(tmp_path / "submissions", CLASS)
    _grade(cli, submissions, "--out", tmp_path / "serial", "-j", "1", *COMMON)
    result = _grade(cli, submissions, "--out", tmp_path / "slurm", "--cluster", "slurm", "--slurm-jobs", "1",
                    "--slurm-cores", "2", "--slurm-memory", "3GB", "--slurm-walltime", "00:15:00", "--slurm-queue", "debug", *COMMON)
    assert "1 Slurm job(s) of 2 Dask worker(s)" in result.output
    assert _reports(tmp_path / "slurm") == _reports(tmp_path / "serial")


def test_slurm_job_array_template_then_merge_gives_the_reports_of_j1(tmp_path, slurm, cli, monkeypatch, grader_data_dir, ch99_solutions, sandbox_available):
    import subprocess
    import time

    from test_cluster_grading import CLASS, COMMON, _grade, _reports
    from conftest import write_class

    folder, env = slurm
    _slurm_env(monkeypatch, env, grader_data_dir)
    submissions = write_class(tmp_path / "submissions", CLASS)
    _grade(cli, submissions, "--out", tmp_path / "serial", "-j", "1", *COMMON)
    out = tmp_path / "array"
    monkeypatch.setenv("SOLUTIONS", str(ch99_solutions))
    queued = subprocess.run([str(REPO / "examples/slurm/submit.sh"), str(submissions), str(out), "3", "5"],
                            capture_output=True, text=True, check=True)
    merge_job = queued.stdout.split("merge: job ")[1].split(";")[0]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        state = subprocess.run(["scontrol", "show", "job", merge_job], capture_output=True, text=True).stdout
        if "JobState=COMPLETED" in state or "JobState=FAILED" in state or "JobState=CANCELLED" in state:
            break
        time.sleep(2)
    logs = "\n".join(p.read_text() for p in sorted(out.glob("grade-*.out")))
    assert "JobState=COMPLETED" in state, logs[-3000:]
    assert sorted(p.name for p in out.glob("shard-*")) == ["shard-1", "shard-2", "shard-3"]
    assert _reports(out / "reports") == _reports(tmp_path / "serial")
