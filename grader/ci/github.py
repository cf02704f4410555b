"""GitHub Actions: a job summary, annotations, and the result GitHub Classroom's reporter reads.

- `step_summary_markdown` / `append_step_summary`: a Markdown table appended to the file named by
  `$GITHUB_STEP_SUMMARY` (shown on the run's summary page).
- `annotations`: workflow commands (`::error file=...,line=...,title=...::message`) printed to
  stdout (at most 10 errors and 10 warnings: what GitHub shows per step; the rest are named in the
  job summary); the runner turns them into annotations on the notebook. Escaping as in GitHub's
  workflow-commands docs and @actions/core (`escapeData` / `escapeProperty` in
  actions/toolkit packages/core/src/command.ts): in the message `%` `\\r` `\\n` become `%25` `%0D`
  `%0A`; in property values `:` and `,` also become `%3A` and `%2C`.
- `classroom_result` / `write_github_output`: the `result` step output of GitHub Classroom's
  runner actions, read by `classroom-resources/autograding-grading-reporter@v1`.

The Classroom format, as read in the runners' and the reporter's sources:

- classroom-resources/autograding-io-grader, src/main.js, and autograding-command-grader,
  src/main.js: `core.setOutput('result', btoa(JSON.stringify(result)))` with
  `{version: 1, status: "pass"|"fail"|"error", max_score, tests: [{name, status, score, message,
  test_code, filename, line_no, execution_time ("0.123s")}]}`; autograding-python-grader,
  bin/run.sh + runner/data.py, writes the same shape (version 3, per test `duration`).
- classroom-resources/autograding-grading-reporter, src/main.js: for each id in its `runners`
  input it reads the env var `${RUNNER_ID.toUpperCase()}_RESULTS`, base64-decodes it and parses
  the JSON; src/console-results.js prints each test (`status === 'pass'` ✅, `'error'` prints
  `message`, `line_no !== 0` adds " - line N", `test_code` is printed when set);
  src/notify-classroom.js sums `max_score` over runners and `score` over all tests into the
  "Points X/Y" notice GitHub Classroom records (runners without `max_score` are skipped);
  the step fails when any runner's `status` is "fail" or "error".
"""

from __future__ import annotations

import base64
import html
import json
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from grader.ci.cases import TestCase
from grader.report.gradebook import format_number

STATUS_ICONS = {"passed": "✅ passed", "failed": "❌ failed", "error": "⚠️ error"}
CLASSROOM_STATUS = {"passed": "pass", "failed": "fail", "error": "error"}
SUMMARY_MESSAGE_LIMIT = 1000  # characters of one message in the summary table
ANNOTATION_MESSAGE_LIMIT = 4000
# GitHub shows at most 10 error and 10 warning annotations per step (actions/toolkit,
# docs/problem-matchers.md, "Limitations"); the rest would vanish, so they go to the job summary
ANNOTATIONS_PER_LEVEL = 10


# ---- workflow commands -------------------------------------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as `escape_data`, plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, properties: dict[str, object], message: str) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def _points(case: TestCase) -> str:
    return f"{format_number(case.score)}/{format_number(case.max_score)}"


def annotation_level(case: TestCase) -> str | None:
    """"error" for an item that errored or earned nothing, "warning" for partial credit."""
    if case.status == "passed":
        return None
    if case.status == "failed" and 0 < case.score < case.max_score:
        return "warning"
    return "error"


def annotated(cases: Sequence[TestCase]) -> tuple[list[TestCase], list[TestCase]]:
    """(cases that get an annotation, cases past GitHub's 10 per level that do not)."""
    shown, rest = [], []
    counts = {"error": 0, "warning": 0}
    for case in cases:
        level = annotation_level(case)
        if level is None:
            continue
        counts[level] += 1
        (shown if counts[level] <= ANNOTATIONS_PER_LEVEL else rest).append(case)
    return shown, rest


def annotations(cases: Sequence[TestCase], notebook_path: str) -> list[str]:
    """Workflow commands for the items that did not pass, pointing at the notebook (and cell);
    at most ANNOTATIONS_PER_LEVEL of each level (see `annotated`)."""
    commands = []
    for case in annotated(cases)[0]:
        message = case.message or case.status
        if len(message) > ANNOTATION_MESSAGE_LIMIT:
            message = message[: ANNOTATION_MESSAGE_LIMIT - 1] + "…"
        properties = {
            "file": case.file or notebook_path,
            "line": case.line,
            "title": f"{case.name} ({_points(case)})",
        }
        commands.append(workflow_command(annotation_level(case), properties, message))
    return commands


