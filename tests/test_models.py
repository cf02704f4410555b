"""Model checks through the real evaluator sandbox: the MNIST models (dense and recurrent), the
Reber classifier, the builders of ch14 q8/q10, and TensorBoard event files (ch10 q9)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.assign.spec import load_solution
from grader.data import mnist, reber
from grader.judge import artifacts, builders, models
from grader.sandbox import bwrap
from grader.sandbox.evaluator import Evaluator
from grader.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(bwrap.available() is not None, reason=f"no bubblewrap: {bwrap.available()}")


def keras_script(tmp_path: Path, body: str) -> None:
    """Run Keras code in a fresh process (as a student's notebook would), in tmp_path."""
    code = "import numpy as np, keras\nkeras.utils.set_random_seed(0)\n" + textwrap.dedent(body)
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, capture_output=True)


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory):
    files = mnist.sandbox_files()
    ev = Evaluator(tmp_path_factory.mktemp("exchange"), Limits(threads=2), True, files.test_images)
    yield ev
    ev.close()


@pytest.fixture(scope="module")
def ch14_spec():
    return load_solution(ROOT / "solutions" / "ch14.ipynb")[1]


def mnist_verdict(evaluator, path, check, threshold):
    evaluation = evaluator.evaluate(path, "mnist_test")
    assert evaluation.ok, evaluation.error
    return models.mnist_verdict(evaluation.description, evaluation.predictions, mnist.test_labels(), threshold,
                                recurrent=check == "mnist_rnn")


TRAIN_RNN = """
with np.load({npz!r}) as d:
    x, y = d["x_train"][:6000] / 255.0, d["y_train"][:6000]
model = keras.Sequential([keras.Input((28, 28)), {layers}, keras.layers.Dense(10, activation="softmax")])
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x, y, epochs=1, batch_size=100, verbose=0)
model.save({name!r})
"""


def test_mnist_rnn_with_a_recurrent_layer_is_scored_on_the_hidden_test_set(tmp_path, evaluator):
    npz = str(mnist.sandbox_files().notebook_npz)
    keras_script(tmp_path, TRAIN_RNN.format(npz=npz, layers="keras.layers.SimpleRNN(64)", name="rnn.keras"))
    verdict = mnist_verdict(evaluator, tmp_path / "rnn.keras", "mnist_rnn", 0.5)
    assert verdict.fraction == 1.0 and "hidden test digits" in verdict.message
    assert 0.5 < verdict.details["accuracy"] < 1 and verdict.details["n"] == 10_000


def test_mnist_rnn_with_a_conv2d_layer_is_refused_by_name(tmp_path, evaluator):
    layers = "keras.layers.Reshape((28, 28, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten()"
    keras_script(tmp_path, TRAIN_RNN.format(npz=str(mnist.sandbox_files().notebook_npz), layers=layers, name="conv.keras"))
    verdict = mnist_verdict(evaluator, tmp_path / "conv.keras", "mnist_rnn", 0.5)
    assert verdict.fraction == 0 and "Conv2D" in verdict.message


def test_mnist_rnn_without_a_recurrent_layer_is_refused(tmp_path, evaluator):
    layers = "keras.layers.Flatten(), keras.layers.Dense(32, activation='relu')"
    keras_script(tmp_path, TRAIN_RNN.format(npz=str(mnist.sandbox_files().notebook_npz), layers=layers, name="dense.keras"))
    rnn = mnist_verdict(evaluator, tmp_path / "dense.keras", "mnist_rnn", 0.5)
    assert rnn.fraction == 0 and "no recurrent layer" in rnn.message
    dense = mnist_verdict(evaluator, tmp_path / "dense.keras", "mnist_dense", 0.85)
    accuracy = dense.details["accuracy"]
    assert 0.77 < accuracy < 0.85, "the tiny model should land in the partial-credit band"
    assert dense.fraction == pytest.approx(round(0.8 * (accuracy - 0.77) / 0.08, 4))  # the documented scale
    assert "below the 85%" in dense.message


def test_mnist_dense_with_a_gru_names_the_layer_that_breaks_the_rule(tmp_path, evaluator):
    keras_script(tmp_path, TRAIN_RNN.format(npz=str(mnist.sandbox_files().notebook_npz), layers="keras.layers.GRU(8)", name="gru.keras"))
    verdict = mnist_verdict(evaluator, tmp_path / "gru.keras", "mnist_dense", 0.5)
    assert verdict.fraction == 0 and "GRU" in verdict.message and "dense layers only" in verdict.message


REBER_MODEL = """
inputs = keras.Input((None, 7))
x = keras.layers.GRU(8)(inputs)
outputs = keras.layers.Dense(1, activation="sigmoid"{extra})(x)
keras.Model(inputs, outputs).save({name!r})
"""


