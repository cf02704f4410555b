"""What flows between the grading stages, and its one JSON form.

A `Report` is what the grader knows about one student's notebook for one assignment; the
reports package renders it (JSON, HTML, gradebook, summary), and only `Report.to_json` /
`Report.from_json` define its serialised form (schema: grader/report/schema.json).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "error"]


@dataclass
class PartResult:
    """One check of an item: an MC answer, a function, a model file..."""

    label: str  # what was checked, e.g. "answer_q1", "mlp_forward", "mnist_model.keras"
    score: float
    max_score: float
    status: Status
    feedback: str  # one or two sentences: what was found, and what was expected
    details: dict[str, Any] = field(default_factory=dict)  # plain data, e.g. accuracy, n, p


@dataclass
class ItemResult:
    id: str  # "ch10.q1"
    title: str
    parts: list[PartResult]
    override: dict[str, Any] | None = None  # an instructor's score: {"score", "comment", "auto_score"}

    @property
    def auto_score(self) -> float:
        return round(sum(p.score for p in self.parts), 2)

    @property
    def score(self) -> float:
        return self.override["score"] if self.override else self.auto_score

    @property
    def max_score(self) -> float:
        return sum(p.max_score for p in self.parts)

    @property
    def status(self) -> Status:
        if any(p.status == "error" for p in self.parts):
            return "error"
        return "passed" if all(p.status == "passed" for p in self.parts) else "failed"

    @property
    def feedback(self) -> str:
        return " ".join(
            p.feedback if p.feedback.startswith(p.label) else f"{p.label}: {p.feedback}" for p in self.parts
        )


@dataclass
class Submission:
    """One notebook of one student, as found in the submissions folder."""

    student: str
    assignment: str  # "ch10"; "" when it could not be matched
    path: str  # the notebook's path
    folder: str  # the student's folder
    sha256: str = ""
    note: str = ""  # how it was matched, or why it could not be
    submitted_at: str | None = None  # ISO 8601 with offset, when the LMS export says
    source: str = "folders"  # "folders", "canvas", "moodle" or "gradescope"
    student_name: str = ""  # as the LMS spells it
    lms_id: str = ""  # Canvas user id, Moodle participant id, Gradescope sid
    email: str = ""
    lms_late: bool = False  # the LMS itself marked it late (Canvas)


@dataclass
class Report:
    student: str
    assignment: str
    score: float
    max_score: float
    items: list[ItemResult]
    submission_sha256: str
    grader_version: str
    graded_at: str  # ISO 8601, UTC
    seed: int
    sandbox: str = "bubblewrap"  # or "none" when run unsandboxed on request
    data: dict[str, str] = field(default_factory=dict)  # e.g. {"mnist": "<sha256> (bundled)"}
    problems: list[str] = field(default_factory=list)  # notebook-level: timeouts, dead kernel...
    # what the grading machine could not enforce for this run (no cgroups...): never the notebook's problem
    machine_notes: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    status: Literal["graded", "not graded"] = "graded"  # not graded: no score (unreadable, grader failure)
    settings: list[dict[str, Any]] = field(default_factory=list)  # {"name", "value", "source"} used
    key_version: str = ""  # digest of the answer keys and points this verdict was made with
    run: str = ""  # the run record judged (grader/run/record.py)
    raw_score: float | None = None  # before a late penalty, when course.toml gives a due time
    late: dict[str, Any] | None = None  # due, submitted_at, late_by_hours, penalty_percent, reason

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for raw, item in zip(data["items"], self.items):
            raw.update(
                score=item.score, max_score=item.max_score, status=item.status, feedback=item.feedback
            )
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Report":
        data = dict(data)
        items = []
        for raw in data.pop("items"):
            parts = [PartResult(**p) for p in raw["parts"]]
            items.append(ItemResult(raw["id"], raw["title"], parts, raw.get("override")))
        return cls(items=items, **data)
