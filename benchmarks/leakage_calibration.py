"""Calibrate the test-set leakage check: how far apart are official-test and sealed-slice accuracy?

Trains honest models exactly as a student's notebook can (on what `load_data()` returns in the
sandbox: the first 50,000 training digits, the last 5,000 of them for validation), then scores each
on the official test set and on the sealed slice (training digits 50,000-54,999) and runs
grader.judge.leakage.leakage_test on the pair. Then trains models that cheat (the official test
digits and labels added to the training data, or the test set alone) and shows they are flagged.

    nice python benchmarks/leakage_calibration.py                # 3 recipes x 3 seeds + 2 cheaters
    nice python benchmarks/leakage_calibration.py --seeds 1 --recipes mlp_300_100 --out results.jsonl
    python benchmarks/leakage_calibration.py --table results.jsonl   # the README's table, test re-run

One model at a time; about 10 minutes on 2 shared cores. Each result is a JSON line (stdout and --out).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from grader.data import mnist  # noqa: E402
from grader.judge.leakage import accuracy_summary, leakage_test  # noqa: E402


def mlp_300_100(keras):
    return keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ]), {"epochs": 10, "batch_size": 128}


def mlp_512_dropout(keras):
    """The ch10 reference solution's model and schedule."""
    return keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(10, activation="softmax"),
    ]), {"epochs": 12, "batch_size": 128, "plateau": True}


def gru_rows(keras):
    """The ch14 reference solution: the 28 rows as 28 time steps."""
    return keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.GRU(64, unroll=True),
        keras.layers.Dense(10, activation="softmax"),
    ]), {"epochs": 5, "batch_size": 150}


RECIPES = {"mlp_300_100": mlp_300_100, "mlp_512_dropout": mlp_512_dropout, "gru_rows": gru_rows}


def splits():
    arrays = mnist.load_arrays(mnist.bundled())
    x, y = arrays["x_train"].astype("float32") / 255.0, arrays["y_train"]
    notebook_x, notebook_y = x[: mnist.TRAIN_FOR_NOTEBOOK], y[: mnist.TRAIN_FOR_NOTEBOOK]
    return {
        "train": (notebook_x[:-5000], notebook_y[:-5000]),
        "valid": (notebook_x[-5000:], notebook_y[-5000:]),
        "sealed": (x[mnist.SEALED], y[mnist.SEALED]),
        "test": (arrays["x_test"].astype("float32") / 255.0, arrays["y_test"]),
    }


def train_and_score(name, seed, data, train_x, train_y, cheat=None):
    import keras

    keras.utils.set_random_seed(seed)
    model, fit = RECIPES[name](keras)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    callbacks = []
    if fit.get("plateau"):
        callbacks = [
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2),
            keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=4, restore_best_weights=True),
        ]
    started = time.monotonic()
    model.fit(train_x, train_y, epochs=fit["epochs"], batch_size=fit["batch_size"],
              validation_data=data["valid"], callbacks=callbacks, verbose=0)
    seconds = time.monotonic() - started
    correct = {}
    for split in ("test", "sealed"):
        xs, ys = data[split]
        correct[split] = int(np.sum(np.argmax(model.predict(xs, batch_size=500, verbose=0), axis=1) == ys))
    n_test, n_sealed = len(data["test"][1]), len(data["sealed"][1])
    result = leakage_test(correct["test"], n_test, correct["sealed"], n_sealed)
    return {
        "recipe": name, "seed": seed, "cheat": cheat, "train_seconds": round(seconds, 1),
        "n_train": int(len(train_y)),
        "test": accuracy_summary(correct["test"], n_test),
        "sealed": accuracy_summary(correct["sealed"], n_sealed),
        **{k: result[k] for k in ("error_ratio", "p_value", "flagged", "alpha", "allowed_ratio")},
    }


def table(path: str) -> str:
    """A Markdown table of saved results, the leakage test computed again from the counts."""
    rows = ["| model | seed | train s | test accuracy (95% interval) | sealed accuracy (95% interval) | error ratio | p | flagged |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for line in open(path):
        r = json.loads(line)
        test, sealed = r["test"], r["sealed"]
        result = leakage_test(round(test["accuracy"] * test["n"]), test["n"], round(sealed["accuracy"] * sealed["n"]), sealed["n"])
        name = r["recipe"] + (f", trained on {r['cheat']}" if r["cheat"] else "")
        interval = lambda s: f"{s['accuracy']:.2%} ({100 * s['ci95'][0]:.2f}-{100 * s['ci95'][1]:.2f})"
        rows.append(f"| {name} | {r['seed']} | {r['train_seconds']:.0f} | {interval(test)} | {interval(sealed)} | "
                    f"{result['error_ratio']:.2f} | {result['p_value']:.1g} | {'yes' if result['flagged'] else 'no'} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default=",".join(RECIPES), help="comma list of recipes (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per recipe (default 3)")
    parser.add_argument("--no-cheaters", action="store_true", help="skip the models trained on the test set")
    parser.add_argument("--out", help="also append the JSON lines to this file")
    parser.add_argument("--table", metavar="FILE", help="print saved results as a Markdown table; train nothing")
    args = parser.parse_args()
    if args.table:
        print(table(args.table))
        return
    data = splits()
    runs = [(name, seed, None) for name in args.recipes.split(",") for seed in range(args.seeds)]
    if not args.no_cheaters:
        runs += [("mlp_300_100", 0, "train+test"), ("mlp_300_100", 0, "test only")]
    for name, seed, cheat in runs:
        train_x, train_y = data["train"]
        if cheat == "train+test":
            train_x, train_y = np.concatenate([train_x, data["test"][0]]), np.concatenate([train_y, data["test"][1]])
        elif cheat == "test only":
            train_x, train_y = data["test"]
        line = json.dumps(train_and_score(name, seed, data, train_x, train_y, cheat))
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(line + "\n")


if __name__ == "__main__":
    main()
