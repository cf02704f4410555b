"""A run plan: everything that decides what running a submission produces.

Two runs with the same submission (sha256) and the same plan digest produce the same facts, so a
run record is identified by (sha256, plan digest) and judged again instead of run again. The plan
holds the calls and their inputs, the evaluation inputs, the limits that change behaviour, the
isolation, the data and the version of the code that runs inside the sandbox; it holds no key.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.assign.spec import STATIC_KINDS, Assignment
from grader.checks import PartPlan, check_for
from grader.judge.artifacts import training_cell
from grader.sandbox.limits import Limits

INSIDE = Path(__file__).resolve().parents[1] / "inside"
# limits that change what a notebook does (not threads: -j must not force a re-run)
BEHAVIOUR_LIMITS = ("cell_timeout", "notebook_timeout", "memory_mb", "max_processes", "output_chars", "files_mb", "model_timeout")


@functools.lru_cache(maxsize=1)
def inside_version() -> str:
    """Digest of the code that runs inside sandboxes: a change there re-runs every submission."""
    digest = hashlib.sha256()
    for path in sorted(INSIDE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def part_key(item, part) -> str:
    return f"{item.id}/{part.label}"


def part_rng(seed: int, student: str, assignment: str, key: str) -> np.random.Generator:
    """Inputs of one part depend on the seed, the submission and the part only (not on -j order,
    nor on other parts: adding an item leaves every other part's inputs as they were)."""
    digest = hashlib.sha256(f"{seed}/{student}/{assignment}/{key}".encode("utf-8", "surrogatepass")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


@dataclass
class RunPlan:
    mode: str  # "grade" or "check"
    parts: dict[str, PartPlan] = field(default_factory=dict)  # part key -> what to do
    static_names: list[str] = field(default_factory=list)  # answers read statically (not in the digest)
    definitions: list[str] = field(default_factory=list)  # functions whose code is read for code rules (idem)
    rerun_cell: int | None = None  # the last `.fit(` cell, run a second time after the notebook
    environment: dict = field(default_factory=dict)  # limits, isolation, data, inside code version

    def to_json(self) -> dict:
        return {
            "mode": self.mode,
            "parts": {key: part.to_json() for key, part in self.parts.items()},
            "rerun_cell": self.rerun_cell,
            "environment": self.environment,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        """Every input array, named by part index and call."""
        return {f"in{i}_{name}": array for i, part in enumerate(self.parts.values()) for name, array in part.arrays.items()}

    @property
    def runs_code(self) -> bool:
        return any(p.calls or p.model or p.training for p in self.parts.values())

    def digest(self) -> str:
        h = hashlib.sha256(json.dumps(self.to_json(), sort_keys=True, default=str).encode())
        for name, array in sorted(self.arrays().items()):
            h.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
            h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()


def make_plan(
    spec: Assignment,
    nb,
    *,
    mode: str,
    seed: int,
    student: str,
    limits: Limits,
    isolation: str,
    data: str,
) -> RunPlan:
    """The plan for one submission; `nb` is only read (which cell trains, for the re-run)."""
    plan = RunPlan(mode)
    for item in spec.items:
        for part in item.parts:
            if part.kind in STATIC_KINDS:
                plan.static_names.append(part.name)
                continue
            key = part_key(item, part)
            if part.kind in ("function", "builder"):
                plan.definitions.append(part.name)
            check = check_for(part)
            plan.parts[key] = check.plan(part, part_rng(seed, student, spec.id, key), mode)
            if mode == "check" and hasattr(check, "plan_example"):
                check.plan_example(part, plan.parts[key])
    if any(p.training for p in plan.parts.values()) and nb is not None:
        plan.rerun_cell = training_cell(nb)
    plan.environment = {
        "limits": {name: getattr(limits, name) for name in BEHAVIOUR_LIMITS},
        "isolation": isolation,
        "data": data,
        "inside": inside_version(),
    }
    return plan