# ---- job summary -------------------------------------------------------------------------------


def _cell(text: str, limit: int | None = None) -> str:
    """Text safe inside one Markdown table cell: no HTML, no pipes, no line breaks."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    text = html.escape(text, quote=False).replace("|", "\\|")
    return "<br>".join(line.strip() for line in text.replace("\r\n", "\n").split("\n"))


def step_summary_markdown(cases: Sequence[TestCase], title: str) -> str:
    score = sum(c.score for c in cases)
    max_score = sum(c.max_score for c in cases)
    counts = {status: sum(c.status == status for c in cases) for status in STATUS_ICONS}
    lines = [
        f"## {_cell(title)}",
        "",
        f"**{format_number(score)} / {format_number(max_score)} points**: "
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors",
        "",
        "| Item | Score | Status | Message |",
        "| --- | ---: | --- | --- |",
    ]
    for case in cases:
        lines.append(
            f"| {_cell(case.name)} | {_points(case)} | {STATUS_ICONS[case.status]} "
            f"| {_cell(case.message, SUMMARY_MESSAGE_LIMIT)} |"
        )
    lines.append(f"| **Total** | **{format_number(score)}/{format_number(max_score)}** | | |")
    rest = annotated(cases)[1]
    if rest:
        lines += [
            "",
            f"GitHub shows at most {ANNOTATIONS_PER_LEVEL} errors and {ANNOTATIONS_PER_LEVEL} warnings on the "
            f"notebook; these {len(rest)} are only in the table above: "
            + ", ".join(_cell(case.name) for case in rest) + ".",
        ]
    return "\n".join(lines) + "\n"


def append_step_summary(cases: Sequence[TestCase], title: str) -> bool:
    """Append the summary to `$GITHUB_STEP_SUMMARY`; False when not running in GitHub Actions."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as file:
        file.write(step_summary_markdown(cases, title) + "\n")
    return True


# ---- GitHub Classroom --------------------------------------------------------------------------


def classroom_payload(cases: Sequence[TestCase], *, duration_s: float = 0.0) -> dict:
    """The runner result the Classroom reporter reads (see the module docstring for the source).

    Scores are the items' own (partial credit included): the reporter's "Points X/Y" notice adds
    up each test's `score`. `line_no` stays 0: a line of the notebook's JSON would mean nothing
    in the reporter's log (the annotations carry it instead).
    """
    statuses = {c.status for c in cases}
    status = "error" if "error" in statuses else "fail" if "failed" in statuses else "pass"
    return {
        "version": 1,
        "status": status,
        "max_score": round(sum(c.max_score for c in cases), 2),
        "tests": [
            {
                "name": case.name,
                "status": CLASSROOM_STATUS[case.status],
                "score": round(case.score, 2),
                "max_score": round(case.max_score, 2),
                "message": case.message,
                "test_code": "",
                "filename": case.file or "",
                "line_no": 0,
                "execution_time": f"{duration_s / max(1, len(cases)):.2f}s" if duration_s else "0s",
            }
            for case in cases
        ],
    }


def classroom_result(cases: Sequence[TestCase], *, duration_s: float = 0.0) -> str:
    """Base64 of the JSON result, as the runners pass it in their `result` output."""
    text = json.dumps(classroom_payload(cases, duration_s=duration_s), ensure_ascii=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def write_github_output(cases: Sequence[TestCase], *, duration_s: float = 0.0) -> bool:
    """Append `result=<base64>` to `$GITHUB_OUTPUT`; False when not running in GitHub Actions.

    In the workflow, give the reporter `<STEP_ID>_RESULTS: ${{ steps.<step_id>.outputs.result }}`
    and `runners: <step_id>`.
    """
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as file:
        file.write(f"result={classroom_result(cases, duration_s=duration_s)}\n")
    return True


def emit_github(
    cases: Sequence[TestCase],
    title: str,
    notebook_path: str,
    *,
    duration_s: float = 0.0,
    stream: TextIO | None = None,
) -> None:
    """Everything `--format github` does: annotations on stdout, job summary, step output."""
    stream = stream or sys.stdout
    for command in annotations(cases, notebook_path):
        print(command, file=stream)
    stream.flush()
    append_step_summary(cases, title)
    write_github_output(cases, duration_s=duration_s)
