"""`grade override`: an instructor's score for one item, kept in the gradebook and applied at
every judging until removed; the student's reports are rewritten at once from the stored run."""

from __future__ import annotations

import json
from pathlib import Path

from grader.gradebook import GRADEBOOK_NAME, Gradebook
from grader.pipeline.run_class import ClassGrader, _Lock
from grader.pipeline.setup import run_settings
from grader.records import Submission
from grader.report import write_gradebook, write_summary
from grader.sandbox.limits import Limits


def apply_override(reports: Path, student: str, item: str, score: float | None, comment: str, solutions: Path | None) -> str:
    """Set (or, with score None, remove) the override; returns one line saying what changed."""
    if not (Path(reports) / GRADEBOOK_NAME).is_file():
        raise FileNotFoundError(f"{reports} has no {GRADEBOOK_NAME}: grade the class into it first")
    lock = _Lock(Path(reports))
    store = Gradebook(Path(reports) / GRADEBOOK_NAME)
    try:
        last = store.get("last_run") or {}
        settings = run_settings(
            solutions or (Path(last["solutions"]) if last.get("solutions") else None),
            Limits(**last.get("limits", {})),
            last.get("sandboxed", True),
            None,
            last.get("check_settings", {}),
            last.get("limit_sources", {}),
        )
        settings.course = Path(last["course"]) if last.get("course") else None
        assignment = item.split(".")[0]
        spec = settings.specs.get(assignment)
        if spec is None or item not in {i.id for i in spec.items}:
            raise KeyError(f"no item {item!r} in the solutions ({', '.join(sorted(settings.specs))})")
        max_score = spec.item(item).max_score
        latest = store.latest(student, assignment)
        if latest is None or not latest["run"]:
            raise KeyError(f"{student} has no graded {assignment} notebook in {reports}")
        if score is None:
            if not store.remove_override(student, assignment, item):
                raise KeyError(f"{student} has no override for {item}")
        else:
            if not 0 <= score <= max_score:
                raise ValueError(f"{item} is worth {max_score:g} points: give a score from 0 to {max_score:g}")
            store.set_override(student, assignment, item, score, comment)
        grader_ = ClassGrader(Path(last.get("submissions", ".")), Path(reports), settings, store)
        run_path = store.run_path(latest["run"])
        sha256 = json.loads(latest["report"])["submission_sha256"]
        seen = store.submission(student, assignment, sha256) or {}
        submission = Submission(
            student, assignment, path=seen.get("file", ""), folder="", sha256=sha256,
            note="; ".join(latest["inputs"].get("problems", [])),
            submitted_at=seen.get("submitted_at"), lms_late=seen.get("lms_late", False),
        )
        report = grader_.judge(submission, latest["run"], None, Path(run_path), force=True)
        grader_.references.close()
        reports_now = store.current_reports()
        write_gradebook(Path(reports), reports_now)
        write_summary(Path(reports), reports_now, [tuple(u) for u in last.get("ungraded", [])])
        what = "removed" if score is None else f"set to {score:g}/{max_score:g}"
        return f"{student} {item}: override {what}; {assignment} now {report.score:g}/{report.max_score:g}"
    finally:
        store.close()
        lock.release()
