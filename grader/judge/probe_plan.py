"""The calls the grader asks the probe to make, and what came back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


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


@dataclass
class ProbeResults:
    signatures: dict[str, dict]
    calls: dict[str, CallResult]
    missing_reason: str | None = None  # why there are no results at all

    @classmethod
    def read(cls, folder: Path, missing_reason: str) -> "ProbeResults":
        """Results written by the probe; never trusted beyond plain data."""
        try:
            raw = json.loads((folder / "results.json").read_text())
            with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:
                arrays = dict(arrays)
        except (OSError, ValueError) as exc:
            return cls({}, {}, missing_reason or f"the probe left no readable results ({exc})")
        calls = {}
        for call_id, entry in raw.get("calls", {}).items():
            values = []
            for value in entry.get("values", []):
                if isinstance(value, dict) and "array" in value:
                    values.append(arrays.get(value["array"]))
                else:
                    values.append(value)
            calls[call_id] = CallResult(bool(entry.get("ok")), entry.get("error"), values)
        return cls(raw.get("signatures", {}), calls)

    def result(self, call_id: str) -> CallResult:
        if self.missing_reason:
            return CallResult(False, self.missing_reason, [])
        return self.calls.get(call_id) or CallResult(False, "the grader's call was not made", [])
