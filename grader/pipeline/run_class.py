"""Grading a whole class: run what has no run record yet, judge every record, write the views.

A submission is run in its sandbox only when no run record exists for its notebook (sha256) and
its run plan (digest): otherwise its stored record is judged again, which starts no kernel. Every
run record and verdict is committed to the gradebook (SQLite) as soon as it exists, so a run
killed midway and started again finishes only the rest. Two runs on one output folder at once
are refused (a lock file), never mixed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import os
import random
import tempfile
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader.assign.spec import Assignment
from grader.checks import JudgeContext
from grader.deadlines import late_fields, late_penalty, load_course
from grader.gradebook import GRADEBOOK_NAME, Gradebook
from grader.gradebook.regrade import reasons, write_regrade_log
from grader.logfile import logger
from grader.sandbox.cleanup import owned_name, sweep_leftovers
from grader.judge.run import judge_run, judging_version, key_version, part_keys, settings_used
from grader.notebook.load import NotebookProblem, read_notebook
from grader.notebook.match import find_submissions
from grader.pipeline.references import ReferenceBuilds
from grader.pipeline.settings import RunSettings
from grader.records import ItemResult, PartResult, Report, Submission
from grader.report import (
    read_reports,
    report_paths,
    write_class_report,
    write_gradebook,
    write_intake,
    write_report_html,
    write_report_json,
    write_summary,
)
from grader.run.plan import RunPlan, make_plan
from grader.run.record import FORMAT, RunRecord, record_name
from grader.errors import GraderError
from grader.run.stage import Interrupted, RunEnvironment, Runner

LOCK_NAME = ".grade.lock"
RUNS = "runs"


class OutputBusy(RuntimeError):
    pass


@dataclass
class ClassRun:
    graded: list[Report] = field(default_factory=list)  # run (in a sandbox) in this run
    rejudged: list[Report] = field(default_factory=list)  # judged again from a stored run record
    reused: list[Submission] = field(default_factory=list)  # stored run record, verdict unchanged
    ungraded: list[tuple[str, str]] = field(default_factory=list)  # (student, reason)
    unfinished: list[Submission] = field(default_factory=list)  # left for the next run (interrupted)
    reports: list[Report] = field(default_factory=list)  # every current report of the class
    moved: list[str] = field(default_factory=list)  # "ben ch10: 69.3 -> 74.3 (ch10.q2 key C -> B)"
    regrade_log: Path | None = None
    stopped: str | None = None  # why the run stopped early: the sandbox failed to start again and again
    seed: int = 0
    interrupted: bool = False
    total: int = 0


INTAKE_FOLDER = ".intake"  # in the report folder: per-student copies of an LMS export's files, while a run lasts


class _Lock:
    def __init__(self, out: Path):
        out.mkdir(parents=True, exist_ok=True)
        self.file = open(out / LOCK_NAME, "w")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise OutputBusy(f"another `grade` run is writing to {out}; wait for it to finish") from None
        self.file.write(str(os.getpid()))
        self.file.flush()

    def release(self) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


MAX_MATCHING_NOTES = 5


def matching_problems(note: str) -> list[str]:
    """What finding the notebook left to say (other notebooks ignored, files passed over)."""
    said = [n for n in note.split("; ") if n and not n.startswith("matched to ")]
    sentences = [n + ("" if n.endswith(".") else ".") for n in said[:MAX_MATCHING_NOTES]]
    if len(said) > MAX_MATCHING_NOTES:
        sentences.append(f"{len(said) - MAX_MATCHING_NOTES} more notes on the folder's files not shown.")
    return sentences


def unreadable_record(submission: Submission, problem: str, environment: dict) -> RunRecord:
    """The record of a notebook that could not be read: nothing ran, every part is not graded."""
    return RunRecord({
        "format": FORMAT,
        "plan_digest": hashlib.sha256(f"unreadable/{problem}".encode("utf-8", "replace")).hexdigest(),
        "plan": {"mode": "grade", "parts": {}, "rerun_cell": None, "environment": environment},
        "submission": {"student": submission.student, "assignment": submission.assignment,
                       "sha256": submission.sha256, "file": Path(submission.path).name},
        "unreadable": problem,
        "static": {}, "notes": [], "execution": None, "probe": {}, "models": {}, "training": None,
        "duration_s": 0.0,
    })


def failed_report(submission: Submission, spec: Assignment, settings: RunSettings, seed: int, cause: str) -> Report:
    """A submission the grader itself failed on: "not graded", no score, graded again next run."""
    items = [
        ItemResult(item.id, item.title, [
            PartResult(p.label, 0.0, p.points, "error", "not graded: the grader failed on this notebook.")
            for p in item.parts
        ])
        for item in spec.items
    ]
    return Report(
        student=submission.student, assignment=spec.id, score=0.0, max_score=spec.max_score, items=items,
        submission_sha256=submission.sha256, grader_version=__import__("grader").__version__,
        graded_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), seed=seed,
        sandbox=settings.isolation, data=dict(settings.data_note),
        problems=[f"The grader failed on this notebook ({cause}); tell your instructor."],
        status="not graded",
    )


@dataclass
class Pending:
    """A verdict made but not yet written (its HTML may be rendered elsewhere first)."""

    submission: Submission
    report: Report
    executed: object
    judgement: str
    inputs: dict
    latest: dict | None
    key_version: str


PARALLEL_PAGES = 8  # from this many pages to rewrite, render them in processes (one per core)


def _render_page(args) -> None:
    out, report, executed = args
    write_report_html(out, report, executed)


def render_pages(out: Path, pending: list[Pending], processes: int) -> bool:
    """Render the HTML of every pending verdict, in `processes` processes; False when that could
    not be done (the caller renders them one by one)."""
    if len(pending) < PARALLEL_PAGES or processes < 2:
        return False
    from concurrent.futures import ProcessPoolExecutor

    try:
        with ProcessPoolExecutor(processes) as pool:
            list(pool.map(_render_page, [(out, p.report, p.executed) for p in pending], chunksize=4))
        return True
    except Exception:  # a page that cannot be pickled or a pool that cannot start: render here
        return False


class ClassGrader:
    """One class run: plans, runs, judges and writes views for one report folder."""

    def __init__(self, root: Path, out: Path, settings: RunSettings, store: Gradebook):
        self.root, self.out, self.settings, self.store = root, out, settings, store
        self.runs = out / RUNS
        self.seed = self._seed()
        self.references = ReferenceBuilds(store, settings.limits, settings.sandboxed, settings.isolation)
        self.context = JudgeContext(mnist_labels=settings.test_labels, reference=self.references, sealed_labels=settings.sealed_labels)
        self.judging = judging_version()
        self.course = load_course(settings.course) if settings.course else None
        self.moved: list[str] = []
        self.lock = threading.Lock()
        self.isolation = settings.isolation
        self._spec_facts: dict[str, tuple[str, list[dict]]] = {}
        store.put("last_run", {
            "submissions": str(Path(root).resolve()),
            "solutions": str(settings.solutions) if settings.solutions else None,
            "check_settings": settings.check_settings,
            "limits": dataclasses.asdict(settings.limits),
            "limit_sources": settings.limit_sources,
            "sandboxed": settings.sandboxed,
            "course": str(settings.course) if settings.course else None,
        })
        for spec in settings.specs.values():
            version = key_version(spec)
            store.remember_keys(version, spec.id, part_keys(spec))
            self._spec_facts[spec.id] = (version, settings_used(spec, settings.check_settings))

    def _seed(self) -> int:
        """--seed, else the folder's seed (so a rerun keeps every input), else a new one."""
        stored = self.store.get("seed")
        if self.settings.seed is not None:
            seed, self.seed_source = self.settings.seed, "command line"
        elif stored is not None:
            seed, self.seed_source = stored, "report folder (first run)"
        else:
            seed, self.seed_source = random.SystemRandom().randrange(2**31), "new"
        self.store.put("seed", seed)
        return seed

    def run_settings(self) -> list[dict]:
        used = [{"name": "seed", "value": self.seed, "source": self.seed_source}]
        limits = self.settings.limits
        for name in ("cell_timeout", "notebook_timeout", "memory_mb", "max_processes", "threads"):
            used.append({"name": name, "value": getattr(limits, name),
                         "source": self.settings.limit_sources.get(name, "built-in default")})
        return used

    # --- planning ----------------------------------------------------------------------------------

    def plan(self, submission: Submission):
        """(notebook or None, plan or None, record name, stored record path or None)."""
        spec = self.settings.specs[submission.assignment]
        environment = {"isolation": self.isolation, "data": self.settings.data_sha256}
        try:
            nb = read_notebook(Path(submission.path))
        except NotebookProblem as problem:
            record = unreadable_record(submission, str(problem), environment)
            return None, record, record.name, self._stored(record.name)
        plan = make_plan(
            spec, nb, mode="grade", seed=self.seed, student=submission.student, limits=self.settings.limits,
            isolation=self.isolation, data=self.settings.data_sha256,
        )
        name = record_name(submission.sha256, plan.digest())
        return nb, plan, name, self._stored(name)

    def _stored(self, name: str) -> Path | None:
        if self.settings.rerun:
            return None
        path = self.store.run_path(name)
        return Path(path) if path and (Path(path) / "record.json").is_file() else None

    # --- judging -----------------------------------------------------------------------------------

    def judge(self, submission: Submission, record_name_: str, record: RunRecord | None, path: Path | None,
              force: bool = False) -> Report | None:
        """Judge one submission's record and write its views; None when nothing changed (and not
        `force`d: a record that was just run is always judged)."""
        pending = self.prepare(submission, record_name_, record, path, force)
        return None if pending is None else self.commit(pending)

    def prepare(self, submission: Submission, record_name_: str, record: RunRecord | None, path: Path | None,
                force: bool = False) -> "Pending | None":
        """The new verdict of one submission, not yet written; None when nothing changed."""
        spec = self.settings.specs[submission.assignment]
        version, used = self._spec_facts[spec.id]
        overrides = self.store.overrides(submission.student, spec.id)
        late = None
        if self.course is not None:  # the penalty's inputs: a changed due date or extension re-judges
            late = late_penalty(self.course, submission.student, spec.id, submission.submitted_at,
                                getattr(submission, "lms_late", False)).to_json()
        inputs = {
            "run": record_name_, "key_version": version, "settings": used, "judging": self.judging,
            "overrides": overrides, "seed": self.seed, "problems": matching_problems(submission.note),
            "late": late,
        }
        judgement = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()
        latest = self.store.latest(submission.student, spec.id)
        json_path, _ = report_paths(self.out, submission.student, spec.id)
        if not force and latest and latest["judgement"] == judgement and json_path.is_file():
            return None
        if record is None:
            record = RunRecord.read(path, with_notebook=True)
        report = judge_run(
            record, spec, student=submission.student, seed=self.seed, data_note=self.settings.data_note,
            overrides=self.settings.check_settings, ctx=self.context, item_overrides=overrides,
            run_settings=self.run_settings(),
        )
        report.problems = matching_problems(submission.note) + report.problems
        if self.course is not None:
            fields = late_fields(report.score, self.course, submission.student, spec.id, submission.submitted_at,
                                 getattr(submission, "lms_late", False))
            report.raw_score, report.score, report.late = fields["raw_score"], fields["score"], fields["late"]
        return Pending(submission, report, record.executed, judgement, inputs, latest, version)

    def commit(self, pending: "Pending", html_written: bool = False) -> Report:
        """Views first, the verdict last: a crash in between leaves it to be judged again."""
        report = pending.report
        if not html_written:
            write_report_html(self.out, report, pending.executed)
        write_report_json(self.out, report)
        self.store.add_verdict(report, pending.judgement, pending.inputs)
        latest = pending.latest
        if latest and (latest["score"] != report.score or latest["status"] != report.status):
            why = reasons(latest["inputs"], pending.inputs, self.store.keys(latest["key_version"] or ""),
                          self.store.keys(pending.key_version))
            with self.lock:
                self.moved.append(
                    f"{report.student} {report.assignment}: {latest['score']:g} -> {report.score:g} ({'; '.join(why)})"
                )
        return report

    def write_views(self, report: Report, executed) -> None:
        # HTML first: the JSON is the mark of a finished submission
        try:
            write_report_html(self.out, report, executed)
        except Exception:  # a failure report must get out even when pages cannot be made here
            if report.status != "not graded":
                raise
        write_report_json(self.out, report)

    def safe_failure(self, submission: Submission, exc: Exception) -> Report | None:
        """`record_failure`, which itself must not stop the class."""
        try:
            return self.record_failure(submission, f"{type(exc).__name__}: {str(exc)[:200]}")
        except Exception:
            return None

    def record_failure(self, submission: Submission, cause: str) -> Report:
        spec = self.settings.specs[submission.assignment]
        report = failed_report(submission, spec, self.settings, self.seed, cause)
        self.write_views(report, None)
        self.store.add_verdict(report, f"failed/{submission.sha256}", {"run": None, "failure": cause})
        return report


