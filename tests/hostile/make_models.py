"""Writes the .keras files the model cases hand to their notebooks (run once per test session, in a
subprocess, so neither pytest nor any sandboxed kernel imports TensorFlow for them).

    python make_models.py OUT_FOLDER MNIST_NPZ

honest.keras: Flatten + Dense(10) trained one epoch on 10,000 training digits (~90% accuracy);
lambda.keras: the same with a Lambda layer (refused by safe mode);
wrong_shape.keras: Dense(10) on flat (784,) inputs instead of (28, 28) images;
reber_12000.keras: a few KB declaring 12,000 time steps of one-hot Reber letters.
"""

import sys
from pathlib import Path

import numpy as np

out, npz = Path(sys.argv[1]), sys.argv[2]

import keras  # noqa: E402

keras.utils.set_random_seed(0)
with np.load(npz) as data:
    x, y = data["x_train"][:10_000].astype("float32") / 255.0, data["y_train"][:10_000]

honest = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
honest.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
honest.fit(x, y, epochs=1, batch_size=128, verbose=0)
honest.save(out / "honest.keras")

with_lambda = keras.Sequential(
    [keras.Input((28, 28)), keras.layers.Lambda(lambda t: t * 2.0), keras.layers.Flatten(), keras.layers.Dense(10)]
)
with_lambda.save(out / "lambda.keras")

flat = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
flat.save(out / "wrong_shape.keras")

reber = keras.Sequential([keras.Input((12_000, 7)), keras.layers.SimpleRNN(2), keras.layers.Dense(1, activation="sigmoid")])
reber.save(out / "reber_12000.keras")
