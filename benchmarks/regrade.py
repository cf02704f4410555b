"""Regrading a synthetic class: how long `grade` takes when nothing changed, and after a key change.

    python benchmarks/regrade.py [--students 100] [--keep DIR | --reuse DIR]

Builds the light synthetic class of benchmarks/grade_class.py (a choice, `mlp_forward`, a small
MNIST model per student; a third of the students answer the choice wrongly), grades it once with
`grade -j 2` (every notebook runs in its sandbox), then times, as a user would run them:

  unchanged   `grade` again on the same report folder: target under 2 s for 100 submissions;
  key change  `grade` with the choice's key changed in the solutions: every stored run record is
              judged again (no kernel starts), reports rewritten, regrade-<time>.md written:
              target under 10 s for 100 submissions.

`--reuse DIR` skips building and the first grading and times the two regrades on a folder kept
by an earlier `--keep DIR`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from grade_class import NOTEBOOK, _notebook, solution_notebook, student_code_cells  # noqa: E402

TARGET_UNCHANGED, TARGET_KEY_CHANGE = 2.0, 10.0


def build(tmp: Path, students: int) -> tuple[Path, Path]:
    solutions = tmp / "solutions"
    solutions.mkdir(parents=True)
    nbformat.write(solution_notebook(), solutions / NOTEBOOK)
    class_dir = tmp / "class"
    for i in range(students):
        folder = class_dir / f"student{i + 1:03d}"
        folder.mkdir(parents=True)
        cells = student_code_cells(seed=i)
        if i % 3 == 0:
            cells = [c.replace('answer_q1 = "B"', 'answer_q1 = "C"') for c in cells]
        nbformat.write(_notebook(cells), folder / NOTEBOOK)
    return solutions, class_dir


def changed_key(solutions: Path, target: Path) -> Path:
    target.mkdir(exist_ok=True)
    text = (solutions / NOTEBOOK).read_text().replace('answer_q1 = \\"B\\"', 'answer_q1 = \\"C\\"')
    assert 'answer_q1 = \\"C\\"' in text
    (target / NOTEBOOK).write_text(text)
    return target


def grade(class_dir: Path, out: Path, solutions: Path, *extra: str) -> tuple[float, str]:
    argv = [sys.executable, "-m", "grader.cli", str(class_dir), "--out", str(out), "--solutions", str(solutions), *extra]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=HERE.parent)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"grade failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="build in DIR (must not exist) and leave it there")
    parser.add_argument("--reuse", type=Path, help="time the regrades on a folder kept by --keep")
    args = parser.parse_args(argv)
    if args.reuse:
        tmp = args.reuse.resolve()
    elif args.keep:
        args.keep.mkdir(parents=True)
        tmp = args.keep.resolve()
    else:
        tmp = Path(tempfile.mkdtemp(prefix="homl-regrade-", dir=os.environ.get("HOML_BENCH_DIR")))
    try:
        out = tmp / "reports"
        if not args.reuse:
            solutions, class_dir = build(tmp, args.students)
            first, _ = grade(class_dir, out, solutions, "--seed", "0", "-j", "2")
            print(f"first grading: {args.students} submissions in {first:.0f} s (every notebook run)")
        solutions, class_dir = tmp / "solutions", tmp / "class"
        n = len(list(class_dir.iterdir()))
        for log in out.glob("regrade-*.md"):
            log.unlink()
        unchanged, text = grade(class_dir, out, solutions)
        assert f"0 run, 0 judged again from stored runs, {n} unchanged" in text, text[-500:]
        changed, text = grade(class_dir, out, changed_key(solutions, tmp / "solutions-C"))
        assert f"0 run, {n} judged again from stored runs" in text, text[-500:]
        moved = len(re.findall(r"^moved: ", text, re.MULTILINE))
        back, _ = grade(class_dir, out, solutions)  # and back, so --reuse starts from the same keys
        print(f"unchanged class:      {unchanged:5.2f} s for {n} submissions (target < {TARGET_UNCHANGED:g} s)"
              f" {'ok' if unchanged < TARGET_UNCHANGED else 'MISSED'}")
        print(f"after a key change:   {changed:5.2f} s for {n} submissions, {moved} moved (target < {TARGET_KEY_CHANGE:g} s)"
              f" {'ok' if changed < TARGET_KEY_CHANGE else 'MISSED'}")
        print(f"key changed back:     {back:5.2f} s")
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    finally:
        if not (args.keep or args.reuse):
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
