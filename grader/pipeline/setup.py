"""Building a run's settings from what the instructor asked for and what this machine has."""

from __future__ import annotations

import random
from pathlib import Path

from grader.assign.spec import load_solutions
from grader.data import mnist
from grader.pipeline.settings import RunSettings
from grader.sandbox.limits import Limits

SOURCE_SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


def solutions_folder(given: Path | None) -> Path:
    """--solutions, else ./solutions, else the solutions of the source checkout."""
    if given is not None and not any(Path(given).glob("*.ipynb")):
        # never fall back to other keys than the ones asked for
        raise FileNotFoundError(f"no solution notebooks (*.ipynb) in {given}")
    for candidate in (given, Path("solutions"), SOURCE_SOLUTIONS):
        if candidate is not None and candidate.is_dir() and any(candidate.glob("*.ipynb")):
            return candidate
    raise FileNotFoundError(
        "no solution notebooks found: pass --solutions DIR (the folder with ch10.ipynb and ch14.ipynb)"
    )


def run_settings(
    solutions: Path | None,
    limits: Limits,
    sandboxed: bool,
    seed: int | None,
    thresholds: dict[str, float],
    alpha: float,
    isolation: str = "bubblewrap",
) -> RunSettings:
    specs = load_solutions(solutions_folder(solutions))
    copy = mnist.active()
    files = mnist.sandbox_files(copy)
    return RunSettings(
        specs=specs,
        limits=limits,
        sandboxed=sandboxed,
        isolation=isolation,
        seed=seed if seed is not None else random.SystemRandom().randrange(2**31),
        thresholds=thresholds,
        alpha=alpha,
        notebook_mnist=files.notebook_npz,
        test_images=files.test_images,
        test_labels=mnist.test_labels(copy),
        data_note={"mnist": f"{copy.sha256} ({copy.origin})"},
    )