def grade_class(
    root: Path,
    out: Path,
    settings: RunSettings,
    jobs: int,
    on_start: Callable[[int, int], None] = lambda total, reused: None,
    on_done: Callable[[Report], None] = lambda report: None,
    cluster=None,  # grader.cluster.class_run.ClusterOptions: run on a Dask cluster
    shard: tuple[int, int] | None = None,  # (K, N): only shard K of N (grader/cluster/shards.py)
) -> ClassRun:
    lock = _Lock(out)
    # an export's per-student copies go beside the reports, so that cluster workers sharing the
    # report folder's file system can read them; named with this pid for the sweep
    intake_root = out / INTAKE_FOLDER
    intake_root.mkdir(exist_ok=True)
    swept = sweep_leftovers() + sweep_leftovers([intake_root])  # what graders killed with -9 left
    if swept:
        logger().info("removed what earlier runs left: %s", ", ".join(swept))
    run = ClassRun()
    store = Gradebook(out / GRADEBOOK_NAME)
    staging = tempfile.TemporaryDirectory(prefix=f"{owned_name()}intake-", dir=intake_root)
    submissions: list[Submission] = []
    intake = None
    try:
        grader_ = ClassGrader(root, out, settings, store)
        run.seed = grader_.seed
        intake = find_submissions(root, set(settings.specs), Path(staging.name))
        submissions, run.ungraded = intake.submissions, list(intake.ungraded)
        if shard is not None:
            from grader.cluster.shards import in_shard

            submissions = in_shard(submissions, *shard)
        run.total = len(submissions)
        store.put("last_run", {**store.get("last_run"), "ungraded": run.ungraded})
        todo, stored, fresh = [], [], set()
        for submission in submissions:
            try:
                store.saw_submission(submission.student, submission.assignment, submission.sha256,
                                     Path(submission.path).name, submission.submitted_at, submission.lms_late)
                nb, plan, name, path = grader_.plan(submission)
                if isinstance(plan, RunRecord):  # unreadable: nothing to run, its record is kept as is
                    if path is None:  # new: counted with the notebooks run now
                        path = plan.write(grader_.runs)
                        store.add_run(name, submission.sha256, plan.data["plan_digest"], str(path), 0.0)
                        fresh.add((submission.student, submission.assignment))
                    stored.append((submission, name, plan, path))
                elif path is None:
                    todo.append((submission, nb, plan, name))
                else:
                    stored.append((submission, name, None, path))
            except Exception as exc:  # a grader bug on one notebook: its report says so, the class goes on
                report = grader_.safe_failure(submission, exc)
                if report is not None:
                    run.graded.append(report)
        on_start(len(submissions), len(stored) - len(fresh))

        # judging stored records needs no sandbox: do it first, it takes seconds
        pending: list[Pending] = []
        for submission, name, record, path in stored:
            try:
                made = grader_.prepare(submission, name, record, path)
            except Exception as exc:  # a broken record or a grader bug: this submission only
                made = grader_.safe_failure(submission, exc)
            if made is None:
                run.reused.append(submission)
            elif isinstance(made, Pending):
                pending.append(made)
            else:
                run.rejudged.append(made)
                on_done(made)
        rendered = render_pages(out, pending, min(jobs, os.cpu_count() or 1))
        for made in pending:
            try:
                report = grader_.commit(made, html_written=rendered)
            except Exception as exc:
                report = grader_.safe_failure(made.submission, exc)
            if report is not None:
                fresh_one = (made.submission.student, made.submission.assignment) in fresh
                (run.graded if fresh_one else run.rejudged).append(report)
                on_done(report)
        if cluster is not None:  # every worker passes the same preflight before it gets work
            from grader.cluster.class_run import run_on_cluster

            run.graded += run_on_cluster(todo, grader_, settings, run, on_done, cluster)
        else:
            run.graded += _run_all(todo, grader_, settings, jobs, run, on_done)
            if run.stopped:
                raise GraderError(run.stopped)
        run.moved = grader_.moved
        run.regrade_log = write_regrade_log(out, grader_.moved)
        grader_.references.close()
        return run
    finally:
        try:  # always: the views of every verdict committed so far
            current = {(s.student, s.assignment) for s in submissions}
            run.reports = [r for r in store.current_reports() if (r.student, r.assignment) in current]
            if intake is not None:
                write_intake(out, intake.source, intake.submissions, intake.ungraded, intake.unused)
            write_gradebook(out, run.reports, submissions, run.ungraded)
            write_summary(out, run.reports, run.ungraded, submissions)
            changed = run.graded or run.rejudged or not (out / "class.html").exists()
            if run.reports and changed:  # a minute of matplotlib for a class of hundreds: only when needed
                write_class_report(out, read_reports(out), submissions, run.ungraded, similar=_similar(submissions, settings, out))
        finally:
            store.close()
            lock.release()
            staging.cleanup()
            try:
                intake_root.rmdir()  # the report folder keeps no trace of it
            except OSError:
                pass


