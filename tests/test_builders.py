"""Builders compared after normalising equivalent forms, on descriptions of real Keras models."""

import pytest

from grader.judge.builders import compare_models, normalise

pytestmark = pytest.mark.slow  # imports TensorFlow


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


@pytest.fixture(scope="module")
def describe():
    from grader.inside.evaluator import describe

    return describe


def conv_gru_reference(keras, n_steps=150, n_features=3):
    return keras.Sequential([
        keras.Input(shape=(n_steps, n_features)),
        keras.layers.Conv1D(32, 5, activation="relu"),
        keras.layers.MaxPooling1D(3),
        keras.layers.Conv1D(32, 5, activation="relu"),
        keras.layers.GRU(32),
        keras.layers.Dense(1),
    ])


def test_separate_activation_layers_fold_into_the_convolutions(keras, describe):
    L = keras.layers
    student = keras.Sequential([
        keras.Input(shape=(150, 3)),
        L.Conv1D(32, 5), L.Activation("relu"),
        L.MaxPooling1D(3),
        L.Conv1D(32, 5), L.ReLU(),
        L.GRU(32),
        L.Dense(1), L.Activation("linear"),
    ])
    verdict = compare_models(describe(student), describe(conv_gru_reference(keras)))
    assert verdict.fraction == 1.0, verdict.message
    assert [l["class"] for l in normalise(describe(student))] == ["Conv1D", "MaxPooling1D", "Conv1D", "GRU", "Dense"]


def test_a_functional_model_with_alias_names_matches_a_sequential_one(keras, describe):
    L = keras.layers
    inputs = keras.Input(shape=(150, 3))
    x = L.Convolution1D(32, 5, activation="relu")(inputs)
    x = L.MaxPool1D(3)(x)
    x = L.Conv1D(32, kernel_size=5, activation=keras.activations.relu)(x)
    outputs = L.Dense(1)(L.GRU(32)(x))
    student = keras.Model(inputs, outputs)
    description = describe(student)
    assert description["layers"][0]["class"] == "InputLayer"  # what normalising removes
    verdict = compare_models(description, describe(conv_gru_reference(keras)))
    assert verdict.fraction == 1.0, verdict.message


def test_a_missing_activation_keeps_half_the_marks_and_names_the_layer(keras, describe):
    L = keras.layers
    student = keras.Sequential([
        keras.Input(shape=(150, 3)), L.Conv1D(32, 5), L.MaxPooling1D(3),
        L.Conv1D(32, 5, activation="relu"), L.GRU(32), L.Dense(1),
    ])
    verdict = compare_models(describe(student), describe(conv_gru_reference(keras)))
    assert verdict.fraction == 0.5
    assert verdict.message == "layer 1 (Conv1D) has activation='linear', expected 'relu'."


def test_an_activation_after_an_activated_layer_is_a_real_difference(keras, describe):
    L = keras.layers
    student = keras.Sequential([
        keras.Input(shape=(150, 3)), L.Conv1D(32, 5, activation="relu"), L.Activation("tanh"),
        L.MaxPooling1D(3), L.Conv1D(32, 5, activation="relu"), L.GRU(32), L.Dense(1),
    ])
    verdict = compare_models(describe(student), describe(conv_gru_reference(keras)))
    assert verdict.fraction == 0.0
    assert verdict.message.startswith("layer 2 is Activation, expected MaxPooling1D")


def test_another_layer_type_with_the_same_shapes_and_counts_keeps_half(keras, describe):
    L = keras.layers
    student = keras.Sequential([
        keras.Input(shape=(150, 3)), L.Conv1D(32, 5, activation="relu"), L.AveragePooling1D(3),
        L.Conv1D(32, 5, activation="relu"), L.GRU(32), L.Dense(1),
    ])
    verdict = compare_models(describe(student), describe(conv_gru_reference(keras)))
    assert verdict.fraction == 0.5
    assert verdict.message.startswith("layer 2 is AveragePooling1D, expected MaxPooling1D")


def test_an_lstm_for_a_gru_differs_in_parameters_and_gets_nothing(keras, describe):
    L = keras.layers
    student = keras.Sequential([
        keras.Input(shape=(150, 3)), L.Conv1D(32, 5, activation="relu"), L.MaxPooling1D(3),
        L.Conv1D(32, 5, activation="relu"), L.LSTM(32), L.Dense(1),
    ])
    verdict = compare_models(describe(student), describe(conv_gru_reference(keras)))
    assert verdict.fraction == 0.0 and "layer 4 is LSTM, expected GRU" in verdict.message


def test_a_missing_layer_is_named(keras, describe):
    L = keras.layers
    student = keras.Sequential([keras.Input(shape=(150, 3)), L.Conv1D(32, 5, activation="relu"),
                                L.MaxPooling1D(3), L.Conv1D(32, 5, activation="relu"), L.GRU(32)])
    verdict = compare_models(describe(student), describe(conv_gru_reference(keras)))
    assert verdict.fraction == 0.0 and verdict.message.startswith("layer 5 (Dense) is missing")


def test_matching_models_keep_todays_verdicts(keras, describe):
    L = keras.layers
    reference = keras.Sequential([keras.Input(shape=(40, 2)), L.GRU(32, dropout=0.2, recurrent_dropout=0.2), L.Dense(1)])
    same = keras.Sequential([keras.Input(shape=(40, 2)), L.GRU(32, dropout=0.2, recurrent_dropout=0.2), L.Dense(1)])
    assert compare_models(describe(same), describe(reference)).fraction == 1.0
    no_dropout = keras.Sequential([keras.Input(shape=(40, 2)), L.GRU(32), L.Dense(1)])
    verdict = compare_models(describe(no_dropout), describe(reference))
    assert (verdict.fraction, verdict.message) == (0.5, "layer 1 (GRU) has dropout=0.0, expected 0.2.")
    sequences = keras.Sequential([keras.Input(shape=(40, 2)), L.GRU(32, return_sequences=True, dropout=0.2,
                                                                        recurrent_dropout=0.2), L.Dense(1)])
    verdict = compare_models(describe(sequences), describe(reference))
    assert verdict.fraction == 0.5 and verdict.message.startswith("layer 1 (GRU) outputs (N, 40, 32), expected (N, 32)")
    wrong_input = keras.Sequential([keras.Input(shape=(41, 2)), L.GRU(32), L.Dense(1)])
    assert compare_models(describe(wrong_input), describe(reference)).fraction == 0.0
