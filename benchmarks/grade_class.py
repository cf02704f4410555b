"""Grade a synthetic class and compare with running the same notebooks without the grader.

    python benchmarks/grade_class.py [--students 20] [--jobs N[,M...]] [--keep DIR]

Builds, in a temporary folder, a tiny solution notebook (assignment `bench`: a choice part, a
function part `mlp_forward`, a model part `mnist_model.keras` checked by `mnist_dense`) and one
light notebook per student (import tensorflow, a NumPy `mlp_forward`, a Flatten -> Dense(10)
model trained 1 epoch on 2,000 MNIST digits and saved). Then, from the same run:

  floor     the notebook's code cells concatenated into a .py, run with plain `python`, one
            student after another;
  nbconvert `jupyter nbconvert --to notebook --execute`, one student after another;
  grade     `grade CLASS --solutions SOL --seed 0 -j N` as a subprocess (bubblewrap sandboxes
            and the separate model evaluator included), wall-clock divided by the number of
            submissions;

and prints seconds per submission, the ratios to the floor and whether grading meets the target
(<= 1.3x the floor). `--breakdown K` (default 3) then grades K submissions in this process with
-j 1 and timers around the grader's stages: kernel start, cells, probe, evaluator start, model
evaluation, reports.

MNIST is served offline everywhere: the grader's kernels get it from its import hook; the two
baselines get the same hook from a `sitecustomize.py` on PYTHONPATH that calls
`grader.inside.mnist_hook.install()`, with HOML_GRADER_MNIST pointing at the grader's notebook npz.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

ASSIGNMENT = "bench"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
MODEL_FILE = "mnist_model.keras"
TARGET = 1.3

# --- the notebooks -----------------------------------------------------------------------------

IMPORTS = """\
import numpy as np
import tensorflow as tf
"""

CHOICE = """\
### BEGIN SOLUTION
answer_q1 = "B"
### END SOLUTION
"""

MLP_FORWARD = """\
def mlp_forward(X, Wh, bh, Wo, bo):
    \"\"\"ReLU(X @ Wh + bh) @ Wo + bo, no activation on the output layer.\"\"\"
    ### BEGIN SOLUTION
    hidden = np.maximum(0.0, np.asarray(X) @ Wh + bh)
    return hidden @ Wo + bo
    ### END SOLUTION
"""

MLP_DEMO = """\
rng = np.random.default_rng(0)
print(mlp_forward(rng.normal(size=(4, 10)), rng.normal(size=(10, 50)), np.zeros(50),
                  rng.normal(size=(50, 3)), np.zeros(3)).shape)
"""

MODEL = """\
(X_train, y_train), (X_test, y_test) = tf.keras.datasets.mnist.load_data()
X_small = (X_train[:2000] / 255.0).astype(np.float32)
y_small = y_train[:2000]

