"""Building a run's settings from what the instructor asked for and what this machine has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    check_settings: dict[str, dict[str, Any]],
    limit_sources: dict[str, str] | None = None,
    rerun: bool = False,
) -> RunSettings:
    folder = solutions_folder(solutions)
    specs = load_solutions(folder)
    copy = mnist.active()
    files = mnist.sandbox_files(copy)
    return RunSettings(
        specs=specs,
        limits=limits,
        sandboxed=sandboxed,
        seed=seed,
        check_settings=check_settings,
        limit_sources=limit_sources or {},
        rerun=rerun,
        notebook_mnist=files.notebook_npz,
        test_images=files.test_images,
        test_labels=mnist.test_labels(copy),
        sealed_images=files.sealed_images,
        sealed_labels=mnist.sealed_labels(copy),
        data_note={"mnist": f"{copy.sha256} ({copy.origin})"},
        data_sha256=copy.sha256,
        solutions=folder.resolve(),
    )