SIMILAR_CACHE = "similar.json"  # pairs found, and the notebooks they were found among


def _similar(submissions: list[Submission], settings: RunSettings, out: Path) -> list | None:
    """Pairs of unusually alike notebooks for class.html; None (no section) if they cannot be
    found: that must never cost the class its report."""
    from grader.similar import class_pairs

    try:
        return class_pairs(submissions, settings.solutions, cache=out / SIMILAR_CACHE)
    except Exception:
        logger().warning("similar submissions were not looked for", exc_info=True)
        return None


class StartFailures:
    """Kernels that did not start: after MAX_IN_A_ROW in a row with the same cause, the run stops
    (the grading machine is broken; grading on would only fill the class with "not graded")."""

    MAX_IN_A_ROW = 3

    def __init__(self):
        self.lock = threading.Lock()
        self.last: str | None = None
        self.count = 0

    def succeeded(self) -> None:
        with self.lock:
            self.last, self.count = None, 0

    def failed(self, cause: str, run: ClassRun, runners: list, runners_lock) -> None:
        with self.lock:
            self.count = self.count + 1 if cause == self.last else 1
            self.last = cause
            if self.count < self.MAX_IN_A_ROW or run.stopped:
                return
            run.stopped = (
                f"{self.count} notebooks in a row could not start their sandbox; grading stopped. "
                f"The sandbox said: {cause[:500]}"
            )
        with runners_lock:
            run.interrupted = True
            for runner in runners:
                runner.cancel()


