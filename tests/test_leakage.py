"""The test-set leakage check: honest accuracy gaps pass, a model trained on the test set is flagged."""

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from grader.data import mnist
from grader.judge.leakage import (
    accuracy_summary,
    accuracy_text,
    leakage_check,
    leakage_message,
    leakage_test,
    wilson_interval,
)


@pytest.mark.parametrize("test_acc, sealed_acc", [
    (0.9826, 0.9748),  # the ch10 reference recipe, measured
    (0.9702, 0.9632),  # the book's 300-100 MLP
    (0.9550, 0.9380),  # a weak RNN: a larger gap in points, the same ratio of errors
    (1.0, 1.0),  # no errors anywhere
    (0.97, 0.99),  # better on the sealed digits
])
def test_honest_gaps_are_not_flagged(test_acc, sealed_acc):
    result = leakage_test(round(test_acc * 10_000), 10_000, round(sealed_acc * 5_000), 5_000)
    assert not result["flagged"] and result["p_value"] > 0.01, result


@pytest.mark.parametrize("test_acc, sealed_acc", [
    (0.9999, 0.9700),  # trained on the test set alone
    (0.9960, 0.9790),  # the test set added to the training data
    (0.9990, 0.9550),
])
def test_models_far_better_on_the_public_test_set_are_flagged(test_acc, sealed_acc):
    result = leakage_test(round(test_acc * 10_000), 10_000, round(sealed_acc * 5_000), 5_000)
    assert result["flagged"] and result["p_value"] < 1e-6, result
    assert (result["test_accuracy"], result["sealed_accuracy"], result["n_test"], result["n_sealed"]) == (
        test_acc, sealed_acc, 10_000, 5_000)
    message = leakage_message(result)
    assert f"{test_acc:.2%}" in message and "5,000 sealed" in message and "until you decide" in message


def test_the_check_reads_class_scores_and_unusable_predictions_count_as_wrong():
    labels = np.arange(10).repeat(20)
    scores = np.eye(10)[labels]
    assert leakage_check(scores, labels, scores, labels)["test_accuracy"] == 1.0
    nan = np.full((200, 10), np.nan)
    assert leakage_check(scores, labels, nan, labels)["sealed_accuracy"] == 0.0


def test_wilson_interval_matches_the_formula_and_stays_in_bounds():
    low, high = wilson_interval(9_820, 10_000)
    assert low < 0.982 < high and high - low == pytest.approx(2 * 1.96 * math.sqrt(0.982 * 0.018 / 10_000), rel=0.02)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(10, 10) == (pytest.approx(0.7225, abs=1e-4), 1.0)
    summary = accuracy_summary(9_823, 10_000)
    assert summary["n"] == 10_000 and summary["accuracy"] == 0.9823
    assert accuracy_text(summary) == "98.23% (95% interval 97.95-98.47%, n = 10,000)"


TRAIN = """
import numpy as np, keras
keras.utils.set_random_seed(0)
with np.load({data!r}) as d:
    x, y = d["x"] / 255.0, d["y"]
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10, activation="softmax")])
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
model.fit(x, y, epochs={epochs}, batch_size=100, verbose=0)
model.save("model.keras")
"""


def train_in_student_folder(folder, x, y, epochs):
    """The student brings digits and labels in their folder and trains on them, as a notebook would."""
    np.savez(folder / "digits.npz", x=x, y=y)
    script = textwrap.dedent(TRAIN.format(data=str(folder / "digits.npz"), epochs=epochs))
    subprocess.run([sys.executable, "-c", script], cwd=folder, check=True, capture_output=True)
    return folder / "model.keras"


@pytest.mark.slow
def test_a_model_trained_on_the_test_set_is_flagged_and_an_honest_one_is_not(tmp_path):
    from grader.sandbox import bwrap
    from grader.sandbox.evaluator import Evaluator
    from grader.sandbox.limits import Limits

    if bwrap.available() is not None:
        pytest.skip(f"no bubblewrap: {bwrap.available()}")
    arrays = mnist.load_arrays(mnist.bundled())
    (tmp_path / "cheat").mkdir()
    (tmp_path / "honest").mkdir()
    cheat = train_in_student_folder(tmp_path / "cheat", arrays["x_test"], arrays["y_test"], epochs=8)
    files = mnist.sandbox_files()
    with np.load(files.notebook_npz) as notebook:  # what load_data() gives a notebook
        honest = train_in_student_folder(tmp_path / "honest", notebook["x_train"][:10_000], notebook["y_train"][:10_000], epochs=8)
    evaluator = Evaluator(tmp_path / "exchange", Limits(threads=2), True, files.test_images, files.sealed_images)
    try:
        results = {}
        for name, model in (("cheat", cheat), ("honest", honest)):
            evaluation = evaluator.evaluate(model, "mnist_test", also=("mnist_sealed",))
            assert evaluation.ok, evaluation.error
            results[name] = leakage_check(evaluation.predictions, mnist.test_labels(),
                                          evaluation.more_predictions["mnist_sealed"], mnist.sealed_labels())
    finally:
        evaluator.close()
    assert results["cheat"]["flagged"] and results["cheat"]["p_value"] < 1e-9, results["cheat"]
    # measured: 98.76% on the test set it was trained on, 94.26% on the sealed digits, p ~ 1e-15
    assert results["cheat"]["test_accuracy"] > results["cheat"]["sealed_accuracy"] + 0.03
    assert not results["honest"]["flagged"], results["honest"]
    assert results["honest"]["p_value"] > 1e-3
