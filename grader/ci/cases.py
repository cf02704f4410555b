"""One flat list of test cases: what every CI format (JUnit, GitHub, Gradescope) is written from.

A `TestCase` is one item of an assignment (`ch10.q1` ...), with its score and a message for the
student. Full grading makes them from a `Report` (`cases_from_report`); `grade check` makes them
from its own check result (`cases_from_check`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.records import Report

CaseStatus = Literal["passed", "failed", "error"]


@dataclass
class TestCase:
    __test__ = False  # a plain record, not something for pytest to collect

    name: str  # "ch10.q1 XOR from threshold logic units"
    classname: str  # "ch10": the assignment, which groups the cases in JUnit viewers
    status: CaseStatus
    score: float
    max_score: float
    message: str  # one or two sentences for the student: what was found, what to fix
    file: str | None = None  # the notebook, as the CI sees it (relative to the repository)
    line: int | None = None  # line of the item's cell in the notebook's JSON text, 1-based


def cases_from_report(report: Report, notebook_path: str) -> list[TestCase]:
    """One case per item of a graded report; `line` points at the item's cell when it is found."""
    lines = _item_lines(report, notebook_path)
    return [
        TestCase(
            name=f"{item.id} {item.title}",
            classname=report.assignment,
            status=item.status,
            score=item.score,
            max_score=item.max_score,
            message=item.feedback,
            file=notebook_path,
            line=lines.get(index),
        )
        for index, item in enumerate(report.items)
    ]


def cases_from_check(result, notebook_path: str) -> list[TestCase]:
    """One case per item of a `grade check` run, in the assignment's order: full points when
    every part is present and well-formed, else 0 (a completeness score: no key is available);
    the message holds the one-line fix of each problem part. A notebook that could not be
    checked at all is one "error" case."""
    from grader.assign.spec import load_public_specs

    if result.assignment is None or (result.problems and not result.rows):
        message = " ".join(result.problems) or "the notebook could not be checked"
        return [TestCase("notebook", result.assignment or "unknown", "error", 0.0, 0.0, message, notebook_path)]
    spec = load_public_specs()[result.assignment]
    cases = []
    for item in spec.items:
        rows = [r for r in result.rows if r.item == item.id]
        problems = [f"{r.part}: {r.message}" for r in rows if not r.ok]
        ok = bool(rows) and not problems
        cases.append(TestCase(
            f"{item.id} {item.title}", spec.id, "passed" if ok else "failed",
            item.max_score if ok else 0.0, item.max_score,
            "; ".join(problems) if problems else "present and well-formed", notebook_path,
        ))
    for problem in result.problems:  # notebook-level (timeouts, dead kernel): an error case each
        cases.append(TestCase("notebook", spec.id, "error", 0.0, 0.0, problem, notebook_path))
    return cases


def cell_lines(notebook_path: str | Path) -> list[int] | None:
    """1-based line of each cell's `"cell_type"` key in the notebook's JSON text, by cell index.

    Notebooks are written with one key per line (nbformat), so each cell's `"cell_type"` key starts
    a line; a key of that name inside a string would be escaped (`\\"cell_type\\"`). None when the
    file cannot be read or the count does not match the cells (hand-formatted JSON).
    """
    try:
        text = Path(notebook_path).read_text(encoding="utf-8")
        cells = json.loads(text).get("cells")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(cells, list):
        return None
    found = [n for n, line in enumerate(text.splitlines(), 1) if re.match(r'\s*"cell_type"\s*:', line)]
    return found if len(found) == len(cells) else None


def _item_lines(report: Report, notebook_path: str) -> dict[int, int]:
    """item index -> line of the cell its feedback concerns (as placed in the HTML report)."""
    lines = cell_lines(notebook_path)
    if not lines:
        return {}
    try:
        from grader.report.html import item_cells  # heavy imports (nbconvert): only when needed

        cells = json.loads(Path(notebook_path).read_text(encoding="utf-8"))["cells"]
        return {item: lines[cell] for item, cell in item_cells(report.items, cells).items() if cell < len(lines)}
    except Exception:  # a location is a nicety: never let it stop the report
        return {}