def _run_all(todo, grader_: ClassGrader, settings: RunSettings, jobs: int, run: ClassRun, on_done) -> list[Report]:
    """Run the submissions without a record, `jobs` at a time, each judged as soon as it ran."""
    local = threading.local()
    runners: list[Runner] = []
    runners_lock = threading.Lock()
    written: list[Report] = []  # also those that finished while stopping
    starts = StartFailures()
    environment = RunEnvironment(settings.limits, settings.sandboxed, settings.notebook_mnist, settings.test_images, settings.sealed_images, settings.isolation)
    ready: list[Runner] = []  # the preflight's runner, its evaluator already started
    if todo and settings.preflight:  # a sandbox that cannot start stops the run, before any grade
        first = Runner(environment)
        try:
            first.preflight()
        except BaseException:
            first.close()
            raise
        ready.append(first)
        runners.append(first)

    def run_one(entry) -> Report:
        submission, nb, plan, name = entry
        if not hasattr(local, "runner"):
            with runners_lock:
                if run.interrupted:  # a queued job that started while stopping
                    raise Interrupted()
                local.runner = ready.pop() if ready else Runner(environment)
                if local.runner not in runners:
                    runners.append(local.runner)
        try:
            record = local.runner.run(
                {"student": submission.student, "assignment": submission.assignment, "sha256": submission.sha256,
                 "file": Path(submission.path).name, "folder": submission.folder},
                nb, plan,
            )
            failure = (record.data.get("execution") or {}).get("start_failure")
            if failure:  # the grading machine failed, not the student: no record, no score, retried next run
                starts.failed(failure, run, runners, runners_lock)
                report = grader_.record_failure(submission, f"the sandbox did not start: {failure[:300]}")
                written.append(report)
                return report
            starts.succeeded()
            path = record.write(grader_.runs)
            grader_.store.add_run(name, submission.sha256, record.data["plan_digest"], str(path), record.data["duration_s"])
            report = grader_.judge(submission, name, record, path, force=True)
        except Interrupted:
            raise
        except Exception as exc:  # a grader bug on one notebook must not stop the class
            if local.runner.cancelled.is_set():
                raise Interrupted() from None
            report = grader_.safe_failure(submission, exc)
            if report is None:
                run.ungraded.append((submission.student, f"the grader failed: {type(exc).__name__}: {str(exc)[:200]}"))
                raise
        written.append(report)
        return report

    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="grade")
    pending = {pool.submit(run_one, entry) for entry in todo}
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    on_done(future.result())
                except Interrupted:
                    pass
                except Exception:  # not even a "not graded" report could be written: in run.ungraded
                    pass
    except KeyboardInterrupt:
        # stop now: the notebooks being run are killed and get no record; a rerun runs them
        with runners_lock:
            run.interrupted = True
            for runner in runners:
                runner.cancel()
        for future in pending:
            future.cancel()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for runner in runners:
            runner.close()
    finished = {(r.student, r.assignment) for r in written}
    run.unfinished = [s for s, *_ in todo if (s.student, s.assignment) not in finished]
    return list(written)
