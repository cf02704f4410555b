"""Gradescope's autograder results.json, from test cases.

Format: Gradescope's "Autograder Specifications"
(https://gradescope-autograders.readthedocs.io/en/latest/specs/, docs/specs.md in
github.com/gradescope/autograder_samples): top-level `score` (overrides the tests' total),
`execution_time` (seconds), `output`, `output_format`, `visibility`, `stdout_visibility`,
`tests[]` each with `score`, `max_score`, `status` ("passed"/"failed"), `name`, `number`,
`output`, `tags`, `visibility`. `gradescope_schema.json` beside this file is a JSON Schema of it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from grader.ci.cases import TestCase
from grader.report.files import atomic_write_text

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def schema() -> dict[str, Any]:
    """The JSON Schema of results.json (from Gradescope's docs; see its description)."""
    return json.loads(resources.files("grader.ci").joinpath("gradescope_schema.json").read_text("utf-8"))


def _number(case: TestCase, index: int) -> str:
    """"10.1" for ch10.q1 (Gradescope's "1.1" style), else the case's position."""
    found = re.match(r"ch(\d+)\.q(\d+)\b", case.name)
    return f"{int(found[1])}.{int(found[2])}" if found else str(index)


def results_json(
    cases: Sequence[TestCase],
    execution_time: float | None = None,
    *,
    output: str = "",
    visibility: str = "visible",
    stdout_visibility: str = "hidden",
) -> dict[str, Any]:
    """results.json as a dict: one test per case, the score their total.

    `visibility` applies to the whole submission and to each test (Gradescope's choices:
    hidden, after_due_date, after_published, visible); stdout (the grader's log) stays hidden
    from students unless `stdout_visibility` says otherwise. Outputs are plain text: feedback
    quotes what students wrote, so nothing is rendered as HTML or Markdown.
    """
    for value in (visibility, stdout_visibility):
        if value not in VISIBILITIES:
            raise ValueError(f"visibility {value!r}: use one of {', '.join(VISIBILITIES)}")
    results: dict[str, Any] = {
        "score": round(sum(c.score for c in cases), 2),
        "output": output,
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": visibility,
        "stdout_visibility": stdout_visibility,
        "tests": [
            {
                "name": case.name,
                "number": _number(case, index),
                "score": round(case.score, 2),
                "max_score": round(case.max_score, 2),
                "status": "passed" if case.status == "passed" else "failed",
                "output": case.message,
                "tags": [tag for tag in (case.classname, case.status) if tag],
                "visibility": visibility,
            }
            for index, case in enumerate(cases, 1)
        ],
    }
    if execution_time is not None:
        results["execution_time"] = max(0, round(execution_time))
    return results


def failure_results(message: str, execution_time: float | None = None) -> dict[str, Any]:
    """results.json for a submission that could not be graded at all: score 0 and why."""
    results = results_json([], execution_time, output=message)
    results["score"] = 0
    return results


def write_results_json(
    cases: Sequence[TestCase],
    path: str | os.PathLike,
    execution_time: float | None = None,
    **options: Any,
) -> Path:
    """Write results.json atomically (Gradescope reads /autograder/results/results.json)."""
    return write_results(results_json(cases, execution_time, **options), path)


def write_results(results: dict[str, Any], path: str | os.PathLike) -> Path:
    return atomic_write_text(path, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
