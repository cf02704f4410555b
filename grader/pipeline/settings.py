"""Everything a grading run needs that does not change from one submission to the next."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.assign.spec import Assignment
from grader.sandbox.limits import Limits


@dataclass
class RunSettings:
    specs: dict[str, Assignment]  # with keys: never handed to a sandbox
    limits: Limits = field(default_factory=Limits)
    sandboxed: bool = True
    isolation: str = "bubblewrap"  # when sandboxed: "bubblewrap" or "container" (grader.sandbox.isolation)
    seed: int = 0
    thresholds: dict[str, float] = field(default_factory=dict)  # model check -> accuracy threshold
    alpha: float = 0.001
    notebook_mnist: Path | None = None  # what load_data() returns inside the sandbox
    test_images: Path | None = None  # real test images, for the evaluator only
    test_labels: np.ndarray | None = None  # real test labels: stay in this process
    data_note: dict[str, str] = field(default_factory=dict)  # for reports: which data was used

    def rng_for(self, student: str, assignment: str) -> np.random.Generator:
        """Inputs for one submission depend on the run's seed and the submission, not on -j order."""
        digest = hashlib.sha256(f"{self.seed}/{student}/{assignment}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "big"))
