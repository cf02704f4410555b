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
    summary = run_jobs(jobs, cluster_jobs.notebook_job, got.append, cluster="slurm", slurm=settings)
    assert summary.failed == [] and summary.refused_workers == {} and len(got) == 3
    assert canonical_reports(cluster_jobs.judge(o.files) for o in got) == canonical_reports(cluster_jobs.judge(o.files) for o in serial)
    # every kernel ran inside a Slurm job (its worker's environment says which), pinned to 1 thread
    for outcome in got:
        record = json.loads(outcome.files["record.json"])
        _, threads, job_id = record["outputs"][1].split()
        assert threads == "1" and job_id.isdigit() and record["limits"]["threads"] == 1
