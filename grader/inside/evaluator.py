"""The model evaluator: loads `.keras` files in safe mode and predicts; runs no student code.

Started once per grading worker inside its own sandbox, it imports TensorFlow once and then
forks a fresh child for every request, so each student's model is loaded in a process of its
own without paying the ~3 s import again. The parent runs no TensorFlow op: TensorFlow's thread
pools would not survive the fork.

Protocol: one JSON request per line on stdin, one JSON response per line on the original
stdout (fd 1 is pointed at stderr so library prints cannot corrupt it).
Request: {"id", "model": path | null, "inputs": "mnist_test" | "mnist_sealed" | path.npy | null,
          "also": ["mnist_sealed", ...] (optional), "reference": {"builder": name, "args": [...]} | null,
          "out": folder}
Child writes <out>/description.json, <out>/predictions.npy, <out>/predictions-<name>.npy for each
name in "also", <out>/reference.json.
Response: {"id", "ok": bool, "error": str | null}
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

MAX_MODEL_BYTES = 1 << 30  # a .keras file, compressed or not
TEST_IMAGES_ENV = "HOML_GRADER_TEST_IMAGES"
SEALED_IMAGES_ENV = "HOML_GRADER_SEALED_IMAGES"
IMAGE_INPUTS = {"mnist_test": TEST_IMAGES_ENV, "mnist_sealed": SEALED_IMAGES_ENV}  # name -> where its file is


def _check_archive(path: str) -> None:
    size = os.path.getsize(path)
    if size == 0:
        raise ValueError("the file is empty (0 bytes)")
    if size > MAX_MODEL_BYTES:
        raise ValueError(f"the file is {size / 2**20:.0f} MB, over the {MAX_MODEL_BYTES >> 20} MB limit")
    if not zipfile.is_zipfile(path):
        raise ValueError("not a .keras file (a .keras file is a zip archive; save with model.save('name.keras'))")
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_MODEL_BYTES:
        raise ValueError(f"the archive unpacks to {unpacked / 2**20:.0f} MB, over the limit: refused")


def _shape(tensor_shape):
    return [None if d is None else int(d) for d in tensor_shape]


def describe(model) -> dict:
    layers = []
    for layer in model.layers:
        entry = {
            "class": type(layer).__name__,
            "name": layer.name,
            "params": int(layer.count_params()),
        }
        try:
            output = layer.output
            entry["output_shape"] = _shape(output.shape) if not isinstance(output, (list, tuple)) else None
        except Exception:
            entry["output_shape"] = None
        inner = getattr(layer, "forward_layer", None) or getattr(layer, "layer", None)
        if inner is not None:
            entry["wraps"] = type(inner).__name__
        config = layer.get_config()
        for key in ("units", "return_sequences", "dropout", "recurrent_dropout", "filters",
                    "kernel_size", "pool_size", "activation", "rate", "input_dim", "output_dim"):
            if key in config:
                value = config[key]
                entry[key] = value if isinstance(value, (int, float, str, bool, list, type(None))) else str(value)
        layers.append(entry)
    inputs = model.inputs if isinstance(model.inputs, (list, tuple)) else [model.inputs]
    return {
        "class": type(model).__name__,
        "inputs": [_shape(t.shape) for t in inputs],
        "output": _shape(model.outputs[0].shape) if len(model.outputs) == 1 else None,
        "n_outputs": len(model.outputs),
        "params": int(model.count_params()),
        "layers": layers,
    }


def read_events(folder: str) -> list[dict]:
    """Scalar series of every TensorBoard event file under `folder`: file, first wall time, tag -> steps."""
    import tensorflow as tf

    found = []
    for root, _, names in sorted(os.walk(folder)):
        for name in sorted(names):
            if "tfevents" not in name:
                continue
            path = os.path.join(root, name)
            series, first_time = {}, None
            try:
                for event in tf.compat.v1.train.summary_iterator(path):
                    first_time = event.wall_time if first_time is None else min(first_time, event.wall_time)
                    for value in event.summary.value:
                        series.setdefault(value.tag, []).append(int(event.step))
            except Exception as exc:  # a cut-off event file: keep what was read, say so
                series.setdefault("_error", []).append(str(exc)[:200])
            found.append({"file": os.path.relpath(path, folder), "first_time": first_time, "series": series})
    return found


def build_reference(source: str, function: str, args: list):
    """The instructor's builder from the solution notebook (trusted code, never a student's)."""
    import numpy as np
    import keras
    import tensorflow as tf

    namespace = {"keras": keras, "layers": keras.layers, "tf": tf, "np": np}
    exec(compile(source, "<solution builder>", "exec"), namespace)
    return namespace[function](*args)


def _inputs(name: str, images: dict):
    """A named image set (scaled to [0, 1] like the notebooks do) or an .npy file the grader wrote."""
    import numpy as np

    raw = name.endswith("_raw")  # pixels as stored (0-255): tells a model trained unscaled
    base = name.removesuffix("_raw")
    if base in IMAGE_INPUTS:
        if images.get(base) is None:
            raise ValueError(f"the evaluator was started without the {base} images")
        return images[base].astype("float32") / (1.0 if raw else 255.0)
    return np.load(name, allow_pickle=False)


def _serve_one(request: dict, images: dict) -> None:
    """In the forked child: do the request, write the results, exit."""
    import numpy as np
    import keras

    out = request["out"]
    if request.get("events"):
        with open(f"{out}/events.json", "w") as f:
            json.dump(read_events(request["events"]), f)
    if request.get("reference"):
        ref = request["reference"]
        model = build_reference(ref["source"], ref["function"], ref.get("args", []))
        with open(f"{out}/reference.json", "w") as f:
            json.dump(describe(model), f)
    if request.get("model"):
        _check_archive(request["model"])
        try:
            model = keras.saving.load_model(request["model"], safe_mode=True, compile=False)
        except Exception as exc:
            text = str(exc)
            if "Lambda" in text or "safe_mode" in text:
                raise ValueError(
                    "safe mode refused to load it: the model contains code (e.g. a Lambda layer); "
                    "use built-in Keras layers only"
                ) from None
            raise ValueError(f"Keras could not load it: {type(exc).__name__}: {text[:300]}") from None
        with open(f"{out}/description.json", "w") as f:
            json.dump(describe(model), f)
        inputs = request.get("inputs")
        named = [(inputs, "predictions.npy")] if inputs else []
        named += [(name, f"predictions-{name}.npy") for name in request.get("also") or []]
        for source, target in named:
            predictions = model.predict(_inputs(source, images), batch_size=500, verbose=0)
            if isinstance(predictions, (list, tuple)):
                raise ValueError(f"the model has {len(predictions)} outputs; one was expected")
            np.save(f"{out}/{target}", np.asarray(predictions, dtype="float32"))


def _child(request: dict, images: dict, timeout: float, tmp: str) -> None:
    signal.alarm(int(timeout) + 1)
    os.environ["TMPDIR"] = tmp  # Keras unpacks some .keras files into the temp folder
    tempfile.tempdir = tmp
    status = 0
    try:
        _serve_one(request, images)
    except BaseException as exc:
        with open(f"{request['out']}/error.txt", "w") as f:
            f.write(str(exc) or type(exc).__name__)
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _remove(folder: str) -> None:
    """rm -rf: a tree unpacked from a hostile archive may be deeper than shutil.rmtree recurses."""
    try:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", folder], check=False, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        pass
    shutil.rmtree(folder, ignore_errors=True)


def serve(timeout: float) -> None:
    import numpy as np

    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # prints from Keras/TensorFlow go to stderr, never into the protocol
    import keras  # noqa: F401  (the import is what the fork server exists to pay once)
    import tensorflow  # noqa: F401

    images = {}
    for name, variable in IMAGE_INPUTS.items():
        path = os.environ.get(variable)
        images[name] = np.load(path, allow_pickle=False) if path and os.path.exists(path) else None
    protocol.write(json.dumps({"ready": True}) + "\n")
    requests_tmp = tempfile.mkdtemp(prefix="requests-")
    for number, line in enumerate(sys.stdin):
        request = json.loads(line)
        started = time.monotonic()
        # each request's own temp folder, removed whatever the child left there (killed mid-load,
        # a model that unpacks gigabytes): the next student's model starts from an empty /tmp
        tmp = os.path.join(requests_tmp, str(number))
        os.mkdir(tmp)
        pid = os.fork()
        if pid == 0:
            _child(request, images, timeout, tmp)
        error = None
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - started > timeout:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                error = f"loading and evaluating the model took over {timeout:.0f} s"
                status = -1
                break
            time.sleep(0.01)
        if error is None and status != 0:
            try:
                with open(f"{request['out']}/error.txt") as f:
                    error = f.read()
            except OSError:
                signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
                error = f"the evaluator process died (signal {signum})" if signum else "the evaluator failed"
                if signum == signal.SIGKILL:
                    error += ": probably out of memory"
        _remove(tmp)
        protocol.write(json.dumps({"id": request["id"], "ok": error is None, "error": error}) + "\n")


if __name__ == "__main__":
    serve(float(sys.argv[1]) if len(sys.argv) > 1 else 120.0)
