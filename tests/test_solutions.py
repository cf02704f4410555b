"""The reference solutions, graded through `grade` in the real sandbox, earn full points; the
example class gets the scores the README states. These run real TensorFlow training: the
slowest tests of the suite (a few minutes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.sandbox import bwrap

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(bwrap.available() is not None, reason=f"no bubblewrap: {bwrap.available()}")


@pytest.fixture(scope="module")
def graded_solutions(tmp_path_factory):
    root = tmp_path_factory.mktemp("solutions-class")
    student = root / "submissions" / "reference"
    student.mkdir(parents=True)
    for name in ("ch10.ipynb", "ch14.ipynb"):
        shutil.copy(ROOT / "solutions" / name, student / name)
    out = root / "reports"
    result = CliRunner().invoke(
        main, [str(root / "submissions"), "--out", str(out), "--seed", "11", "-j", "2",
               "--solutions", str(ROOT / "solutions")],
    )
    assert result.exit_code == 0, result.output
    return {a: json.loads((out / "reference" / f"{a}.json").read_text()) for a in ("ch10", "ch14")}


@pytest.mark.parametrize("assignment", ["ch10", "ch14"])
def test_reference_solution_earns_full_points(graded_solutions, assignment):
    report = graded_solutions[assignment]
    not_full = {i["id"]: i["feedback"] for i in report["items"] if i["score"] != i["max_score"]}
    assert not not_full
    assert report["score"] == report["max_score"]
    assert report["problems"] == []


def test_reference_models_clear_their_thresholds_with_a_margin(graded_solutions):
    parts = {p["label"]: p for r in graded_solutions.values() for i in r["items"] for p in i["parts"]}
    assert parts["mnist_model.keras"]["details"]["accuracy"] >= 0.981
    assert parts["mnist_rnn_model.keras"]["details"]["accuracy"] >= 0.955
    reber = parts["reber_model.keras"]["details"]
    assert reber["accuracy"] >= 0.9 and reber["n"] >= 3000
