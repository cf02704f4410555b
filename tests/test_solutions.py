"""The example class (examples/submissions/: ada hands in the reference solutions), graded through
`grade` in the real sandbox: the reference solutions earn full points, and every verdict made by
a fresh run equals the verdict made again from its stored run record. These run real TensorFlow
training: the slowest tests of the suite (a few minutes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.checks import JudgeContext
from grader.cli import main
from grader.data import mnist
from grader.gradebook import GRADEBOOK_NAME, Gradebook
from grader.judge.run import judge_run
from grader.assign.spec import load_solutions
from grader.pipeline.references import ReferenceBuilds
from grader.run.record import RunRecord
from grader.sandbox import bwrap
from grader.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
SEED = 11

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bwrap.available() is not None, reason=f"no bubblewrap: {bwrap.available()}"),
]


@pytest.fixture(scope="module")
def example_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("example-class")
    shutil.copytree(ROOT / "examples" / "submissions", root / "submissions")
    out = root / "reports"
    result = CliRunner().invoke(
        main, [str(root / "submissions"), "--out", str(out), "--seed", str(SEED), "-j", "2", "--threads", "1",
               "--cell-timeout", "150", "--solutions", str(ROOT / "solutions")],
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def graded_solutions(example_class):
    return {a: json.loads((example_class / "ada" / f"{a}.json").read_text()) for a in ("ch10", "ch14")}


@pytest.mark.parametrize("assignment", ["ch10", "ch14"])
def test_reference_solution_earns_full_points(graded_solutions, assignment):
    report = graded_solutions[assignment]
    not_full = {i["id"]: i["feedback"] for i in report["items"] if i["score"] != i["max_score"]}
    assert not not_full
    assert report["score"] == report["max_score"]
    assert report["problems"] == []


def test_a_keras_error_in_a_students_builder_comes_with_its_usual_cause(example_class):
    # chen stacks two SimpleRNNs without return_sequences=True: Keras says "expected ndim=3"
    report = json.loads((example_class / "chen" / "ch14.json").read_text())
    part = next(p for i in report["items"] for p in i["parts"] if p["label"] == "build_stacked_rnn")
    assert part["score"] == 0 and "expected ndim=3" in part["feedback"]
    assert "Hint:" in part["feedback"] and "return_sequences=True" in part["feedback"]


def test_reference_models_clear_their_thresholds_with_a_margin(graded_solutions):
    parts = {p["label"]: p for r in graded_solutions.values() for i in r["items"] for p in i["parts"]}
    assert parts["mnist_model.keras"]["details"]["accuracy"] >= 0.981
    assert parts["mnist_rnn_model.keras"]["details"]["accuracy"] >= 0.955
    reber = parts["reber_model.keras"]["details"]
    assert reber["accuracy"] >= 0.9 and reber["n"] >= 3000


def _canonical(items: list[dict]) -> str:
    return json.dumps(items, sort_keys=True)


def test_rejudging_each_stored_run_gives_the_fresh_verdict_of_every_item(example_class):
    specs = load_solutions(ROOT / "solutions")
    store = Gradebook(example_class / GRADEBOOK_NAME)
    references = ReferenceBuilds(store, Limits(threads=1), True)
    context = JudgeContext(mnist_labels=mnist.test_labels(), reference=references, sealed_labels=mnist.sealed_labels())
    try:
        fresh = [json.loads(p.read_text()) for p in sorted(example_class.glob("*/*.json"))]
        assert len(fresh) == 6
        for report in fresh:
            record = RunRecord.read(Path(store.run_path(report["run"])), with_notebook=True)
            again = judge_run(record, specs[report["assignment"]], student=report["student"], seed=SEED,
                              data_note=report["data"], overrides={}, ctx=context).to_json()
            assert _canonical(again["items"]) == _canonical(report["items"]), report["student"]
            assert again["score"] == report["score"] and again["key_version"] == report["key_version"]
        assert references.built == 0  # every reference build came from the gradebook's cache
    finally:
        references.close()
        store.close()