tf.keras.utils.set_random_seed(SEED)
model = tf.keras.Sequential([
    tf.keras.Input(shape=(28, 28)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(10, activation="softmax"),
])
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(X_small, y_small, epochs=1, batch_size=32, verbose=2)
model.save("mnist_model.keras")
"""

ITEMS = [
    """### ITEM bench.q1
{"title": "A choice", "parts": [{"kind": "choice", "name": "answer_q1", "options": "ABCD", "points": 2}]}
""",
    """### ITEM bench.q2
{"title": "Forward pass of an MLP",
 "parts": [{"kind": "function", "name": "mlp_forward", "params": ["X", "Wh", "bh", "Wo", "bo"],
            "check": "mlp_forward", "points": 4}]}
""",
    """### ITEM bench.q3
{"title": "A small dense model on MNIST",
 "parts": [{"kind": "model", "file": "mnist_model.keras", "check": "mnist_dense", "points": 4,
            "settings": {"threshold": 0.5}}]}
""",
]


def _unmarked(source: str) -> str:
    """A correct student's cell: the solution kept, its markers removed."""
    return "".join(line for line in source.splitlines(keepends=True) if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def _notebook(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Benchmark assignment")]
    nb.cells += [nbformat.v4.new_code_cell(source.rstrip("\n")) for source in cells]
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "homl_grader": {"assignment": ASSIGNMENT, "version": "1"},
    }
    return nb


def solution_notebook() -> nbformat.NotebookNode:
    model = MODEL.replace("SEED", "42")
    return _notebook([IMPORTS, CHOICE, ITEMS[0], MLP_FORWARD, MLP_DEMO, ITEMS[1], model, ITEMS[2]])


def student_code_cells(seed: int) -> list[str]:
    return [IMPORTS, _unmarked(CHOICE), _unmarked(MLP_FORWARD), MLP_DEMO, MODEL.replace("SEED", str(seed))]


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    total_s: float
    n: int
    note: str = ""
    busy_cores: float = float("nan")  # machine-wide, this benchmark included
    failures: list[str] = field(default_factory=list)

    @property
    def per_submission(self) -> float:
        return self.total_s / self.n


class BusyMeter:
    """Cores busy on the whole machine (this benchmark and anything else) between start and stop."""

    @staticmethod
    def _sample() -> tuple[float, float]:
        try:
            fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return float("nan"), float("nan")
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
        return sum(fields[:8]) - idle, sum(fields[:8])

    def __enter__(self) -> "BusyMeter":
        self.begin = self._sample()
        self.cores = float("nan")
        return self

    def __exit__(self, *exc) -> None:
        busy, total = (b - a for a, b in zip(self.begin, self._sample()))
        self.cores = busy / total * (os.cpu_count() or 1) if total else float("nan")


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return time.perf_counter() - started, done


def _tail(text: str, lines: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def baseline_env(tmp: Path, notebook_npz: Path, threads: int | None) -> dict[str, str]:
    """The caller's environment plus the grader's offline MNIST hook, and the same quieting of TF
    the grader's sandboxes get; thread variables only when --baseline-threads is given."""
    hook = tmp / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(
        "import sys\n"
        f"sys.path.append({str(REPO)!r})\n"
        "from grader.inside import mnist_hook\n"
        "mnist_hook.install()\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hook), env.get("PYTHONPATH")]))
    env["HOML_GRADER_MNIST"] = str(notebook_npz)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["MPLBACKEND"] = "Agg"
    env["IPYTHONDIR"] = str(tmp / "ipython")  # no user profile or startup files
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        if threads is None:
            env.pop(name, None)
        else:
            env[name] = str(threads)
    return env


def fresh_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def run_sequential(name: str, students: list[Path], scratch: Path, make_argv, env, note: str) -> Row:
    """Each student in a fresh copy of its folder, one after another; wall-clock of the whole loop."""
    row = Row(name, 0.0, len(students), note)
    started = time.perf_counter()
    with BusyMeter() as meter:
        for folder in students:
            work = fresh_copy(folder, scratch / folder.name)
            _, done = _run(make_argv(work), work, env)
            if done.returncode != 0 or not (work / MODEL_FILE).is_file():
                row.failures.append(f"{folder.name}: exit {done.returncode}\n{_tail(done.stderr or done.stdout)}")
    row.total_s = time.perf_counter() - started
    row.busy_cores = meter.cores
    return row


def tf_import_seconds(env: dict[str, str], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        seconds, done = _run([sys.executable, "-c", "import tensorflow"], Path.cwd(), env)
        if done.returncode == 0:
            times.append(seconds)
    return statistics.median(times) if times else float("nan")


@dataclass
class GradeRun:
    row: Row
    reports: list
    stdout: str


def run_grade(class_dir: Path, solutions: Path, out: Path, jobs: int, extra: list[str]) -> GradeRun:
    from grader.report import finished_reports

    argv = [sys.executable, "-m", "grader.cli", str(class_dir), "--solutions", str(solutions),
            "--seed", "0", "-j", str(jobs), "--out", str(out), *extra]
    n = sum(1 for p in class_dir.iterdir() if p.is_dir())
    with BusyMeter() as meter:
        seconds, done = _run(argv, class_dir.parent, dict(os.environ), timeout=3600)
    row = Row(f"grade -j {jobs}", seconds, n, "bubblewrap sandboxes + model evaluator" if "none" not in extra else "--sandbox none")
    row.busy_cores = meter.cores
    if done.returncode != 0:
        row.failures.append(f"grade exited {done.returncode}\n{_tail(done.stderr or done.stdout, 20)}")
    reports = finished_reports(out)
    for report in reports:
        if report.score < report.max_score or report.problems:
            lost = [f"{p.label}: {p.feedback}" for item in report.items for p in item.parts if p.status != "passed"]
            row.failures.append(f"{report.student}: {report.score}/{report.max_score} {lost} {report.problems}")
    if len(reports) != n:
        row.failures.append(f"{len(reports)} reports for {n} submissions")
    return GradeRun(row, reports, done.stdout)


# --- the breakdown: the grader's stages, timed in this process ---------------------------------


class Timers:
    def __init__(self):
        self.events: dict[str, list[float]] = {}

    def add(self, name: str, seconds: float) -> None:
        self.events.setdefault(name, []).append(seconds)


def breakdown(class_dir: Path, solutions: Path, out: Path, count: int, sandbox: str, threads: int | None) -> Timers:
    """Grade `count` submissions with -j 1 in this process, timing each stage of the grader."""
    import functools

    from grader.pipeline import run_class
    from grader.run import stage
    from grader.pipeline.setup import run_settings
    from grader.sandbox import evaluator as evaluator_mod
    from grader.sandbox import execute
    from grader.sandbox.limits import Limits

    timers = Timers()
    subset = class_dir.parent / "breakdown-class"
    subset.mkdir()
    for folder in sorted(p for p in class_dir.iterdir() if p.is_dir())[:count]:
        shutil.copytree(folder, subset / folder.name)

    started = time.perf_counter()
    limits = Limits() if threads is None else Limits(threads=threads)
    settings = run_settings(solutions, limits, sandbox == "bubblewrap", 0, {})
    timers.add("run settings (specs, MNIST labels)", time.perf_counter() - started)

    state: dict = {}
    client_cls = execute._LimitedClient
    original_execute_cell = client_cls.async_execute_cell
    original_run_notebook = execute.run_notebook

    async def execute_cell(self, cell, cell_index, *args, **kwargs):
        begin = time.perf_counter()
        if state.get("first_cell") is None:
            state["first_cell"] = begin
            timers.add("kernel start -> first cell", begin - state["run_started"])
        try:
            return await original_execute_cell(self, cell, cell_index, *args, **kwargs)
        finally:
            end = time.perf_counter()
            state["last_cell_end"] = end
            extra = "probe" in cell.source and "_homl_probe" in cell.source
            label = "probe cell (grader calls mlp_forward)" if extra else f"cell {cell_index}: {cell.source.splitlines()[0][:40]}"
            timers.add(label, end - begin)

    @functools.wraps(original_run_notebook)
    def run_notebook(*args, **kwargs):
        state.update(run_started=time.perf_counter(), first_cell=None)
        try:
            return original_run_notebook(*args, **kwargs)
        finally:
            end = time.perf_counter()
            timers.add("run_notebook total", end - state["run_started"])
            if state.get("last_cell_end"):
                timers.add("last cell -> kernel gone", end - state["last_cell_end"])

    original_start = evaluator_mod.Evaluator.start
    original_evaluate = evaluator_mod.Evaluator.evaluate

    def start(self):
        begin = time.perf_counter()
        try:
            return original_start(self)
        finally:
            state["start_s"] = time.perf_counter() - begin
            timers.add("evaluator start (once per worker)", state["start_s"])

    def evaluate(self, *args, **kwargs):
        state["start_s"] = 0.0
        begin = time.perf_counter()
        try:
            return original_evaluate(self, *args, **kwargs)
        finally:
            timers.add("model evaluation (load + predict 10,000)", time.perf_counter() - begin - state["start_s"])

    original_run = stage.Runner.run

    def run(self, *args, **kwargs):
        begin = time.perf_counter()
        try:
            return original_run(self, *args, **kwargs)
        finally:
            timers.add("Runner.run total", time.perf_counter() - begin)

    original_html = run_class.write_report_html

    def write_html(*args, **kwargs):
        begin = time.perf_counter()
        try:
            return original_html(*args, **kwargs)
        finally:
            timers.add("HTML report", time.perf_counter() - begin)

    patches = [
        (client_cls, "async_execute_cell", execute_cell),
        (stage, "run_notebook", run_notebook),
        (evaluator_mod.Evaluator, "start", start),
        (evaluator_mod.Evaluator, "evaluate", evaluate),
        (stage.Runner, "run", run),
        (run_class, "write_report_html", write_html),
    ]
    missing = object()
    saved = [(obj, name, vars(obj).get(name, missing)) for obj, name, _ in patches]
    for obj, name, new in patches:
        setattr(obj, name, new)
    try:
        begin = time.perf_counter()
        run_class.grade_class(subset, out, settings, 1)
        timers.add("grade_class total", time.perf_counter() - begin)
    finally:
        for obj, name, old in saved:
            if old is missing:
                delattr(obj, name)
            else:
                setattr(obj, name, old)
    return timers


# --- main --------------------------------------------------------------------------------------


def _machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu or 'unknown CPU'}), Linux {platform.release()}, Python {platform.python_version()}"


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("tensorflow-cpu", "tensorflow", "keras", "nbclient", "ipykernel", "nbconvert"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    return ", ".join(found)


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"


def print_table(rows: list[Row], floor: Row) -> None:
    width = max(len(r.name) for r in rows) + 2
    print(f"\n{'':{width}}{'s/submission':>13}{'x floor':>9}{'total s':>9}{'busy':>7}   notes")
    for row in rows:
        ratio = row.per_submission / floor.per_submission
        failed = f"  FAILED {len(row.failures)}" if row.failures else ""
        print(f"{row.name:{width}}{row.per_submission:13.2f}{ratio:9.2f}{row.total_s:9.1f}{row.busy_cores:7.2f}   {row.note}{failed}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=20, help="submissions in the synthetic class (default 20)")
    parser.add_argument("--jobs", default=str(os.cpu_count() or 1),
                        help="-j for `grade`; a comma list runs each, e.g. 2,1 (default: number of cores)")
    parser.add_argument("--keep", type=Path, help="build everything in DIR (must not exist) and leave it there")
    parser.add_argument("--threads", type=int, default=None, help="--threads passed to `grade` (default: the grader's, 1 per sandbox)")
    parser.add_argument("--baseline-threads", type=int, default=None,
                        help="set OMP/TF thread variables to this for the baselines (default: unset, TF uses every core)")
    parser.add_argument("--sandbox", choices=["bubblewrap", "none"], default="bubblewrap")
    parser.add_argument("--breakdown", type=int, default=3, metavar="K",
                        help="afterwards grade K submissions in-process with stage timers (0: skip; default 3)")
    parser.add_argument("--skip-nbconvert", action="store_true", help="do not measure jupyter nbconvert")
    args = parser.parse_args(argv)
    jobs_list = [int(j) for j in args.jobs.split(",") if j.strip()]

    from grader.data import mnist

    if args.keep and args.keep.exists():
        parser.error(f"--keep {args.keep}: the folder exists; give a new one")
    if args.keep:
        args.keep.mkdir(parents=True)
        tmp = args.keep.resolve()
    else:
        tmp = Path(tempfile.mkdtemp(prefix="homl-bench-"))
    try:
        notebook_npz = mnist.sandbox_files().notebook_npz
        solutions = tmp / "solutions"
        solutions.mkdir()
        nbformat.write(solution_notebook(), solutions / NOTEBOOK)
        class_dir = tmp / "class"
        students = []
        for i in range(args.students):
            folder = class_dir / f"student{i + 1:03d}"
            folder.mkdir(parents=True)
            cells = student_code_cells(seed=i)
            nbformat.write(_notebook(cells), folder / NOTEBOOK)
            students.append(folder)
        # the floor's script: the same code cells, concatenated, in a separate copy of the class
        scripts = tmp / "scripts"
        for i, folder in enumerate(students):
            (scripts / folder.name).mkdir(parents=True)
            (scripts / folder.name / "bench.py").write_text("\n\n".join(student_code_cells(seed=i)))
        script_students = [scripts / f.name for f in students]

        env = baseline_env(tmp, notebook_npz, args.baseline_threads)
        threads_note = "TF/BLAS threads: default (all cores)" if args.baseline_threads is None else f"TF/BLAS threads: {args.baseline_threads}"
        grade_threads = args.threads if args.threads is not None else 1
        extra = ["--sandbox", args.sandbox] + ([] if args.threads is None else ["--threads", str(args.threads)])

        print(f"homl-grader benchmark, {time.strftime('%Y-%m-%d %H:%M')}: {args.students} submissions")
        print(f"machine: {_machine()}")
        print(f"versions: {_versions()}")
        print(f"work folder: {tmp}")
        with BusyMeter() as idle:
            time.sleep(3)
        print(f"before: {idle.cores:.2f} cores busy (3 s sample), load average {_load()}"
              + ("\n  WARNING: the machine is busy: the figures will be inflated and noisy; run it when idle" if idle.cores > 0.3 else ""))
        print("warming up (one unmeasured plain-python run and one TF import)...", flush=True)
        run_sequential("warm-up", script_students[:1], tmp / "warmup", lambda w: [sys.executable, "bench.py"], env, "")
        tf_import = tf_import_seconds(env)

        rows: list[Row] = []
        print("floor: plain python, one after another...", flush=True)
        floor = run_sequential("plain python (floor)", script_students, tmp / "run-python",
                               lambda w: [sys.executable, "bench.py"], env, threads_note)
        rows.append(floor)
        if not args.skip_nbconvert:
            print("jupyter nbconvert --execute, one after another...", flush=True)
            rows.append(run_sequential(
                "jupyter nbconvert --execute", students, tmp / "run-nbconvert",
                lambda w: [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                           NOTEBOOK, "--output", "executed.ipynb"],
                env, threads_note,
            ))
        grade_runs = []
        for jobs in jobs_list:
            print(f"grade -j {jobs}...", flush=True)
            run = run_grade(class_dir, solutions, tmp / f"reports-j{jobs}", jobs, extra)
            run.row.note += f", {grade_threads} thread(s) per sandbox"
            grade_runs.append(run)
            rows.append(run.row)

        print_table(rows, floor)
        print(f"busy: cores in use on the whole machine during the measurement (of {os.cpu_count()}), this benchmark included;")
        print("      a sequential baseline uses about 1, `grade -j N` up to N: more means other work competed")
        print(f"load average after: {_load()}")
        print(f"\nimport tensorflow alone (plain python, median of 3): {tf_import:.2f} s")
        for run in grade_runs:
            durations = [r.duration_s for r in run.reports if r.duration_s]
            if durations:
                print(
                    f"{run.row.name}: one submission takes {statistics.mean(durations):.2f} s on average inside the grader "
                    f"(min {min(durations):.2f}, max {max(durations):.2f}; Runner.run, without the CLI start, judging and the HTML report)"
                )
        print()
        for run in grade_runs:
            ratio = run.row.per_submission / floor.per_submission
            verdict = "MET" if ratio <= TARGET and not run.row.failures else "NOT MET"
            print(f"target: {run.row.name} <= {TARGET}x the plain-python floor: {verdict} ({ratio:.2f}x)")
        failures = [(row.name, f) for row in rows for f in row.failures]
        for name, failure in failures[:10]:
            print(f"\nFAILURE in {name}: {failure}")
        if len(failures) > 10:
            print(f"... and {len(failures) - 10} more failures")

        if args.breakdown > 0:
            count = min(args.breakdown, args.students)
            print(f"\nbreakdown: {count} submission(s) graded in this process with -j 1, stage timers (seconds):", flush=True)
            try:
                timers = breakdown(class_dir, solutions, tmp / "reports-breakdown", count, args.sandbox, args.threads)
            except Exception as exc:  # a refactored grader: the benchmark numbers above still stand
                print(f"  breakdown unavailable: {type(exc).__name__}: {exc}")
            else:
                width = max(len(k) for k in timers.events) + 2
                print(f"  {'stage':{width}}{'n':>3}{'median':>8}{'min':>8}{'max':>8}")
                for name, values in timers.events.items():
                    print(f"  {name:{width}}{len(values):3d}{statistics.median(values):8.2f}{min(values):8.2f}{max(values):8.2f}")
        return 1 if failures else 0
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
