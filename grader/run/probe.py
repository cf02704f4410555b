"""The probe's side of the run stage: the plan file it reads in the kernel, and its results read
back as untrusted plain data (grader/inside/probe.py is the part that runs in the sandbox)."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import numpy as np

from grader.run.plan import RunPlan
from grader.sandbox.untrusted_files import check_npz, check_results_json

MAX_RESULTS_MB = 256
CALL_TIMEOUT = 60  # seconds per call
PROBE_TIMEOUT = 120  # seconds for all calls of one notebook


def write_plan(plan: RunPlan, folder: Path) -> Path | None:
    """The probe's plan (calls renamed p<part><call> so they are unique); None when there is no call."""
    calls, signatures = [], []
    for index, part in enumerate(plan.parts.values()):
        for call in part.calls:
            args = [{"array": f"in{index}_{a['array']}"} if isinstance(a, dict) and "array" in a else a for a in call["args"]]
            calls.append({**call, "id": f"p{index}{call['id']}", "args": args})
        signatures += [s for s in part.signatures if s not in signatures]
    if not calls:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "inputs.npz", **plan.arrays())
    path = folder / "plan.json"
    path.write_text(json.dumps({
        "arrays": str(folder / "inputs.npz"),
        "out": str(folder),
        "calls": calls,
        "signatures": signatures,
        "call_timeout": CALL_TIMEOUT,
    }))
    return path


def read_sandbox_file(path: Path, max_mb: int = MAX_RESULTS_MB) -> bytes:
    """A file the sandbox wrote, read without following a link it planted (to a host file, a
    FIFO, /dev/zero) and only up to a size: the folder is writable from inside."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path.name} is not a regular file")
        if info.st_size > max_mb * 2**20:
            raise ValueError(f"{path.name} is over {max_mb} MB")
        return f.read(max_mb * 2**20 + 1)


def read_results(folder: Path, token: str) -> tuple[dict, dict[str, np.ndarray]]:
    """(results JSON, returned arrays) written by the probe run marked `token`; raises when they
    are missing, cut off or malformed."""
    results = read_sandbox_file(folder / f"results-{token}.json")
    check_results_json(results)  # sizes and member headers first: a forged file costs nothing
    npz = read_sandbox_file(folder / f"arrays-{token}.npz")
    check_npz(npz)
    raw = json.loads(results)
    with np.load(io.BytesIO(npz), allow_pickle=False) as arrays:
        arrays = {name: arrays[name] for name in arrays.files}
    if not isinstance(raw, dict) or not isinstance(raw.get("calls"), dict) or not isinstance(raw.get("signatures"), dict):
        raise ValueError("results are not in the probe's format")
    return raw, arrays


def model_file(folder: Path, value) -> Path | None:
    """The .keras file the probe saved for a returned model, or None: the path comes from the
    sandbox, so it must name a regular file in the probe's folder, not a link or another file."""
    try:
        path = Path(value["model"])
        if path.parent != folder or path.suffix != ".keras" or path.is_symlink() or not path.is_file():
            return None
        return path
    except (TypeError, KeyError, ValueError, OSError):
        return None
