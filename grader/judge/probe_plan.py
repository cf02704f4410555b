"""The calls the grader asks the probe to make, and what came back."""

from __future__ import annotations

import io
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.sandbox.untrusted_files import check_npz, check_results_json


@dataclass
class CallResult:
    ok: bool
    error: str | None
    values: list[Any]  # str / int / array / {"model": path}


@dataclass
class ProbePlan:
    calls: list[dict] = field(default_factory=list)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    signatures: set[str] = field(default_factory=set)

    def call(self, function: str, args: list, as_: str, repeat: int = 1) -> str:
        """Add a call; numpy arrays among `args` travel as arrays. Returns the call id."""
        call_id = f"c{len(self.calls)}"
        encoded = []
        for k, arg in enumerate(args):
            if isinstance(arg, np.ndarray):
                name = f"{call_id}_a{k}"
                self.arrays[name] = arg
                encoded.append({"array": name})
            else:
                encoded.append(arg)
        self.calls.append({"id": call_id, "function": function, "args": encoded, "as": as_, "repeat": repeat})
        self.signatures.add(function)
        return call_id

    def write(self, folder: Path, call_timeout: int) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / "inputs.npz", **self.arrays)
        plan = {
            "arrays": str(folder / "inputs.npz"),
            "out": str(folder),
            "calls": self.calls,
            "signatures": sorted(self.signatures),
            "call_timeout": call_timeout,
        }
        path = folder / "plan.json"
        path.write_text(json.dumps(plan))
        return path


MAX_RESULTS_MB = 256


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


@dataclass
class ProbeResults:
    signatures: dict[str, dict]
    calls: dict[str, CallResult]
    missing_reason: str | None = None  # why there are no results at all
    folder: Path | None = None  # where the probe saved files (models)

    @classmethod
    def read(cls, folder: Path, missing_reason: str | None, token: str = "") -> "ProbeResults":
        """Results written by the probe; never trusted beyond plain data.

        Nothing is read when the probe did not finish (`missing_reason`): files in the folder
        could then only be the notebook's own. `token` names the files of this probe run.
        """
        if missing_reason:
            return cls({}, {}, missing_reason)
        suffix = f"-{token}" if token else ""
        try:
            check_results_json(folder / f"results{suffix}.json")  # sizes and npz headers, before loading
            check_npz(folder / f"arrays{suffix}.npz")
            raw = json.loads(read_sandbox_file(folder / f"results{suffix}.json"))
            with np.load(io.BytesIO(read_sandbox_file(folder / f"arrays{suffix}.npz")), allow_pickle=False) as arrays:
                arrays = dict(arrays)
            return cls(raw["signatures"], _calls(raw["calls"], arrays), folder=folder)
        except Exception as exc:  # missing, cut off or malformed: one report says so, the class goes on
            return cls({}, {}, f"the probe left no readable results ({type(exc).__name__}: {str(exc)[:200]})")

    def model_file(self, value) -> Path | None:
        """The .keras file the probe saved, or None: the path comes from the sandbox, so it must
        name a regular file in the probe's folder, not a link or some other file of this machine."""
        try:
            path = Path(value["model"])
            if path.parent != self.folder or path.suffix != ".keras" or path.is_symlink() or not path.is_file():
                return None
            return path
        except (TypeError, KeyError, ValueError, OSError):
            return None

    def result(self, call_id: str) -> CallResult:
        if self.missing_reason:
            return CallResult(False, self.missing_reason, [])
        return self.calls.get(call_id) or CallResult(False, "the grader's call was not made", [])


def _calls(raw: dict, arrays: dict[str, np.ndarray]) -> dict[str, CallResult]:
    calls = {}
    for call_id, entry in raw.items():
        values = []
        for value in entry.get("values", []):
            if isinstance(value, dict) and "array" in value:
                values.append(arrays.get(value["array"]))
            else:
                values.append(value)
        calls[call_id] = CallResult(bool(entry.get("ok")), entry.get("error"), values)
    return calls
