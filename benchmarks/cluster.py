"""The cost of the Dask route, and what a class of any size costs in wall time.

    python benchmarks/cluster.py [--students 40] [--repeats 1] [--table-only] [--measure]

1. Overhead: grades the synthetic light class of benchmarks/grade_class.py (N students, one light
   notebook each) with `grade -j 2` and with `grade --cluster local:2`, alternately, each into a
   fresh report folder, with --threads 1 and the same seed, and prints the wall time of each and
   the overhead of the cluster route (target: within 10%).
2. Table: expected wall time to grade 100 / 1,000 / 5,000 students (one ch10 and one ch14
   notebook each) on 2, 32 and 256 cores, one notebook per core at one thread, from the CPU
   seconds one student costs (--ch10-cpu, --ch14-cpu; the README's reference figures by default,
   or, with --measure, the wall time of `grade -j 1 --threads 1` on each of the example class's
   reference notebooks: one notebook at one thread on an idle machine). Each worker also pays its model evaluator's
   start (--worker-start) once; queueing on a shared cluster is not included.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
if str(REPO) not in sys.path:
    sys.path.insert(1, str(REPO))

from grade_class import NOTEBOOK, BusyMeter, _notebook, solution_notebook, student_code_cells  # noqa: E402

STUDENTS = (100, 1_000, 5_000)
CORES = (2, 32, 256)
TARGET = 0.10


def build_class(tmp: Path, students: int) -> tuple[Path, Path]:
    solutions = tmp / "solutions"
    solutions.mkdir()
    nbformat.write(solution_notebook(), solutions / NOTEBOOK)
    class_dir = tmp / "class"
    for i in range(students):
        folder = class_dir / f"student{i + 1:03d}"
        folder.mkdir(parents=True)
        nbformat.write(_notebook(student_code_cells(seed=i)), folder / NOTEBOOK)
    return class_dir, solutions


def grade(class_dir: Path, solutions: Path, out: Path, route: list[str]) -> tuple[float, float, str]:
    """(wall seconds, cores busy on the whole machine meanwhile, problem or "") of one `grade` run
    into a fresh folder. (CPU time of the run cannot be read: sandboxes killed through their cgroup
    are never waited for, so their CPU time reaches no parent.)"""
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-m", "grader.cli", str(class_dir), "--solutions", str(solutions), "--seed", "0",
            "--threads", "1", "--out", str(out), *route]
    with BusyMeter() as meter:
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
        seconds = time.perf_counter() - started
    reports = list(out.glob(f"*/{NOTEBOOK.replace('.ipynb', '.json')}"))
    n = sum(1 for p in class_dir.iterdir() if p.is_dir())
    problem = ""
    if done.returncode != 0 or len(reports) != n:
        problem = f"exit {done.returncode}, {len(reports)} reports of {n}: {done.stderr.strip()[-500:]}"
    return seconds, meter.cores, problem


def overhead(students: int, repeats: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="homl-bench-cluster-", dir="/var/tmp"))
    try:
        class_dir, solutions = build_class(tmp, students)
        times: dict[str, list[float]] = {"-j 2": [], "--cluster local:2": []}
        routes = [("-j 2", ["-j", "2"]), ("--cluster local:2", ["--cluster", "local:2"])]
        for repeat in range(repeats):
            for name, route in routes[:: 1 if repeat % 2 == 0 else -1]:  # alternate the order: load drifts
                seconds, busy, problem = grade(class_dir, solutions, tmp / "out", route)
                if problem:
                    print(f"{name}: FAILED {problem}")
                    return
                times[name].append(seconds)
                print(f"{name:20s} {seconds:7.1f} s  {seconds / students:5.2f} s/submission  "
                      f"machine busy {busy:.2f} cores, load {os.getloadavg()[0]:.1f}", flush=True)
        local, cluster = min(times["-j 2"]), min(times["--cluster local:2"])
        ratio = cluster / local - 1
        verdict = "meets" if ratio <= TARGET else "misses"
        print(f"\n{students} submissions, best of {repeats}: -j 2 {local:.1f} s, --cluster local:2 {cluster:.1f} s: "
              f"overhead {ratio:+.1%} ({verdict} the {TARGET:.0%} target)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure_cpu() -> tuple[float, float]:
    """Seconds each reference notebook's run takes, graded alone with -j 1 --threads 1 (the report's
    duration_s: kernel start, the notebook, the probe and the model evaluation; not the preflight
    or the reports): its CPU cost when the machine is otherwise idle (the sandboxes' own CPU time
    reaches no parent to read it from)."""
    costs = []
    for assignment in ("ch10", "ch14"):
        tmp = Path(tempfile.mkdtemp(prefix="homl-bench-cpu-", dir="/var/tmp"))
        try:
            (tmp / "class" / "ada").mkdir(parents=True)
            shutil.copy(REPO / "examples" / "submissions" / "ada" / f"{assignment}.ipynb", tmp / "class" / "ada")
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "grader.cli", str(tmp / "class"), "--solutions", str(REPO / "solutions"),
                            "-j", "1", "--threads", "1", "--seed", "0", "--out", str(tmp / "out")],
                           check=True, capture_output=True, cwd=REPO)
            whole = time.perf_counter() - started
            report = json.loads((tmp / "out" / "ada" / f"{assignment}.json").read_text())
            costs.append(report["duration_s"])
            print(f"{assignment}: the run {report['duration_s']:.1f} s of {whole:.1f} s for the whole `grade` command", flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return costs[0], costs[1]


def wall_time(students: int, cores: int, ch10: float, ch14: float, worker_start: float) -> float:
    """At most this many seconds (Graham's bound for one queue feeding `cores` workers): each
    worker's start, the class's CPU spread over the cores, and one longest notebook for the last
    one to start."""
    longest = max(ch10, ch14)
    if 2 * students <= cores:
        return worker_start + longest
    return worker_start + students * (ch10 + ch14) / cores + longest


def _human(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def table(ch10: float, ch14: float, worker_start: float) -> None:
    per_student = ch10 + ch14
    print(f"\nExpected wall time (at most), one ch10 ({ch10:.0f} s CPU) and one ch14 ({ch14:.0f} s CPU) notebook per student, "
          f"one notebook per core at one thread, {worker_start:.0f} s per worker to start:\n")
    print("| students | " + " | ".join(f"{c} cores" for c in CORES) + " |")
    print("| ---: | " + " | ".join("---:" for _ in CORES) + " |")
    for n in STUDENTS:
        cells = [_human(wall_time(n, c, ch10, ch14, worker_start)) for c in CORES]
        print(f"| {n:,} | " + " | ".join(cells) + " |")
    print(f"\n({per_student:.0f} CPU seconds per student: {per_student * 1000 / 3600:.0f} core-hours per 1,000 students.)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each route (the best counts)")
    parser.add_argument("--table-only", action="store_true", help="skip the overhead measurement")
    parser.add_argument("--measure", action="store_true", help="measure the reference notebooks' CPU cost here first")
    parser.add_argument("--ch10-cpu", type=float, default=41.0, help="CPU seconds of one ch10 notebook (default: README)")
    parser.add_argument("--ch14-cpu", type=float, default=63.0, help="CPU seconds of one ch14 notebook (default: README)")
    parser.add_argument("--worker-start", type=float, default=10.0, help="seconds for a worker to start (Dask, TensorFlow)")
    args = parser.parse_args(argv)
    if not args.table_only:
        overhead(args.students, args.repeats)
    ch10, ch14 = args.ch10_cpu, args.ch14_cpu
    if args.measure:
        ch10, ch14 = measure_cpu()
        print(f"\nmeasured: ch10 {ch10:.1f} s, ch14 {ch14:.1f} s (each reference notebook's run, -j 1 --threads 1, alone)")
    table(ch10, ch14, args.worker_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
