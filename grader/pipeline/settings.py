"""Everything a class run needs that does not change from one submission to the next."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.assign.spec import Assignment
from grader.sandbox.limits import Limits


@dataclass
class RunSettings:
    specs: dict[str, Assignment]  # with keys: never handed to a sandbox
    limits: Limits = field(default_factory=Limits)
    sandboxed: bool = True
    seed: int | None = None  # None: the report folder's seed, else a new one
    check_settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # command line: check -> {name: value}
    limit_sources: dict[str, str] = field(default_factory=dict)  # limit -> "command line" / "built-in default"
    rerun: bool = False  # run every submission again, stored run records or not
    notebook_mnist: Path | None = None  # what load_data() returns inside the sandbox
    test_images: Path | None = None  # real test images, for the evaluator only
    test_labels: np.ndarray | None = None  # real test labels: stay in this process
    sealed_images: Path | None = None  # sealed training digits, for the evaluator only
    sealed_labels: np.ndarray | None = None  # their labels: stay in this process
    data_note: dict[str, str] = field(default_factory=dict)  # for reports: which data was used
    data_sha256: str = ""  # of the MNIST copy: part of every run plan
    solutions: Path | None = None  # where the keys were read
    course: Path | None = None  # course.toml: due times, late policy, extensions (read at judging time)
    isolation: str = ""  # "bubblewrap", "container" or "none"; "" means as `sandboxed` says
    preflight: bool = False  # before running any notebook, check that the sandbox works here

    def __post_init__(self):
        if not self.isolation:
            self.isolation = "bubblewrap" if self.sandboxed else "none"
        self.sandboxed = self.isolation != "none"
