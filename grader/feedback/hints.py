"""Hints for the common mistakes of chapters 10 and 14, each given only where the evidence
shows it: an error's text, the student's code, a saved model's description (the evaluator's
`describe`: layers with class, units, activation, return_sequences, output_shape), or two
accuracies of the same model. Each function returns one sentence, or None."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence

from grader.notebook.source import parse_cell

# TensorFlow 1 names that TensorFlow 2 dropped from the `tf` namespace
TF1_NAMES = frozenset(
    "placeholder Session InteractiveSession contrib reset_default_graph get_variable variable_scope "
    "global_variables_initializer get_default_graph layers".split()
)
TF1_HINT = (
    "this is TensorFlow 1 code (tf.{name}); the course uses tf.keras: build the model with "
    "keras.Sequential or the functional API, then compile() and fit()."
)
RECURRENT = frozenset({"SimpleRNN", "GRU", "LSTM", "RNN", "ConvLSTM1D", "ConvLSTM2D"})


def _tf_aliases(tree: ast.Module) -> set[str]:
    names = {"tf"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name for a in node.names if a.name == "tensorflow"}
    return names


def tf1_hint(code: str = "", error: str = "") -> str | None:
    """TensorFlow 1 APIs named in the code (as `tf.placeholder`, not in comments or strings), or
    in an error ("module 'tensorflow' has no attribute 'placeholder'")."""
    match = re.search(r"module 'tensorflow(?:\.compat\.v2)?' has no attribute '(\w+)'", error)
    if match and match.group(1) in TF1_NAMES:
        return TF1_HINT.format(name=match.group(1))
    tree = parse_cell(code) if code else None
    if tree is None:
        return None
    aliases = _tf_aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            # tf.layers is TF1 (tf.keras.layers is not); the others are TF1 wherever they appear
            if node.attr in TF1_NAMES:
                return TF1_HINT.format(name=node.attr)
    return None


RETURN_SEQUENCES_HINT = (
    "a recurrent layer that feeds another recurrent layer must return the whole sequence: "
    "give every recurrent layer but the last `return_sequences=True`."
)


def _recurrent(layer: Mapping) -> bool:
    return layer.get("class") in RECURRENT or layer.get("wraps") in RECURRENT


def return_sequences_hint(error: str = "", description: Mapping | None = None) -> str | None:
    """Keras' "expected ndim=3, found ndim=2" error, or a model where a recurrent layer without
    return_sequences is followed by another recurrent layer."""
    if re.search(r"expected ndim=3, found ndim=2", error):
        return RETURN_SEQUENCES_HINT
    layers = [layer for layer in (description or {}).get("layers", []) if layer.get("class") != "InputLayer"]
    for before, after in zip(layers, layers[1:]):
        if _recurrent(before) and _recurrent(after) and not before.get("return_sequences"):
            return RETURN_SEQUENCES_HINT
    return None


# The model does better on raw pixels than on pixels scaled like the test set: it was trained on 0-255.
SCALING_GAIN = 0.10


def scaling_hint(accuracy_scaled: float | None, accuracy_raw: float | None) -> str | None:
    """`accuracy_scaled`: on the test images scaled to [0, 1] (as graded); `accuracy_raw`: the same
    model on the same images times 255. A clear gain on raw pixels means it was trained on them."""
    if accuracy_scaled is None or accuracy_raw is None or accuracy_raw - accuracy_scaled < SCALING_GAIN:
        return None
    return (
        f"your model scores {accuracy_raw:.0%} on raw 0-255 pixels but {accuracy_scaled:.0%} on pixels "
        "scaled to [0, 1], which is how it is graded: divide the images by 255.0 before training "
        "(X_train = X_train / 255.0), and train again."
    )


_PROBABILITY_LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy")


def output_layer_hint(description: Mapping | None, n_classes: int = 10, loss: str | None = None) -> str | None:
    """The last layer is not a Dense layer of `n_classes` units with a softmax (the softmax is
    optional only with a loss given `from_logits=True`; `loss` is the compiled loss when known)."""
    layers = (description or {}).get("layers") or []
    dense = [layer for layer in layers if layer.get("class") == "Dense"]
    if not dense:
        return None
    last = dense[-1]
    if last is not layers[-1] and layers[-1].get("class") not in ("Activation", "Softmax", "Dropout"):
        return None
    units = last.get("units")
    if isinstance(units, int) and units != n_classes:
        return f"the output layer has {units} units; it needs one per class: Dense({n_classes}, activation=\"softmax\")."
    activation = str(last.get("activation") or "linear")
    after = layers[layers.index(last) + 1:]
    if activation == "softmax" or any(a.get("class") == "Softmax" or a.get("activation") == "softmax" for a in after):
        return None
    if loss is not None and (not any(name in str(loss) for name in _PROBABILITY_LOSSES) or "from_logits" in str(loss)):
        return None
    return (
        f"the output layer's activation is {activation}, not softmax: use Dense({n_classes}, "
        "activation=\"softmax\") with loss=\"sparse_categorical_crossentropy\" (or keep no activation and "
        "pass from_logits=True to the loss)."
    )


def flatten_hint(description: Mapping | None) -> str | None:
    """An MNIST model whose output keeps the image's rows: (None, 28, 10) instead of (None, 10)."""
    output = (description or {}).get("output")
    if isinstance(output, Sequence) and len(output) == 3 and output[1] == 28:
        return (
            f"the model's output shape is {tuple(output)}: Dense layers act on the last axis only, so "
            "each of the 28 rows got its own prediction. Put keras.layers.Flatten() first (after the Input)."
        )
    return None


def error_hints(ename: str, evalue: str, code: str = "") -> list[str]:
    """Hints for a cell that raised: its exception and the cell's code."""
    error = f"{ename}: {evalue}"
    found = [tf1_hint(code, error), return_sequences_hint(error)]
    return [hint for hint in dict.fromkeys(found) if hint]


def model_hints(
    description: Mapping | None,
    check: str,
    accuracy_scaled: float | None = None,
    accuracy_raw: float | None = None,
    loss: str | None = None,
) -> list[str]:
    """Hints for a saved model of a check ("mnist_dense", "mnist_rnn", "reber_classifier")."""
    found = [return_sequences_hint("", description)]
    if check in ("mnist_dense", "mnist_rnn"):
        found += [
            flatten_hint(description) if check == "mnist_dense" else None,
            output_layer_hint(description, 10, loss),
            scaling_hint(accuracy_scaled, accuracy_raw),
        ]
    return [hint for hint in dict.fromkeys(found) if hint]
