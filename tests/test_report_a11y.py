"""The report pages meet WCAG 2.1 AA as axe-core checks it, in headless Chromium (Debian's), with
no network: contrast, headings, table headers, status not by colour alone, the page's language.

Needs node, /usr/bin/chromium and `npm ci` in tests/a11y (`make setup` installs them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from conftest import Q1_RIGHT, XOR_RIGHT
from grader.feedback.causes import GRADER_METADATA
from grader.records import ItemResult, PartResult, Report
from grader.report.html import render_html

A11Y = Path(__file__).parent / "a11y"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (make setup installs it)"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (make setup installs Debian's chromium)"
    if not (A11Y / "node_modules" / "axe-core").is_dir() or not (A11Y / "node_modules" / "playwright-core").is_dir():
        return "axe-core and playwright-core are not installed: npm ci --prefix tests/a11y"
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_missing() is not None, reason=str(_missing()))]


def axe_violations(pages: list[Path], shots: Path | None = None) -> dict[str, list[dict]]:
    command = ["node", str(A11Y / "axe.mjs"), *(["--screenshot", str(shots)] if shots else []), *map(str, pages)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ, "CHROMIUM": CHROMIUM})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _every_kind_of_box() -> tuple[Report, object]:
    """A made-up page holding every status, a cause with a hint, a stopped cell, math and an error."""
    parts = [
        PartResult("answer_q1", 1, 1, "passed", "right."),
        PartResult("mlp_forward", 2, 4, "failed", "2 of 4 batches right.", {"n": 4, "n_wrong": 2}),
        PartResult("build_stacked_rnn", 0, 6, "failed",
                   "calling build_stacked_rnn() failed: ValueError: expected ndim=3, found ndim=2."),
        PartResult("mnist_model.keras", 0, 30, "error", "mnist_model.keras was not saved by the notebook.",
                   {"accuracy": 0.16, "threshold": 0.98}),
    ]
    items = [ItemResult(f"ch10.q{i + 1}", f"Item {i + 1}", [p]) for i, p in enumerate(parts)]
    report = Report("ada", "ch10", 3, 41, items, "ab" * 32, "0.1", "2026-12-04T00:00:00+00:00", 1,
                    problems=["In [4] (under Question 4) was stopped by the grader after 180 s."])
    stopped = new_code_cell("model.fit(X, y, epochs=1000)", execution_count=4, outputs=[
        new_output("error", ename="KeyboardInterrupt", evalue="", traceback=["\x1b[0;31mKeyboardInterrupt\x1b[0m"])])
    stopped.metadata[GRADER_METADATA] = {"stopped_after_s": 180.0}
    cells = [
        new_markdown_cell("# Chapter 10\n\nThe step function: $H(z) = [z \\ge 0]$ and $$\\sigma(z) = \\frac{1}{1 + e^{-z}}$$"),
        new_markdown_cell("## Question 1 — One"),
        new_code_cell('answer_q1 = "B"', execution_count=1),
        new_markdown_cell("## Question 2 — Two"),
        new_code_cell("def mlp_forward(X, Wh, bh, Wo, bo):\n    return X", execution_count=2, outputs=[
            new_output("stream", name="stderr", text="a warning the student should see\n")]),
        new_markdown_cell("## Question 3 — Three"),
        new_code_cell("def build_stacked_rnn():\n    return None", execution_count=3),
        new_markdown_cell("## Question 4 — Four"),
        stopped,
    ]
    return report, new_notebook(cells=cells)


def test_reports_meet_wcag_21_aa(tmp_path, grade_notebook):
    report, executed = _every_kind_of_box()
    made_up = tmp_path / "made-up.html"
    made_up.write_text(render_html(report, executed))
    # and one graded for real, with a cell that raised
    graded, notebook = grade_notebook(Q1_RIGHT, "raise ValueError('boom')", XOR_RIGHT)
    real = tmp_path / "graded.html"
    real.write_text(render_html(graded, notebook))
    unreadable = tmp_path / "unreadable.html"
    broken = Report("eve", "ch10", 0, 1, [ItemResult("ch10.q1", "One", [PartResult(
        "answer_q1", 0, 1, "error", "not graded: ch10.ipynb is not valid notebook JSON: Expecting value (line 1).")])],
        "", "0.1", "2026-12-04T00:00:00+00:00", 1)
    unreadable.write_text(render_html(broken, None))

    found = axe_violations([made_up, real, unreadable])
    assert found == {str(made_up): [], str(real): [], str(unreadable): []}, json.dumps(found, indent=1)[:4000]


def test_the_checker_finds_what_the_report_avoids(tmp_path):
    """The same run on a page with the faults the report fixed: grey prompt text, no lang."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>x</title></head><body>"
        '<p style="color:#b0b0b0">In [1]:</p><img src="data:image/png;base64,iVBORw0KGgo="></body></html>'
    )
    found = {v["id"] for v in axe_violations([bad])[str(bad)]}
    assert {"color-contrast", "html-has-lang", "image-alt"} <= found
