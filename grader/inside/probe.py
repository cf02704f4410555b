"""Runs in the student's kernel after the notebook: calls the student's functions with the
inputs the grader chose and writes back what they returned, as plain data.

Nothing here decides a score: the grader compares the returned data outside the sandbox, so
student code that tampers with this module can at worst spoil its own results.

Plan (JSON): {"arrays": "<npz of inputs>", "out": "<folder>", "calls": [
    {"id": "c0", "function": "mlp_forward", "args": [{"array": "c0_X"}, 3, {"global": "g"}],
     "repeat": 1, "as": "array" | "str" | "int" | "model"}],
  "signatures": ["mlp_forward", ...], "call_timeout": 30}
Results: <out>/results-<token>.json ({"signatures": {...}, "calls": {id: {"ok", "error", "values"}}})
and <out>/arrays-<token>.npz (array results as "<id>_<k>"), models as <out>/<id>.keras. The token
comes only with the probe's own cell, so no file the notebook wrote beforehand can pass for them.

The kernel launcher imports this module before any student cell runs: the functions it writes
with are bound here then, so a notebook that monkeypatches `open` or `json.dump` later does not
rewrite what the probe reports. (A notebook set on forging can still patch this module itself;
what it gains is at most what hard-coding its answers would give.)
"""

from __future__ import annotations

import builtins
import inspect
import json
import os
import signal
import traceback

_open = builtins.open
_dumps = json.dumps
_load = json.load
_signature_of = inspect.signature
_os_open = os.open
_O_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


class _CallTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _CallTimeout()


def _resolve(arg, arrays, namespace):
    if isinstance(arg, dict) and "array" in arg:
        return arrays[arg["array"]].copy()
    if isinstance(arg, dict) and "global" in arg:
        return namespace[arg["global"]]
    return arg


def _convert(value, kind, call_id, k, arrays_out, out_dir):
    import numpy as np

    if kind == "model":
        if not hasattr(value, "save") or not hasattr(value, "layers"):
            raise TypeError(f"returned {type(value).__name__}, not a Keras model")
        path = f"{out_dir}/{call_id}_{k}.keras"
        value.save(path)
        return {"model": path, "type": type(value).__name__}
    if kind == "str":
        if not isinstance(value, str):
            raise TypeError(f"returned {type(value).__name__}, not str")
        return value
    if kind == "int":
        if isinstance(value, (bool, np.bool_)):
            return int(value)
        if not isinstance(value, (int, np.integer)):
            raise TypeError(f"returned {type(value).__name__} {value!r:.40}, not an int")
        return int(value)
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise TypeError(f"returned {type(value).__name__} that is not an array of numbers")
    key = f"{call_id}_{k}"
    arrays_out[key] = array
    return {"array": key, "type": type(value).__name__}


def _signature(namespace, name):
    if name not in namespace:
        return {"defined": False}
    obj = namespace[name]
    if not callable(obj):
        return {"defined": True, "callable": False, "type": type(obj).__name__}
    try:
        params = list(_signature_of(obj).parameters)
    except (TypeError, ValueError):
        params = None
    return {"defined": True, "callable": True, "params": params}


def _cell_counts() -> dict:
    """Filename IPython compiled a cell under -> that cell's execution count (In [n])."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        return dict(getattr(shell.compile, "_filename_map", {}) or {}) if shell else {}
    except Exception:  # not in IPython, or its internals moved: lines without cell numbers
        return {}


def _is_cell_file(filename: str) -> bool:
    return filename in _CELL_FILES or "ipykernel_" in filename or filename.startswith("<ipython-input")


_CELL_FILES: dict = {}


def _student_line(tb) -> str:
    """ " (In [12], line 3: `code`)": the deepest frame in the student's cells, not in library
    code (Keras, NumPy) the student called, nor in this probe."""
    _CELL_FILES.update(_cell_counts())
    frames = [f for f in traceback.extract_tb(tb) if f.filename != __file__]
    for frame in reversed(frames):
        if _is_cell_file(frame.filename):
            count = _CELL_FILES.get(frame.filename)
            cell = f"In [{count}], " if isinstance(count, int) else ""
            code = f": `{frame.line.strip()[:120]}`" if frame.line and frame.line.strip() else ""
            return f" ({cell}line {frame.lineno}{code})"
    return ""


def _write_new(path, data: bytes) -> None:
    """Write a file that must not exist yet (never through a link the notebook left there)."""
    fd = _os_open(path, _O_NEW, 0o644)
    with _open(fd, "wb") as f:
        f.write(data)


def run(namespace, plan_path, token=""):
    import io

    import numpy as np

    with _open(plan_path) as f:
        plan = _load(f)
    arrays = dict(np.load(plan["arrays"], allow_pickle=False)) if plan.get("arrays") else {}
    out_dir = plan["out"]
    results = {"signatures": {n: _signature(namespace, n) for n in plan.get("signatures", [])}, "calls": {}}
    arrays_out = {}
    timeout = int(plan.get("call_timeout", 30))
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        for call in plan["calls"]:
            entry = {"ok": True, "error": None, "values": []}
            results["calls"][call["id"]] = entry
            function = namespace.get(call["function"])
            if not callable(function):
                entry.update(ok=False, error=f"{call['function']} is not defined", exception="NameError")
                continue
            for k in range(call.get("repeat", 1)):
                signal.alarm(timeout)
                try:
                    args = [_resolve(a, arrays, namespace) for a in call.get("args", [])]
                    value = function(*args)
                    entry["values"].append(_convert(value, call["as"], call["id"], k, arrays_out, out_dir))
                except _CallTimeout:
                    entry.update(ok=False, error=f"did not return within {timeout} s", exception="timeout")
                    break
                except BaseException as exc:  # the student's exception, reported to them
                    where = _student_line(exc.__traceback__)
                    entry.update(ok=False, error=f"{type(exc).__name__}: {str(exc)[:300]}{where}",
                                 exception=type(exc).__name__)
                    break
                finally:
                    signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    suffix = f"-{token}" if token else ""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays_out)
    _write_new(f"{out_dir}/arrays{suffix}.npz", buffer.getvalue())
    _write_new(f"{out_dir}/results{suffix}.json", _dumps(results).encode())
