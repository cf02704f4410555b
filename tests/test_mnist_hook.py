"""Inside the sandbox, the book's `load_data()` calls return the grader's MNIST, offline."""

from __future__ import annotations

import hashlib
import json

import nbformat
import numpy as np
import pytest

from grader.data import mnist
from grader.sandbox import bwrap
from grader.sandbox.execute import run_notebook
from grader.sandbox.kernel import KernelPlan
from grader.sandbox.limits import Limits

pytestmark = pytest.mark.skipif(bwrap.available() is not None, reason=f"no bubblewrap: {bwrap.available()}")

DIGESTS = """
import hashlib, json, sys
print("as on a fresh machine: TensorFlow's messages on stderr come first", file=sys.stderr)
import tensorflow as tf, keras
def digests(data):
    (a, b), (c, d) = data
    return [hashlib.sha256(x.tobytes()).hexdigest() + str(x.shape) for x in (a, b, c, d)]
print(json.dumps({"tf": digests(tf.keras.datasets.mnist.load_data()),
                  "keras": digests(keras.datasets.mnist.load_data())}))
"""


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(array.tobytes()).hexdigest() + str(array.shape)


def test_load_data_in_the_sandbox_returns_the_training_split_and_a_held_out_slice(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "io").mkdir()
    files = mnist.sandbox_files()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(DIGESTS)])
    plan = KernelPlan(tmp_path / "work", tmp_path / "io", Limits(threads=2), True, files.notebook_npz)
    execution = run_notebook(nb, plan)
    assert not execution.errors, execution.errors
    stdout = [o["text"] for o in execution.notebook.cells[0].outputs if o.get("name") == "stdout"]
    seen = json.loads("".join(stdout))  # TensorFlow may log to stderr first
    real = mnist.load_arrays(mnist.active())
    expected = [
        digest(real["x_train"][:50_000]), digest(real["y_train"][:50_000]),
        digest(real["x_train"][55_000:]), digest(real["y_train"][55_000:]),
    ]
    assert seen["tf"] == expected and seen["keras"] == expected
    # the sealed digits 50,000-54,999 are in neither split
    assert digest(real["y_test"]) not in seen["tf"] and digest(real["x_test"]) not in seen["tf"]
