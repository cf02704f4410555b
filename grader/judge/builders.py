"""Builders judged by what they build: the student's model against the grader's own build.

Both come as descriptions from the evaluator (grader/inside/evaluator.describe). Before they are
compared, equivalent ways of writing the same model are made the same:
- InputLayer entries are dropped (a functional model lists one, a Sequential one does not), and
  the model's class (Sequential, Functional) is not compared;
- a separate `Activation("relu")`, `ReLU()`, `Softmax()` ... layer folds into the layer before it
  when that layer has no activation of its own; a linear Activation disappears;
- old and alias class names (Convolution1D, MaxPool1D ...) become the current ones; a missing
  activation is "linear".
Full marks when every layer then matches in type, output shape, parameter count and the
settings the reference fixes (dropout, recurrent_dropout, activation). Otherwise the message
names the first difference; half marks remain when layer by layer the output shapes and
parameter counts agree.
"""

from __future__ import annotations

from grader.judge.verdict import Verdict

ALIASES = {
    "Convolution1D": "Conv1D", "Convolution2D": "Conv2D", "Convolution3D": "Conv3D",
    "Convolution1DTranspose": "Conv1DTranspose", "Convolution2DTranspose": "Conv2DTranspose",
    "MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D", "MaxPool3D": "MaxPooling3D",
    "AvgPool1D": "AveragePooling1D", "AvgPool2D": "AveragePooling2D", "AvgPool3D": "AveragePooling3D",
    "GlobalMaxPool1D": "GlobalMaxPooling1D", "GlobalAvgPool1D": "GlobalAveragePooling1D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D", "GlobalAvgPool2D": "GlobalAveragePooling2D",
}
# Activation layers other than Activation itself, and the activation each applies with its defaults.
# (LeakyReLU is not here: its layer's default slope, 0.3, is not the activation's, 0.2.)
ACTIVATION_LAYERS = {"ReLU": "relu", "Softmax": "softmax", "ELU": "elu"}
SETTINGS = ("dropout", "recurrent_dropout", "activation")


def _shape(shape) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"


def _kind(layer: dict) -> str:
    return layer["class"] + (f"({layer['wraps']})" if layer.get("wraps") else "")


def _activation_of(layer: dict) -> str | None:
    """The activation an activation-only layer applies, or None for any other layer."""
    if layer["class"] == "Activation":
        return layer.get("activation") or "linear"
    if layer["class"] in ACTIVATION_LAYERS and layer.get("params", 0) == 0:
        return ACTIVATION_LAYERS[layer["class"]]
    return None


def normalise(description: dict) -> list[dict]:
    """The layers of a description with equivalent forms made the same (see the module doc)."""
    layers: list[dict] = []
    for raw in description["layers"]:
        layer = dict(raw)
        layer["class"] = ALIASES.get(layer["class"], layer["class"])
        if layer["class"] == "InputLayer":
            continue
        if "activation" in layer and layer["activation"] in (None, "None"):
            layer["activation"] = "linear"
        applied = _activation_of(layer)
        if applied is not None:
            before = layers[-1] if layers else None
            if applied == "linear":
                continue
            if before is not None and before.get("activation") == "linear":
                before["activation"] = applied
                before["output_shape"] = layer.get("output_shape", before.get("output_shape"))
                continue
            layer = {**layer, "class": "Activation", "activation": applied}
        layers.append(layer)
    return layers


def _layer_line(layer: dict) -> str:
    shape = _shape(layer["output_shape"]) if layer.get("output_shape") else "?"
    return f"{_kind(layer)} → {shape}, {layer['params']:,} params"


def _shapes_and_counts_agree(mine: list[dict], want: list[dict]) -> bool:
    return len(mine) == len(want) and all(
        a.get("output_shape") == b.get("output_shape") and a["params"] == b["params"] for a, b in zip(mine, want)
    )


def compare_models(student: dict, reference: dict) -> Verdict:
    """Full marks when every layer matches after normalising; else the first difference, named."""
    if student["inputs"] != reference["inputs"]:
        got = ", ".join(_shape(s) for s in student["inputs"])
        return Verdict(0.0, f"input shape is {got}, expected {_shape(reference['inputs'][0])}.")
    mine, want = normalise(student), normalise(reference)
    agree = _shapes_and_counts_agree(mine, want)
    details = {"layers": [_layer_line(l) for l in mine], "expected": [_layer_line(l) for l in want]}
    kinds, want_kinds = [_kind(l) for l in mine], [_kind(l) for l in want]
    if kinds != want_kinds:
        got = " → ".join(kinds) or "no layers"
        expected = " → ".join(want_kinds)
        first = next((i for i, (a, b) in enumerate(zip(kinds, want_kinds)) if a != b), min(len(kinds), len(want_kinds)))
        if first < min(len(kinds), len(want_kinds)):
            difference = f"layer {first + 1} is {kinds[first]}, expected {want_kinds[first]}"
        elif len(kinds) > len(want_kinds):
            difference = f"layer {first + 1} ({kinds[first]}) is one too many"
        else:
            difference = f"layer {first + 1} ({want_kinds[first]}) is missing"
        if agree:
            return Verdict(0.5, f"{difference} (layers are {got}; expected {expected}); every layer's output "
                                "shape and parameter count match, so half the marks.", details)
        return Verdict(0.0, f"{difference}: layers are {got}; expected {expected}.", details)
    for i, (a, b) in enumerate(zip(mine, want)):
        if a.get("output_shape") != b.get("output_shape"):
            return Verdict(
                0.5,
                f"layer {i + 1} ({_kind(a)}) outputs {_shape(a['output_shape'] or [])}, expected "
                f"{_shape(b['output_shape'])} (check return_sequences, units and padding).",
                details,
            )
    for i, (a, b) in enumerate(zip(mine, want)):
        if a["params"] != b["params"]:
            return Verdict(0.5, f"layer {i + 1} ({_kind(a)}) has {a['params']:,} parameters, expected {b['params']:,}.",
                           details)
    for i, (a, b) in enumerate(zip(mine, want)):
        for key in SETTINGS:
            if key in b and a.get(key) != b[key]:
                return Verdict(0.5, f"layer {i + 1} ({_kind(a)}) has {key}={a.get(key)!r}, expected {b[key]!r}.", details)
    return Verdict(1.0, "every layer matches: " + "; ".join(_layer_line(l) for l in mine) + ".", details)