@pytest.mark.parametrize(
    "name, extra",
    [("untrained.keras", ""), ("constant.keras", ", kernel_initializer='zeros', bias_initializer=keras.initializers.Constant(2.0)")],
)
def test_reber_models_that_learned_nothing_fail_with_accuracy_and_p(tmp_path, evaluator, name, extra):
    keras_script(tmp_path, REBER_MODEL.format(extra=extra, name=name))
    strings, labels = reber.evaluation_set(5, n_each=2000)
    inputs, kept = models.reber_inputs_for({"inputs": [[None, None, 7]]}, strings)
    evaluation = evaluator.evaluate(tmp_path / name, inputs)
    verdict = models.reber_verdict(evaluation.description, evaluation.predictions, labels[kept], 0.001)
    assert verdict.fraction == 0
    assert "accuracy" in verdict.message and "p = " in verdict.message and "not above chance" in verdict.message


def builder_verdict(evaluator, spec, name, body, args, tmp_path):
    keras_script(tmp_path, body + "\nmodel.save('student.keras')")
    part = next(p for i in spec.items for p in i.parts if p.name == name)
    evaluation = evaluator.evaluate(tmp_path / "student.keras", None, {"source": part.key, "function": name, "args": args})
    assert evaluation.ok, evaluation.error
    return builders.compare_models(evaluation.description, evaluation.reference)


GRU_FORECASTER = """
model = keras.Sequential([keras.Input((40, 3)), keras.layers.GRU(32{gru}), keras.layers.Dense(1)])
"""


def test_gru_forecaster_matching_the_solution_passes(tmp_path, evaluator, ch14_spec):
    body = GRU_FORECASTER.format(gru=", dropout=0.2, recurrent_dropout=0.2")
    verdict = builder_verdict(evaluator, ch14_spec, "build_gru_forecaster", body, [40, 3], tmp_path)
    assert verdict.fraction == 1.0 and "every layer matches" in verdict.message


def test_gru_forecaster_without_recurrent_dropout_gets_half_and_is_told(tmp_path, evaluator, ch14_spec):
    verdict = builder_verdict(evaluator, ch14_spec, "build_gru_forecaster", GRU_FORECASTER.format(gru=", dropout=0.2"), [40, 3], tmp_path)
    assert verdict.fraction == 0.5 and "recurrent_dropout" in verdict.message


def test_stacked_gru_with_wrong_units_names_the_parameter_count(tmp_path, evaluator, ch14_spec):
    body = "model = keras.Sequential([keras.Input((40, 3)), keras.layers.GRU(16, return_sequences=True), keras.layers.GRU(32), keras.layers.Dense(1)])"
    verdict = builder_verdict(evaluator, ch14_spec, "build_stacked_gru", body, [40, 3], tmp_path)
    assert verdict.fraction == 0.5 and "outputs (N, 40, 16), expected (N, 40, 32)" in verdict.message


def test_conv_gru_without_pooling_lists_the_layers(tmp_path, evaluator, ch14_spec):
    body = (
        "model = keras.Sequential([keras.Input((150, 2)), keras.layers.Conv1D(32, 5, activation='relu'),"
        " keras.layers.Conv1D(32, 5, activation='relu'), keras.layers.GRU(32), keras.layers.Dense(1)])"
    )
    verdict = builder_verdict(evaluator, ch14_spec, "build_conv_gru", body, [150, 2], tmp_path)
    assert verdict.fraction == 0 and "MaxPooling1D" in verdict.message


def test_bidirectional_lstm_matching_the_solution_passes(tmp_path, evaluator, ch14_spec):
    body = (
        "model = keras.Sequential([keras.Input((80,)), keras.layers.Embedding(1000, 32),"
        " keras.layers.Bidirectional(keras.layers.LSTM(32)), keras.layers.Dense(1, activation='sigmoid')])"
    )
    verdict = builder_verdict(evaluator, ch14_spec, "build_bidirectional", body, [1000, 80], tmp_path)
    assert verdict.fraction == 1.0, verdict.message


EVENTS = """
import tensorflow as tf
for run, first in (("run1", 0), ("run2", {second})):
    writer = tf.summary.create_file_writer(f"logs/{{run}}/train")
    with writer.as_default():
        for epoch in range(first, first + 3):
            tf.summary.scalar("epoch_loss", 1.0 / (epoch + 1), step=epoch)
            {accuracy}
    writer.flush()
    import time; time.sleep(1.1)
"""


@pytest.mark.parametrize(
    "second, accuracy, expect",
    [
        (3, 'tf.summary.scalar("epoch_accuracy", 0.9, step=epoch)', (True, True)),
        (0, 'tf.summary.scalar("epoch_accuracy", 0.9, step=epoch)', (True, False)),
        (3, "pass", (False, True)),
    ],
    ids=["resumed", "started-over", "no-accuracy-series"],
)
def test_tensorboard_event_files_are_read_outside_the_student_process(tmp_path, evaluator, second, accuracy, expect):
    keras_script(tmp_path, EVENTS.format(second=second, accuracy=accuracy))
    events = evaluator.evaluate(events=tmp_path / "logs").extra["events"]
    series_ok, series_text = artifacts.judge_events(events)
    resumed, resume_text = artifacts.judge_resume(events, {"ran": True, "error": None})
    assert (series_ok, resumed) == expect
    if not series_ok:
        assert "no accuracy series" in series_text
    if not resumed:
        assert "started again at epoch 0" in resume_text
