"""Grading one notebook: read -> judge static answers -> run in the sandbox (notebook, then the
probe) -> evaluate models -> judge -> a Report."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import threading
import time
from pathlib import Path

import grader
from grader.assign.spec import STATIC_KINDS, Assignment, Item, Part
from grader.judge import artifacts, functions, models
from grader.judge.probe_plan import ProbePlan, ProbeResults
from grader.judge.static import judge_static
from grader.judge.verdict import Verdict
from grader.notebook.load import NotebookProblem, read_notebook
from grader.pipeline import workdir
from grader.pipeline.settings import RunSettings
from grader.records import ItemResult, PartResult, Report, Submission
from grader.sandbox.cleanup import make_root, remove_quietly
from grader.sandbox.evaluator import Evaluator
from grader.sandbox.execute import Execution, ExtraCell, run_notebook
from grader.sandbox.kernel import KernelPlan
from grader.sandbox.space import open_space

PROBE_TIMEOUT = 120
UNSANDBOXED = "Graded WITHOUT a sandbox (--sandbox none): the grader did not isolate this notebook."


class Interrupted(Exception):
    """Grading stopped midway on request (Ctrl-C): the submission gets no report."""


def _scratch_root() -> str | None:
    # RAM-backed: files the sandbox writes count against its memory limit, and it is fast
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and shm.stat().st_mode & 0o002 else None


class Worker:
    """Grades submissions one at a time; owns one model evaluator for its whole life."""

    def __init__(self, settings: RunSettings):
        self.settings = settings
        self.root = make_root(_scratch_root())  # named after this process: a later run sweeps it if we die
        self._evaluator: Evaluator | None = None
        self.cancelled = threading.Event()  # set from another thread to stop the current notebook

    @property
    def evaluator(self) -> Evaluator:
        if self._evaluator is None:
            self._evaluator = Evaluator(
                self.root / "exchange", self.settings.limits, self.settings.sandboxed, self.settings.test_images
            )
        return self._evaluator

    def cancel(self) -> None:
        """Stop the notebook or model being graded now (its sandbox is killed); no more grading."""
        self.cancelled.set()
        proc = self._evaluator.proc if self._evaluator is not None else None
        if proc is not None:
            proc.kill()

    def close(self) -> None:
        if self._evaluator is not None:
            self._evaluator.close()
        remove_quietly(self.root)  # never recursive: a notebook may have left a 4,000-deep tree

    def grade(self, submission: Submission) -> tuple[Report, object]:
        if self.cancelled.is_set():
            raise Interrupted()
        started = time.monotonic()
        settings = self.settings
        spec = settings.specs[submission.assignment]
        problems: list[str] = _matching_problems(submission.note)
        executed = None
        try:
            nb = read_notebook(Path(submission.path))
            verdicts, executed, run_problems = self._judge(submission, spec, nb)
            problems.extend(run_problems)
        except NotebookProblem as problem:
            verdicts = _all_parts(spec, f"not graded: {problem}")
            problems.append(str(problem))
        except Exception as exc:  # a grader bug on one notebook must not stop the class
            if self.cancelled.is_set():
                raise Interrupted() from None
            problem = f"The grader failed on this notebook ({type(exc).__name__}: {str(exc)[:200]}); tell your instructor."
            verdicts = _all_parts(spec, "not graded: the grader failed on this notebook.")
            problems.append(problem)
        if self.cancelled.is_set():  # stopped midway (Ctrl-C): no report, the next run grades it
            raise Interrupted()
        if not settings.sandboxed:  # every report of such a run says so, whatever ran
            problems.insert(0, UNSANDBOXED)
        report = Report(
            student=submission.student,
            assignment=spec.id,
            score=0.0,
            max_score=spec.max_score,
            items=[_item_result(item, verdicts) for item in spec.items],
            submission_sha256=submission.sha256,
            grader_version=grader.__version__,
            graded_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            seed=settings.seed,
            sandbox="bubblewrap" if settings.sandboxed else "none",
            data=dict(settings.data_note),
            problems=problems,
        )
        report.score = round(sum(i.score for i in report.items), 2)
        report.duration_s = round(time.monotonic() - started, 2)
        return report, executed

    # --- the stages --------------------------------------------------------------------------

    def _judge(self, submission: Submission, spec: Assignment, nb):
        settings = self.settings
        verdicts: dict[int, Verdict] = {}
        run_parts = []
        for item in spec.items:
            for part in item.parts:
                if part.kind in STATIC_KINDS:
                    verdicts[id(part)] = judge_static(part, nb)
                else:
                    run_parts.append(part)
        if not run_parts:
            return verdicts, None, []

        rng = settings.rng_for(submission.student, spec.id)
        space = open_space(self.root, settings.limits)  # its own tmpfs: size and file count limited
        try:
            work, io = space.work, space.io
            produced = {p.file for p in run_parts if p.file}
            notes = workdir.prepare(Path(submission.folder), work, produced)
            probe = ProbePlan()
            contexts = {}
            for part in run_parts:
                if part.kind == "function":
                    contexts[id(part)] = functions.CHECKS[part.check][0](part, rng, probe)
                elif part.kind == "builder":
                    args = models.builder_args(part.check, rng)
                    contexts[id(part)] = (args, probe.call(part.name, args, "model"))
            probe.signatures |= {p.name for p in run_parts if p.kind in ("function", "builder")}
            extra = []
            training = artifacts.training_cell(nb) if any(p.kind == "artifacts" for p in run_parts) else None
            if training is not None:
                extra.append(ExtraCell(
                    "rerun", nb.cells[training].source, settings.limits.cell_timeout, unless_timed_out=training
                ))
            # the probe's results get a name the notebook cannot know while its own cells run
            token = secrets.token_hex(8)
            if probe.calls:
                plan_path = probe.write(io / "probe", call_timeout=60)
                extra.append(ExtraCell(
                    "probe",
                    f"import grader.inside.probe as _homl_probe\n_homl_probe.run(globals(), {str(plan_path)!r}, {token!r})",
                    PROBE_TIMEOUT,
                ))
            execution = run_notebook(
                nb,
                KernelPlan(work, io, settings.limits, settings.sandboxed, settings.notebook_mnist, space=space),
                extra,
                stop=self.cancelled,
            )
            if self.cancelled.is_set():
                raise Interrupted()
            results = ProbeResults.read(io / "probe", _probe_missing(execution), token)
            for part in run_parts:
                verdicts[id(part)] = self._judge_run_part(
                    part, contexts.get(id(part)), results, work, rng, execution
                )
            problems = execution.problems() + notes
            if settings.sandboxed and not execution.limits_enforced:
                problems.append("Memory and process limits were not enforced (no writable cgroups on the grading machine).")
            return verdicts, execution.notebook, problems
        finally:
            remove_quietly(space.path)

    def _judge_run_part(self, part: Part, context, results, work: Path, rng, execution: Execution) -> Verdict:
        try:
            if part.kind == "function":
                problem = functions.signature_problem(part, results)
                if problem and "not defined" in problem:
                    return Verdict(0.0, f"{problem}.")
                verdict = functions.CHECKS[part.check][1](part, context, results)
                if problem:
                    verdict.message = f"{problem}; {verdict.message}"
                if results.missing_reason:
                    verdict.error = True
                return verdict
            if part.kind == "builder":
                return self._judge_builder(part, context, results)
            if part.kind == "model":
                return self._judge_model(part, work, rng)
            if part.kind == "artifacts":
                return self._judge_training_practice(work, execution)
            return Verdict(0.0, f"the grader has no check for {part.kind} parts yet.", error=True)
        except Exception as exc:  # a grader bug must not stop the class: say it, in this report
            return Verdict(0.0, f"the grader failed on this part ({type(exc).__name__}: {exc}); tell your instructor.", error=True)

    def _judge_training_practice(self, work: Path, execution: Execution) -> Verdict:
        files = artifacts.checkpoint_files(work)
        loads = {}
        for path in files[-3:]:
            if path.name.endswith(".weights.h5"):
                with open(path, "rb") as f:
                    loads[path] = None if f.read(8) == artifacts.HDF5_MAGIC else "not an HDF5 weights file"
            else:
                evaluation = self.evaluator.evaluate(path)
                loads[path] = None if evaluation.ok else evaluation.error
        events = []
        if (work / "logs").is_dir() and not (work / "logs").is_symlink():
            evaluation = self.evaluator.evaluate(events=work / "logs")
            events = evaluation.extra.get("events", [])
        return artifacts.judge_training_practice(
            artifacts.judge_checkpoint(files[-3:], loads),
            artifacts.judge_events(events),
            artifacts.judge_resume(events, execution.extra.get("rerun")),
        )

    def _judge_builder(self, part: Part, context, results: ProbeResults) -> Verdict:
        args, call_id = context
        result = results.result(call_id)
        shown = f"{part.name}({', '.join(map(str, args))})"
        if not result.ok:
            return Verdict(0.0, f"calling {shown} failed: {result.error}", error=bool(results.missing_reason))
        model = results.model_file(result.values[0])
        if model is None:
            return Verdict(0.0, f"the model returned by {shown} was not saved by the grader's probe.")
        evaluation = self.evaluator.evaluate(model, None, {"source": part.key, "function": part.name, "args": args})
        if not evaluation.ok or evaluation.description is None or evaluation.reference is None:
            return Verdict(0.0, f"the model returned by {shown} could not be read: {evaluation.error}")
        verdict = models.compare_models(evaluation.description, evaluation.reference)
        verdict.message = f"{shown}: {verdict.message}"
        return verdict

    def _judge_model(self, part: Part, work: Path, rng) -> Verdict:
        path = work / part.file
        if path.is_symlink():
            return Verdict(0.0, f"{part.file} is a symbolic link; save the model itself with model.save({part.file!r}).")
        if not path.is_file():
            return Verdict(0.0, f"{part.file} was not saved by the notebook: end the task with model.save({part.file!r}).")
        settings = self.settings
        ctx = models.Context(
            mnist_labels=settings.test_labels, rng=rng, alpha=settings.alpha, thresholds=settings.thresholds
        )
        make_request, judge = models.MODEL_CHECKS[part.check]
        request = make_request(part, ctx)
        if isinstance(request, models.ReberRequest):
            described = self.evaluator.evaluate(path)
            if not described.ok:
                return Verdict(0.0, f"{part.file}: {described.error}")
            if problem := models.shape_problem(part.check, described.description):
                return Verdict(0.0, f"{part.file}: {problem}")
            inputs, labels = models.reber_inputs_for(described.description, request)
            request.labels = labels
            evaluation = self.evaluator.evaluate(path, inputs)
        else:
            evaluation = self.evaluator.evaluate(path, request)
        if not evaluation.ok or evaluation.description is None:
            # loaded but could not predict: a wrong shape says it better than Keras' own error
            problem = evaluation.description and models.shape_problem(part.check, evaluation.description)
            return Verdict(0.0, f"{part.file}: {problem or evaluation.error}")
        return judge(part, evaluation, ctx, request)


def _all_parts(spec: Assignment, message: str) -> dict[int, Verdict]:
    return {id(p): Verdict(0.0, message, error=True) for i in spec.items for p in i.parts}


MAX_MATCHING_NOTES = 5


def _matching_problems(note: str) -> list[str]:
    """What finding the notebook left to say (other notebooks ignored, files passed over)."""
    said = [n for n in note.split("; ") if n and not n.startswith("matched to ")]
    sentences = [n + ("" if n.endswith(".") else ".") for n in said[:MAX_MATCHING_NOTES]]
    if len(said) > MAX_MATCHING_NOTES:
        sentences.append(f"{len(said) - MAX_MATCHING_NOTES} more notes on the folder's files not shown.")
    return sentences


def _probe_missing(execution: Execution) -> str | None:
    probe = execution.extra.get("probe")
    if probe is None:
        if execution.kernel_died:
            return "the kernel died before the grader could call your functions"
        return "the notebook used up its time before the grader could call your functions"
    if probe.get("timed_out"):
        return f"your functions did not return within {PROBE_TIMEOUT} s in total"
    if not probe.get("ran"):
        return "the kernel died while the grader was calling your functions"
    if probe.get("error"):
        return f"the grader's call failed: {probe['error']}"
    return None


def _item_result(item: Item, verdicts: dict[int, Verdict]) -> ItemResult:
    parts = []
    for part in item.parts:
        verdict = verdicts.get(id(part)) or Verdict(0.0, "not graded.", error=True)
        fraction = min(1.0, max(0.0, float(verdict.fraction)))
        status = "error" if verdict.error else ("passed" if fraction >= 1.0 else "failed")
        parts.append(PartResult(
            label=part.label,
            score=round(part.points * fraction, 2),
            max_score=part.points,
            status=status,
            feedback=verdict.message,
            details=json.loads(json.dumps(verdict.details, default=str)),
        ))
    return ItemResult(item.id, item.title, parts)
