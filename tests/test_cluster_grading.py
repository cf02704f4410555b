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
