"""The same grades everywhere: -j 1, --cluster local:2, and shards + merge give the same
canonical reports (without times) for a small class, through the real run_job and judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ALL_RIGHT, ASSIGNMENT, MLP_NO_RELU, MLP_SMALL_BATCHES, Q1_RIGHT, Q1_WRONG, XOR_RIGHT, XOR_WRONG, write_class
from grader.cluster.canonical import canonical_reports

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]

CLASS = {
    "ann": ALL_RIGHT,
    "bob": (Q1_WRONG, XOR_WRONG, MLP_NO_RELU),
    "cat": (Q1_RIGHT, XOR_RIGHT, MLP_SMALL_BATCHES),
}
COMMON = ("--seed", "5", "--threads", "1")


def _reports(out: Path) -> dict[str, str]:
    return canonical_reports(json.loads(p.read_text()) for p in sorted(out.glob(f"*/{ASSIGNMENT}.json")))


def _grade(cli, *args):
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def class_and_serial(tmp_path, cli, sandbox_available):
    submissions = write_class(tmp_path / "submissions", CLASS)
    _grade(cli, submissions, "--out", tmp_path / "serial", "-j", "1", *COMMON)
    reports = _reports(tmp_path / "serial")
    assert sorted(reports) == [f"{s}/{ASSIGNMENT}" for s in sorted(CLASS)]
    return submissions, reports


def test_local_cluster_gives_the_reports_of_j1(tmp_path, cli, class_and_serial):
    pytest.importorskip("distributed")
    submissions, serial = class_and_serial
    result = _grade(cli, submissions, "--out", tmp_path / "cluster", "--cluster", "local:2", *COMMON)
    assert "local Dask cluster of 2 worker processes" in result.output
    assert _reports(tmp_path / "cluster") == serial
    assert len(list((tmp_path / "cluster" / "runs").glob("*/record.json"))) == len(CLASS)


def test_three_shards_and_merge_give_the_reports_of_a_serial_run(tmp_path, cli, class_and_serial):
    submissions, serial = class_and_serial
    shards = [tmp_path / f"shard{k}" for k in (1, 2, 3)]
    for k, out in enumerate(shards, 1):
        _grade(cli, submissions, "--out", out, "--shard", f"{k}/3", "-j", "1", *COMMON)
        assert len(_reports(out)) == 1  # 3 students, 3 shards: one each
    result = _grade(cli, "merge", *shards, "--out", tmp_path / "merged")
    assert "3 run records from 3 shards" in result.output
    assert "3 of 3 submissions have a stored run record (judged again, not run)" in result.output
    assert _reports(tmp_path / "merged") == serial


def test_shard_without_seed_is_refused(tmp_path, cli):
    submissions = write_class(tmp_path / "submissions", {"ann": ALL_RIGHT})
    result = cli(submissions, "--out", tmp_path / "out", "--shard", "1/2")
    assert result.exit_code != 0 and "--shard needs --seed" in result.output


def _children(pid: int) -> list[int]:
    """Child processes of `pid`, whichever of its threads started them."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _runs_a_kernel(pid: int) -> bool:
    """Whether a student's kernel runs below `pid` (not the preflight's kernel)."""
    todo = _children(pid)
    while todo:
        child = todo.pop()
        cmdline = _cmdline(child)
        if b"grader.inside.kernel" in cmdline and b"-preflight/" not in cmdline:
            return True
        todo += _children(child)
    return False


def test_a_dask_worker_killed_during_a_notebook_costs_no_grade(tmp_path, cli, sandbox_available):
    pytest.importorskip("distributed")
    import os
    import signal
    import threading
    import time

    nap = "import time\ntime.sleep(8)"
    submissions = write_class(tmp_path / "submissions", {"ann": (*ALL_RIGHT, nap), "bob": (Q1_WRONG, XOR_WRONG, MLP_NO_RELU, nap)})
    killed: list[int] = []

    def kill_a_worker_mid_notebook():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            # the Dask workers are spawned children of this process (the LocalCluster's nannies live here)
            for worker in _children(os.getpid()):
                if b"spawn_main" in _cmdline(worker) and _runs_a_kernel(worker):
                    time.sleep(3)  # well into the notebook
                    os.kill(worker, signal.SIGKILL)
                    killed.append(worker)
                    break
            time.sleep(0.2)

    killer = threading.Thread(target=kill_a_worker_mid_notebook)
    killer.start()
    _grade(cli, submissions, "--out", tmp_path / "cluster", "--cluster", "local:2", *COMMON)
    killer.join()
    assert killed, "no worker was seen running a notebook"
    reports = {p.parent.name: json.loads(p.read_text()) for p in (tmp_path / "cluster").glob(f"*/{ASSIGNMENT}.json")}
    assert sorted(reports) == ["ann", "bob"]
    assert reports["ann"]["score"] == reports["ann"]["max_score"] == 10
    assert reports["bob"]["score"] == 0  # graded, every answer wrong: no part "not graded"
    assert all(item["status"] == "failed" for item in reports["bob"]["items"]), reports["bob"]["items"]
    assert all(not r["problems"] for r in reports.values()), [r["problems"] for r in reports.values()]


def test_workers_preflight_with_the_class_limits_and_say_why_they_failed(tmp_path, cli, sandbox_available):
    pytest.importorskip("distributed")
    submissions = write_class(tmp_path / "submissions", {"ann": ALL_RIGHT})
    # TensorFlow cannot start in 200 MB: the local run refuses; each worker must refuse the same way
    result = cli(submissions, "--out", tmp_path / "out", "--cluster", "local:1", "--memory-mb", "200", *COMMON)
    assert result.exit_code != 0
    assert "passed the preflight" in result.output and "its memory limit is too small for TensorFlow" in result.output, result.output
    assert not list((tmp_path / "out").glob(f"*/{ASSIGNMENT}.json"))  # nobody's grade


def test_an_lms_zip_graded_on_a_cluster_gives_the_reports_of_j1(tmp_path, cli, sandbox_available):
    pytest.importorskip("distributed")
    import zipfile

    import nbformat

    from conftest import student_notebook

    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zipped:  # Canvas' names: login_userid_submissionid_file
        for name, cells in (("lovelaceada_12345_67890", ALL_RIGHT), ("babbagecharles_22222_67891", (Q1_WRONG, XOR_WRONG))):
            zipped.writestr(f"{name}_{ASSIGNMENT}.ipynb", nbformat.writes(student_notebook(*cells)))
    _grade(cli, archive, "--out", tmp_path / "serial", "-j", "1", *COMMON)
    # the workers read the export's unpacked copies, which are beside the reports while the run lasts
    _grade(cli, archive, "--out", tmp_path / "cluster", "--cluster", "local:2", *COMMON)
    assert _reports(tmp_path / "cluster") == _reports(tmp_path / "serial") and len(_reports(tmp_path / "serial")) == 2
    assert not (tmp_path / "cluster" / ".intake").exists()
