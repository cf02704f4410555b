"""The report page a student reads: the cause first, the grader's stopped-cell note, no library
noise, details in words, a partial badge, one banner for an unreadable notebook, LaTeX as MathML.

The slow tests grade small made-up ch99 notebooks through the real sandboxed pipeline."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from grader.feedback import causes
from grader.feedback.details import plain_details
from grader.feedback.noise import without_noise
from grader.records import ItemResult, PartResult, Report
from grader.report.html import clean_html, render_html
from grader.report.mathml import latex_to_mathml
from conftest import MLP_RIGHT, Q1_RIGHT, XOR_RIGHT, part_of

ABSL = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796408812.185297       2 port.cc:153] oneDNN custom operations are on. You may see "
    "slightly different numerical results due to floating-point round-off errors.\n"
)


def _soup(page: str) -> BeautifulSoup:
    return BeautifulSoup(page, "html.parser")


def _boxes(page: str) -> dict[str, str]:
    """item id -> the text of its feedback box."""
    found = {}
    for box in _soup(page).select("div.grader-feedback"):
        found[box.h3.get_text().split()[0]] = box.get_text(" ", strip=True)
    return found


# ---- graded for real --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_cell_that_raised_is_the_first_thing_its_item_says(grade_notebook):
    tf1 = "tf.reset_default_graph()\n\ndef xor_network(a, b):\n    return a ^ b"
    report, executed = grade_notebook(
        Q1_RIGHT, new_markdown_cell("## Question 2 — XOR"), tf1, new_markdown_cell("## Question 3"), MLP_RIGHT
    )
    assert part_of(report, "xor_network").score == 0
    page = render_html(report, executed)
    box = _boxes(page)["ch99.q2"]
    # the cause, as the student sees the cell, before what it cost
    assert box.index("Cause: In [2] (under Question 2) raised NameError: name 'tf' is not defined "
                     "(line 1: tf.reset_default_graph() ).") < box.index("xor_network is not defined")
    assert "Hint: this is TensorFlow 1 code (tf.reset_default_graph); the course uses tf.keras" in box
    assert "Cause" not in _boxes(page)["ch99.q3"]  # the next question's cells ran fine
    # the JSON's feedback gets the same cause first, once the pipeline annotates it
    found = causes.item_causes(executed.cells, ["ch99.q2"], causes.cell_failures(executed.cells))
    annotated = causes.annotate(report, found)
    assert part_of(annotated, "xor_network").feedback.startswith("In [2] (under Question 2) raised NameError")
    assert _boxes(render_html(annotated, executed))["ch99.q2"].count("raised NameError") == 1


@pytest.mark.slow
def test_a_stopped_cell_carries_the_graders_note_and_is_its_items_cause(grade_notebook):
    hang = "while True:\n    pass\n\ndef xor_network(a, b):\n    return int(a != b)"
    report, executed = grade_notebook(Q1_RIGHT, hang, MLP_RIGHT, cell_timeout=2)
    assert "In [2] was stopped by the grader after 2 s: it ran past the time limit of one cell." in report.problems
    soup = _soup(render_html(report, executed))
    note = soup.select_one(".grader-stopped")
    assert note.get_text(" ", strip=True).startswith("Stopped by the grader after 2 s")
    stopped_cell = note.find_previous_sibling("div", class_="jp-CodeCell")
    assert "In [2]" in stopped_cell.get_text().replace("\xa0", " ") and "while True" in stopped_cell.get_text()
    assert "Cause: In [2] was stopped by the grader after 2 s" in _boxes(str(soup))["ch99.q2"]


@pytest.mark.slow
def test_library_banners_are_hidden_from_the_page_but_kept_in_the_executed_notebook(grade_notebook):
    noisy = f"import sys\nsys.stderr.write({ABSL!r})\nsys.stderr.write('E0000 my own error line\\n')"
    report, executed = grade_notebook(Q1_RIGHT, noisy, XOR_RIGHT, MLP_RIGHT)
    kept = "".join(o.get("text", "") for o in executed.cells[1].outputs)
    assert "absl::InitializeLog" in kept and "oneDNN" in kept
    shown = " ".join(o.get_text() for o in _soup(render_html(report, executed)).select(".jp-OutputArea-output"))
    assert "absl::InitializeLog" not in shown and "oneDNN" not in shown
    assert "E0000 my own error line" in shown  # only known banners go, never a log level


@pytest.mark.slow
def test_a_script_renamed_ipynb_gets_one_banner_with_the_fix(tmp_path, make_settings, sandbox_available):
    from grader.notebook.match import find_submissions
    from grader.pipeline.single import SubmissionGrader

    path = tmp_path / "subs" / "eve" / "ch99.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text("import numpy as np\nprint('hello')\n")
    settings = make_settings()
    (submission,), _ = find_submissions(tmp_path / "subs", set(settings.specs))
    grader_ = SubmissionGrader(settings)
    try:
        report, executed = grader_.grade(submission)
    finally:
        grader_.close()
    page = render_html(report, executed)
    text = _soup(page).get_text(" ", strip=True)
    assert text.count("Expecting value") == 1
    banner = _soup(page).select_one(".grader-banner").get_text(" ", strip=True)
    assert "could not be read" in banner and "File > Download > Notebook (.ipynb)" in banner
    assert not _soup(page).select("div.grader-feedback")  # no box repeating it per part
    assert text.count("not graded") == len(report.items)  # the table's badges


# ---- the page's parts ---------------------------------------------------------------------------


def _report(*parts: PartResult) -> Report:
    items = [ItemResult(f"ch10.q{i + 1}", f"Item {i + 1}", [p]) for i, p in enumerate(parts)]
    return Report("alice", "ch10", sum(p.score for p in parts), sum(p.max_score for p in parts),
                  items, "", "0.1", "2026-12-04T00:00:00+00:00", 1)


def test_partial_credit_wears_a_partial_badge_not_failed():
    report = _report(
        PartResult("a", 6, 14, "failed", "some right"),
        PartResult("b", 0, 5, "failed", "wrong"),
        PartResult("c", 5, 5, "passed", "right"),
    )
    soup = _soup(render_html(report, new_notebook()))
    badges = [b.get_text() for b in soup.select("table.grader-scores .grader-badge")]
    assert badges == ["◐ partial", "✗ failed", "✓ passed"]  # a word and a symbol, not colour alone
    assert [th.get("scope") for th in soup.select("table.grader-scores thead th")] == ["col"] * 4
    assert soup.html.get("lang") == "en"


def test_details_are_collapsed_and_in_words():
    details = {"n": 300, "n_not_str": 0, "n_ungrammatical": 2, "n_distinct": 115, "n_distinct_required": 55.925,
               "mean_length": 12.233333, "expected_mean_length": 12.000000000000002,
               "mean_length_tolerance": 1.3605554421305701}
    assert plain_details(details) == [
        "cases checked: 300", "not grammatical: 2", "distinct strings: 115", "distinct strings needed: 56",
        "mean length: 12.2", "the grammar's mean length: 12.0", "allowed difference: ± 1.4",
    ]
    assert plain_details({"accuracy": 0.9721, "threshold": 0.98, "p_value": 0.0, "log10_p_value": -413.84}) == [
        "accuracy: 97.21%", "full marks from: 98%", "p-value: below 1e-413",
    ]
    report = _report(PartResult("generate_string", 1, 2, "failed", "too short", details))
    soup = _soup(render_html(report, new_notebook()))
    block = soup.select_one("details.grader-details")
    assert block is not None and not block.has_attr("open")
    assert "55.925" not in str(soup) and "n_distinct_required" not in str(soup)


def test_latex_becomes_mathml_outside_code_only():
    markdown = (
        "ReLU: $\\mathrm{ReLU}(z) = \\max(0, z)$, costs \\$5 or `$HOME`.\n\n$$\\hat{y} = \\sigma(Wx + b)$$\n"
        "```\necho $PATH $x$\n```"
    )
    converted = latex_to_mathml(markdown)
    assert converted.count("<math ") == 2 and 'display="block"' in converted
    assert "`$HOME`" in converted and "echo $PATH $x$" in converted and "\\$5" in converted
    nb = new_notebook(cells=[new_markdown_cell(markdown)])
    page = render_html(_report(PartResult("a", 1, 1, "passed", "ok")), nb)
    maths = _soup(page).find_all("math")
    assert len(maths) == 2 and maths[0].find("mi") is not None
    assert "\\mathrm{ReLU}" not in page  # rendered, not shown as source


def test_mathml_passes_the_sanitizer_without_links_or_scripts():
    dirty = ('<math><mi href="javascript:alert(1)" onclick="x()">x</mi>'
             '<maction actiontype="statusline"><mi>y</mi></maction><mo style="background:url(a)">+</mo></math>')
    cleaned = clean_html(dirty)
    assert "<math>" in cleaned and "<mi>x</mi>" in cleaned
    assert not re.search(r"href|onclick|javascript|maction|style|url\(", cleaned)


def test_noise_filter_keeps_everything_but_known_banners():
    text = ABSL + "Epoch 1/2\nE0000 00:00:1.0 2 x.cc:1] a real failure\n"
    assert without_noise(text) == "Epoch 1/2\nE0000 00:00:1.0 2 x.cc:1] a real failure\n"
    assert without_noise("plain\n") == "plain\n"


def test_stderr_made_only_of_banners_leaves_no_empty_pink_box():
    cell = new_code_cell("import tensorflow as tf", execution_count=1,
                         outputs=[new_output("stream", name="stderr", text=ABSL)])
    page = render_html(_report(PartResult("a", 1, 1, "passed", "ok")), new_notebook(cells=[cell]))
    assert not _soup(page).select('[data-mime-type="application/vnd.jupyter.stderr"]')
