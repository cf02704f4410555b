"""Hints for the chapters' common mistakes, each shown only where the evidence is: tested on real
Keras models (described by the grader's evaluator) and real Keras errors."""

from __future__ import annotations

import pytest

from grader.feedback import hints


# ---- TensorFlow 1 -----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [
    "import tensorflow as tf\ntf.reset_default_graph()",
    "X = tf.placeholder(tf.float32, shape=(None, 784))",
    "with tf.Session() as sess:\n    sess.run(init)",
    "import tensorflow as tensorflow_v1\nfc = tensorflow_v1.contrib.layers.fully_connected",
])
def test_tensorflow_1_code_gets_the_tf_keras_hint(code):
    assert "this is TensorFlow 1 code" in hints.tf1_hint(code)


@pytest.mark.parametrize("code", [
    "# tf.placeholder was TensorFlow 1\nmodel = tf.keras.Sequential()",
    'print("no tf.Session here")',
    "layers = tf.keras.layers\nx = keras.layers.Dense(10)",
    "def broken(:",  # not Python: no evidence either way
])
def test_tensorflow_2_code_comments_and_strings_get_no_hint(code):
    assert hints.tf1_hint(code) is None


def test_the_error_tensorflow_2_gives_for_tf1_code_is_evidence_too():
    error = "AttributeError: module 'tensorflow' has no attribute 'placeholder'"
    assert "tf.placeholder" in hints.error_hints("AttributeError", error.split(": ", 1)[1])[0]
    assert hints.error_hints("AttributeError", "module 'tensorflow' has no attribute 'kears'") == []


# ---- models, as the evaluator describes them ------------------------------------------------


@pytest.fixture(scope="module")
def keras():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tensorflow import keras

    return keras


def _describe(model):
    from grader.inside.evaluator import describe

    return describe(model)


@pytest.mark.slow
def test_stacked_rnn_without_return_sequences_real_keras_error(keras):
    layers = keras.layers
    with pytest.raises(ValueError) as raised:
        keras.Sequential([keras.Input((5, 3)), layers.SimpleRNN(4), layers.SimpleRNN(4)])
    assert "return_sequences=True" in hints.error_hints("ValueError", str(raised.value))[0]


@pytest.mark.slow
def test_stacked_rnn_hint_only_when_a_recurrent_layer_feeds_another_without_sequences(keras):
    layers = keras.layers
    wrong = keras.Sequential([
        keras.Input((5, 3)), layers.GRU(4, return_sequences=True), layers.Bidirectional(layers.LSTM(4)),
    ])
    right = keras.Sequential([
        keras.Input((5, 3)), layers.GRU(4, return_sequences=True), layers.GRU(4), layers.Dense(1),
    ])
    lost = keras.Sequential([
        keras.Input((5, 3)), layers.GRU(4), layers.RepeatVector(5), layers.GRU(4),
    ])
    assert hints.return_sequences_hint("", _describe(wrong)) is None
    assert hints.return_sequences_hint("", _describe(right)) is None
    assert hints.return_sequences_hint("", _describe(lost)) is None  # RepeatVector between: fine
    described = _describe(right)
    described["layers"][0]["return_sequences"] = False  # GRU -> GRU, as a student's file would say
    assert "return_sequences=True" in hints.return_sequences_hint("", described)


@pytest.mark.slow
def test_mnist_model_that_does_not_flatten_gets_the_flatten_hint(keras):
    layers = keras.layers
    no_flatten = keras.Sequential([keras.Input((28, 28)), layers.Dense(100, "relu"), layers.Dense(10, "softmax")])
    good = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(100, "relu"), layers.Dense(10, "softmax")])
    found = hints.model_hints(_describe(no_flatten), "mnist_dense")
    assert len(found) == 1 and "Flatten()" in found[0] and "(None, 28, 10)" in found[0]
    assert hints.model_hints(_describe(good), "mnist_dense") == []


@pytest.mark.slow
def test_wrong_output_layer_size_or_activation(keras):
    layers = keras.layers
    base = [keras.Input((28, 28)), layers.Flatten(), layers.Dense(64, "relu")]
    one_unit = keras.Sequential([*base, layers.Dense(1, "sigmoid")])
    relu_out = keras.Sequential([*base, layers.Dense(10, "relu")])
    logits = keras.Sequential([*base, layers.Dense(10)])
    softmax_layer = keras.Sequential([*base, layers.Dense(10), layers.Softmax()])
    assert "has 1 units" in hints.output_layer_hint(_describe(one_unit))
    assert "activation is relu, not softmax" in hints.output_layer_hint(_describe(relu_out))
    assert hints.output_layer_hint(_describe(softmax_layer)) is None
    # logits are right with a loss that expects them, wrong with one that expects probabilities
    described = _describe(logits)
    assert hints.output_layer_hint(described, loss="SparseCategoricalCrossentropy(from_logits=True)") is None
    assert "not softmax" in hints.output_layer_hint(described, loss="sparse_categorical_crossentropy")


def test_scaling_hint_only_when_raw_pixels_do_clearly_better():
    assert "divide the images by 255.0" in hints.scaling_hint(0.16, 0.97)
    assert hints.scaling_hint(0.97, 0.95) is None  # trained on scaled images: raw ones do worse
    assert hints.scaling_hint(0.11, 0.12) is None  # untrained either way: no evidence
    assert hints.scaling_hint(0.97, None) is None
    assert "scaled to [0, 1]" in hints.model_hints({"layers": []}, "mnist_dense", 0.16, 0.97)[0]
