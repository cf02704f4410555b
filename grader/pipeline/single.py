"""One submission run and judged in one go, with no report folder: for tests and tools that
want a Report without a class run (the class run is grader/pipeline/run_class.py)."""

from __future__ import annotations

from pathlib import Path

from grader.checks import JudgeContext
from grader.judge.run import judge_run
from grader.notebook.load import NotebookProblem, read_notebook
from grader.pipeline.references import ReferenceBuilds
from grader.pipeline.run_class import matching_problems, unreadable_record
from grader.pipeline.settings import RunSettings
from grader.records import Report, Submission
from grader.run.plan import make_plan
from grader.run.record import RunRecord
from grader.run.stage import RunEnvironment, Runner


class SubmissionGrader:
    """Runs and judges submissions one at a time; keeps one Runner (and its evaluator)."""

    def __init__(self, settings: RunSettings):
        self.settings = settings
        self.runner = Runner(RunEnvironment(settings.limits, settings.sandboxed, settings.notebook_mnist, settings.test_images, settings.sealed_images, settings.isolation))
        self.references = ReferenceBuilds(None, settings.limits, settings.sandboxed, settings.isolation)
        self.last_record: RunRecord | None = None

    @property
    def isolation(self) -> str:
        return self.settings.isolation

    def grade(self, submission: Submission) -> tuple[Report, object]:
        settings = self.settings
        spec = settings.specs[submission.assignment]
        seed = settings.seed or 0
        try:
            nb = read_notebook(Path(submission.path))
        except NotebookProblem as problem:
            record = unreadable_record(submission, str(problem), {"isolation": self.isolation, "data": settings.data_sha256})
        else:
            plan = make_plan(
                spec, nb, mode="grade", seed=seed, student=submission.student, limits=settings.limits,
                isolation=self.isolation, data=settings.data_sha256,
            )
            record = self.runner.run(
                {"student": submission.student, "assignment": submission.assignment, "sha256": submission.sha256,
                 "file": Path(submission.path).name, "folder": submission.folder},
                nb, plan,
            )
        self.last_record = record
        report = judge_run(
            record, spec, student=submission.student, seed=seed, data_note=settings.data_note,
            overrides=settings.check_settings, ctx=JudgeContext(settings.test_labels, self.references, settings.sealed_labels),
        )
        report.problems = matching_problems(submission.note) + report.problems
        return report, record.executed

    def close(self) -> None:
        self.runner.close()
        self.references.close()
