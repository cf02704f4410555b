"""The grader's own builds of the models the builder questions ask for.

Used by the evaluator to compare a student's model layer by layer (types, output shapes,
parameter counts) with what the question specifies.
"""

from __future__ import annotations


def build(name: str, *args):
    import keras
    from keras import layers

    if name == "stacked_rnn":
        return keras.Sequential([
            keras.Input(shape=(100, 2)),
            layers.SimpleRNN(30, return_sequences=True),
            layers.SimpleRNN(30),
            layers.Dense(1),
        ])
    if name == "gru_forecaster":
        n_steps, n_features = args
        return keras.Sequential([
            keras.Input(shape=(n_steps, n_features)),
            layers.GRU(32, dropout=0.2, recurrent_dropout=0.2),
            layers.Dense(1),
        ])
    if name == "stacked_gru":
        n_steps, n_features = args
        return keras.Sequential([
            keras.Input(shape=(n_steps, n_features)),
            layers.GRU(32, return_sequences=True),
            layers.GRU(32),
            layers.Dense(1),
        ])
    if name == "bidirectional_lstm":
        vocab_size, maxlen = args
        return keras.Sequential([
            keras.Input(shape=(maxlen,)),
            layers.Embedding(vocab_size, 32),
            layers.Bidirectional(layers.LSTM(32)),
            layers.Dense(1, activation="sigmoid"),
        ])
    if name == "conv_gru":
        n_steps, n_features = args
        return keras.Sequential([
            keras.Input(shape=(n_steps, n_features)),
            layers.Conv1D(32, 5, activation="relu"),
            layers.MaxPooling1D(3),
            layers.Conv1D(32, 5, activation="relu"),
            layers.GRU(32),
            layers.Dense(1),
        ])
    raise KeyError(f"no reference model {name!r}")
