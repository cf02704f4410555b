"""The run record: what running one submission produced, as plain data (no pickles, no code).

On disk, a folder `<sha256[:16]>-<plan digest[:16]>/` holding
    record.json      facts: static answers, execution, probe results, models, training
    arrays.npz       arrays: call inputs ("in…"), returned arrays ("out…"), predictions ("pred…")
    executed.ipynb   the executed notebook, for the HTML report
written into a temporary folder and renamed into place, so a record is whole or absent.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from grader.checks import CallResult, PartFacts
from grader.run.static import found_from_data

FORMAT = 1
FILES = ("record.json", "arrays.npz", "executed.ipynb")


def record_name(sha256: str, plan_digest: str) -> str:
    return f"{sha256[:16]}-{plan_digest[:16]}"


def _resolve(value: Any, arrays: dict[str, np.ndarray], prefix: str) -> Any:
    if isinstance(value, dict) and "array" in value:
        return arrays.get(prefix + value["array"])
    return value


@dataclass
class RunRecord:
    data: dict  # record.json
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    executed: Any = None  # nbformat notebook, or None when nothing ran

    @property
    def name(self) -> str:
        return record_name(self.data["submission"]["sha256"], self.data["plan_digest"])

    # --- files ---------------------------------------------------------------------------------

    def to_files(self) -> dict[str, bytes]:
        buffer = io.BytesIO()
        np.savez(buffer, **self.arrays)
        files = {
            "record.json": json.dumps(self.data, default=str).encode("ascii"),  # \u escapes: any text round-trips
            "arrays.npz": buffer.getvalue(),
        }
        if self.executed is not None:
            files["executed.ipynb"] = nbformat.writes(self.executed).encode("utf-8", "replace")
        return files

    @classmethod
    def from_files(cls, files: dict[str, bytes]) -> "RunRecord":
        data = json.loads(files["record.json"])
        if data.get("format") != FORMAT:
            raise ValueError(f"run record format {data.get('format')!r}, expected {FORMAT}")
        with np.load(io.BytesIO(files["arrays.npz"]), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        executed = None
        if "executed.ipynb" in files:
            executed = nbformat.reads(files["executed.ipynb"].decode("utf-8"), as_version=4)
        return cls(data, arrays, executed)

    def write(self, runs: Path) -> Path:
        """Write under `runs/` atomically; an existing record of the same name is replaced."""
        target = Path(runs) / self.name
        temp = Path(runs) / f".{self.name}.{secrets.token_hex(4)}.tmp"
        temp.mkdir(parents=True)
        try:
            for name, content in self.to_files().items():
                with open(temp / name, "wb") as f:
                    f.write(content)
                    f.flush()
                    os.fsync(f.fileno())
            if target.exists():
                shutil.rmtree(target)
            os.rename(temp, target)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        return target

    @classmethod
    def read(cls, folder: Path, with_notebook: bool = False) -> "RunRecord":
        files = {}
        for name in FILES:
            path = Path(folder) / name
            if name == "executed.ipynb" and not with_notebook:
                continue
            if path.exists():
                files[name] = path.read_bytes()
        return cls.from_files(files)

    # --- facts for the checks --------------------------------------------------------------------

    def facts(self, key: str, part) -> PartFacts:
        """What the record holds for the part with key `key` (see grader/run/plan.py)."""
        plan_parts = self.data["plan"]["parts"]
        static = self.data.get("static", {})
        if key not in plan_parts:  # a static part
            found = static.get(part.name)
            return PartFacts(plan={}, static=found_from_data(found) if found else None)
        index = list(plan_parts).index(key)
        plan = plan_parts[key]
        probe = self.data.get("probe", {})
        facts = PartFacts(
            plan=plan,
            signatures=probe.get("signatures", {}),
            missing_reason=probe.get("missing_reason"),
            definitions=self.data.get("definitions", {}),
            model=self._model_facts(index),
            training=self.data.get("training"),
        )
        for call in plan["calls"]:
            local = call["id"]
            facts.inputs[local] = [_resolve(a, self.arrays, f"in{index}_") for a in call["args"]]
            raw = probe.get("calls", {}).get(f"p{index}{local}")
            if raw is not None:
                facts.calls[local] = CallResult(
                    bool(raw.get("ok")),
                    raw.get("error"),
                    [_resolve(v, self.arrays, "out.") for v in raw.get("values", [])],
                    raw.get("exception"),
                    raw.get("models", []),
                )
        return facts

    def _model_facts(self, index: int) -> dict | None:
        model = self.data.get("models", {}).get(str(index))
        if model is None:
            return None
        model = dict(model)
        model["predictions"] = {
            name: self.arrays.get(ref) for name, ref in model.get("predictions", {}).items()
        }
        for name in ("kept", "validation_labels"):
            if isinstance(model.get(name), str):
                model[name] = self.arrays.get(model[name])
        return model
