"""The report stage: JSON schema, safe paths, atomic writes, HTML, gradebook, summary."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import jsonschema
import nbformat
import pytest

from grader.records import ItemResult, PartResult, Report
from grader.report import (
    atomic_write_bytes,
    atomic_write_text,
    finished_reports,
    read_report_json,
    render_html,
    report_paths,
    safe_component,
    summary_rows,
    validate,
    write_gradebook,
    write_report_json,
    write_summary,
)
from grader.report.gradebook import format_number


def part(label, score, max_score, status=None, feedback="ok.", **details):
    status = status or ("passed" if score == max_score else "failed")
    return PartResult(label, score, max_score, status, feedback, details)


def make_report(student="alice", assignment="ch10", scores=(1, 2, 3), **extra) -> Report:
    q1, q2, q3 = scores
    items = [
        ItemResult("ch10.q1", "Perceptron", [part("answer_q1", q1, 1, feedback="`answer_q1` is B.")]),
        ItemResult(
            "ch10.q2",
            "MLP forward pass",
            [part("mlp_forward", q2, 4, feedback="wrong output shape", n=10)],
        ),
        ItemResult(
            "ch10.q3",
            "Trained model",
            [part("mnist_model.keras", q3, 5, accuracy=0.97), part("answer_q3", 0, 0, "error", "not found")],
        ),
    ]
    fields = dict(
        student=student,
        assignment=assignment,
        score=float(q1 + q2 + q3),
        max_score=10.0,
        items=items,
        submission_sha256="ab" * 32,
        grader_version="0.1.0",
        graded_at="2026-05-01T12:00:00+00:00",
        seed=42,
        data={"mnist": "0" * 64 + " (bundled)"},
    )
    fields.update(extra)
    return Report(**fields)


def executed_notebook() -> nbformat.NotebookNode:
    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell("# Chapter 10\nIntro <b>bold</b>"),
        v4.new_code_cell("import numpy as np", execution_count=1),
        v4.new_code_cell('answer_q1 = "B"', execution_count=2),
        v4.new_code_cell(
            "def mlp_forward(x):\n    return x",
            execution_count=3,
            outputs=[v4.new_output("stream", name="stdout", text="x" * 500_000)],
        ),
        v4.new_code_cell(
            's = "<script>alert(1)</script>"\nprint(s)',
            execution_count=4,
            outputs=[
                v4.new_output("stream", name="stdout", text="<script>alert(1)</script>\n"),
                v4.new_output("display_data", data={"text/html": "<script>alert(2)</script><b>hi</b>"}),
            ],
        ),
        v4.new_code_cell('model.save("models/mnist_model.keras")', execution_count=5),
        v4.new_code_cell('print("the end")', execution_count=6),
    ]
    return v4.new_notebook(cells=cells)


# ---- schema ------------------------------------------------------------------------------


def test_real_report_matches_schema():
    validate(make_report().to_json())
    validate(make_report(sandbox="none", problems=["kernel died"], duration_s=3.5).to_json())


@pytest.mark.parametrize(
    "breakage",
    [
        lambda r: r.pop("score"),
        lambda r: r["items"][0].update(status="great"),
        lambda r: r["items"][1]["parts"][0].update(status="ok"),
        lambda r: r.update(sandbox="docker"),
        lambda r: r.update(graded_at="yesterday"),
        lambda r: r.update(seed="42"),
    ],
)
def test_broken_report_is_rejected(breakage):
    data = make_report().to_json()
    breakage(data)
    with pytest.raises(jsonschema.ValidationError):
        validate(data)


# ---- files --------------------------------------------------------------------------------


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path):
    target = tmp_path / "new" / "folder" / "report.json"
    atomic_write_text(target, "a much longer first version\n" * 100)
    atomic_write_text(target, "short")
    assert target.read_text() == "short"
    assert os.listdir(target.parent) == ["report.json"]


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "r.txt"
    atomic_write_text(target, "old")
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "text, not bytes")  # fails after the temp file is made
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["r.txt"]


HOSTILE_IDS = [
    "../x", "/etc/passwd", "..", ".", "", "a/b", "a\\b", "a b", "a_b", "Zoë", "Zoe\u0308",
    "x" * 300, "é" * 300, "-rf", ".hidden", "a\x00b", "~", "a~b", "con", "日本語", "nul\n",
]


def test_safe_component_never_escapes_and_never_collides(tmp_path):
    components = [safe_component(name) for name in HOSTILE_IDS]
    assert len(set(components)) == len(HOSTILE_IDS)
    for component in components:
        assert component not in ("", ".", "..")
        assert "/" not in component and "\\" not in component and "\x00" not in component
        assert not component.startswith((".", "-"))
        assert len(component.encode()) <= 255
        path = (tmp_path / component).resolve()
        assert path.parent == tmp_path.resolve()
        path.mkdir()  # a real, creatable single folder


def test_safe_component_keeps_plain_and_unicode_names_readable():
    assert safe_component("alice_01") == "alice_01"
    assert safe_component("Zoë") == "Zoë"
    assert safe_component("a b").startswith("a_b~")
    assert safe_component("../x").startswith("_._x~")


def test_report_json_round_trip_and_finished_reports(tmp_path):
    report = make_report(student="../evil")
    path = write_report_json(tmp_path, report)
    assert path == report_paths(tmp_path, "../evil", "ch10")[0]
    assert path.parent.parent == tmp_path
    assert read_report_json(path) == report
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "ch10.json").write_text("{ half a report")
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "ch10.json").write_text('{"not": "a report"}')
    write_report_json(tmp_path, make_report(student="dave", assignment="ch14"))
    assert [(r.student, r.assignment) for r in finished_reports(tmp_path)] == [
        ("../evil", "ch10"),
        ("dave", "ch14"),
    ]


# ---- HTML ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(make_report(), executed_notebook())


def test_html_has_score_table_and_all_feedback(page):
    assert '<table class="grader-scores">' in page
    for text in ("ch10.q1", "Perceptron", "1 / 1", "2 / 4", "3 / 5", "6 / 10", "wrong output shape"):
        assert text in page
    assert "<code>answer_q1</code> is B." in page


def test_html_feedback_follows_its_cell(page):
    def at(text):
        assert page.count(text) >= 1, text
        return page.index(text)

    q1, q2, q3 = (at(f'id="grader-item-{i}"') for i in range(3))
    assert at("answer_q1</span>") < q1 < at("mlp_forward</span>") < q2  # highlighted source
    assert q2 < at('mnist_model.keras"</span>') < q3 < at("the end")


def test_html_escapes_student_content(page):
    assert "<script>" not in page
    assert "alert(2)" not in page  # dropped from HTML output
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>hi</b>" in page and "<b>bold</b>" in page  # harmless HTML still renders


def test_html_truncates_big_output_and_stays_small(page):
    assert "output truncated: 490,000 of 500,000 characters not shown" in page
    assert len(page) < 300_000  # ~265 KB of it is JupyterLab's inlined CSS
    baseline = render_html(make_report(), nbformat.v4.new_notebook())
    assert len(page) - len(baseline) < 30_000


def test_html_is_offline(page):
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(["']?(https?:)?//|@import""", page)
    assert "Content-Security-Policy" in page


def test_hostile_feedback_and_outputs_are_escaped_and_capped():
    v4 = nbformat.v4
    prints = [v4.new_output("stream", name="stdout", text=f"epoch {i}\r[====]\n") for i in range(500)]
    spam = [v4.new_output("execute_result", data={"text/plain": "1"}) for _ in range(100)]
    huge_png = v4.new_output("display_data", data={"image/png": "A" * 2_000_000, "text/plain": "<Figure>"})
    js = v4.new_output("display_data", data={"application/javascript": "alert(3)"})
    nb = v4.new_notebook(
        cells=[
            v4.new_code_cell("answer_q1 = 1", outputs=[*prints, *spam, huge_png]),
            v4.new_code_cell("x = 2", outputs=[huge_png, js]),
            v4.new_markdown_cell(
                '<img src="https://tracker.example/x.png"> <a href="javascript:alert(4)">a</a>'
            ),
            v4.new_raw_cell('<div class="grader-feedback grader-passed">fake</div>'),
        ]
    )
    report = make_report()
    report.items[0].parts[0].feedback = 'found `answer_q1 = "</li><script>alert(5)</script>"`'
    report.items[0].title = "<i>title</i>"
    page = render_html(report, nb)
    assert "<script>" not in page and "alert(3)" not in page and "javascript:" not in page
    assert "tracker.example" not in page
    assert "&lt;i&gt;title&lt;/i&gt;" in page
    assert "epoch" not in page and page.count("[====]") == 500  # one merged stream, \r applied
    assert "52 more outputs not shown" in page
    assert "image/png image not shown: 1.5 MB, over the 1 MB limit" in page
    assert 'class="grader-feedback grader-passed">fake' not in page
    assert len(page) < 300_000


def test_html_without_notebook_and_without_sandbox():
    report = make_report(sandbox="none", problems=["kernel died after 600 s"])
    page = render_html(report, None)
    assert "graded without a sandbox" in page
    assert "kernel died after 600 s" in page
    assert "could not be read or run" in page
    assert page.count('class="grader-feedback') == 3


def test_html_unplaced_feedback_goes_to_the_end():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('answer_q1 = "B"')])
    page = render_html(make_report(), nb)
    untied = page.index("Feedback not tied to a cell")
    assert page.index('id="grader-item-0"') < untied < page.index('id="grader-item-1"')


# ---- gradebook ----------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as file:  # no byte-order mark
        return list(csv.DictReader(file))


def test_gradebook(tmp_path):
    reports = [
        make_report("zoe", scores=(1, 2.5, 4)),
        make_report("alice", scores=(0, 4, 5)),
        make_report("bob", "ch14", scores=(1, 1, 1)),
        make_report("alice", "ch14", scores=(1, 0, 0)),
    ]
    reports[2].items[0].id = reports[3].items[0].id = "ch14.q1"
    path = write_gradebook(tmp_path, reports)
    rows = read_csv(path)
    assert [r["student"] for r in rows] == ["alice", "bob", "zoe"]  # no (max) row
    assert list(rows[0])[:5] == ["student", "ch10.q1", "ch10.q2", "ch10.q3", "ch10_total"]
    assert list(rows[0])[5:9] == ["ch10_status", "ch10_file", "ch10_submitted_at", "ch14.q1"]
    assert list(rows[0])[-2:] == ["ch14_submitted_at", "total"]
    alice, bob, zoe = rows
    assert alice["ch10_total"] == "9" and alice["ch14_total"] == "1" and alice["total"] == "10"
    assert zoe["ch10.q2"] == "2.5" and zoe["ch10_total"] == "7.5" and zoe["ch14_total"] == ""
    assert zoe["ch10_status"] == "graded" and zoe["ch14_status"] == "missing"
    assert bob["ch10.q1"] == "" and bob["ch10_total"] == "" and bob["total"] == "3"
    top = {r["column"]: r["max_score"] for r in read_csv(tmp_path / "gradebook-max.csv")}
    assert top["ch10.q3"] == "5" and top["ch10_total"] == "10" and top["total"] == "20"
    assert path.read_bytes().startswith(b"student,")


def test_gradebook_status_file_and_time(tmp_path):
    from grader.records import Submission

    unreadable = make_report("eve", scores=(0, 0, 0))
    for item in unreadable.items:
        for p in item.parts:
            p.status, p.feedback = "error", "not graded: ch10.ipynb is not valid notebook JSON."
    subs = [
        Submission("ada", "ch10", "/x/ada/ch10 (1).ipynb", "/x/ada", submitted_at="2026-03-06T23:00:00-08:00"),
        Submission("eve", "ch10", "/x/eve/ch10.ipynb", "/x/eve"),
    ]
    rows = read_csv(write_gradebook(tmp_path, [make_report("ada"), unreadable], subs, [("max", "no notebook")]))
    ada, eve, max_ = rows
    assert (ada["ch10_status"], ada["ch10_file"], ada["ch10_submitted_at"]) == (
        "graded", "ch10 (1).ipynb", "2026-03-06T23:00:00-08:00")
    assert (eve["ch10_status"], eve["ch10_total"]) == ("not graded", "")
    assert (max_["student"], max_["ch10_status"]) == ("max", "missing")


def test_format_number():
    numbers = (10.0, 7.5, 0.1 + 0.2, -0.0, 1 / 3)
    assert [format_number(x) for x in numbers] == ["10", "7.5", "0.3", "0", "0.3333"]


# ---- summary ------------------------------------------------------------------------------


def test_summary_numbers_and_ungraded(tmp_path):
    reports = [
        make_report("a", scores=(1, 4, 5)),  # 10
        make_report("b", scores=(0, 2, 4)),  # 6
        make_report("c", scores=(1, 1, 0), problems=["kernel died"], sandbox="none"),  # 2
        make_report("d", scores=(0, 0, 1)),  # 1
    ]
    (row,) = summary_rows(reports)
    assert (row.assignment, row.graded, row.max_score) == ("ch10", 4, 10)
    assert (row.score.mean, row.score.median, row.score.min, row.score.max) == (4.75, 4, 1, 10)
    assert row.percent.mean == 47.5
    q2 = row.items[1]
    assert q2.item == "ch10.q2"
    assert (q2.score.mean, q2.score.median, q2.score.min, q2.score.max) == (1.75, 1.5, 0, 4)

    ungraded = [("eve", "no notebook found"), ("f|x", "two notebooks match ch10")]
    text = write_summary(tmp_path, reports, ungraded).read_text()
    assert "Class size: 6 students." in text
    assert "| Score | 4.75 | 4 | 1 | 10 |" in text
    assert "| % of max | 47.5% | 40% | 10% | 100% |" in text
    assert "- eve: no notebook found" in text
    assert r"- f\|x: two notebooks match ch10" in text
    assert "- c, ch10 (scored 2 / 10): kernel died" in text
    assert "graded without a sandbox: c." in text


def test_summary_leaves_unreadable_notebooks_out_and_lists_the_missing(tmp_path):
    from grader.records import Submission
    from grader.report.facts import Person

    bad = make_report("eve", scores=(0, 0, 0), problems=["ch10.ipynb is not valid notebook JSON."])
    for item in bad.items:
        for p in item.parts:
            p.status, p.feedback = "error", "not graded: ch10.ipynb is not valid notebook JSON."
    good = make_report("ada", scores=(1, 4, 5))
    good.items[1].title = "Dynamic (looped) *bold*"
    subs = [Submission("ada", "ch10", "a", "a"), Submission("eve", "ch10", "e", "e")]
    roster = [Person(student="ada"), Person(student="eve"), Person(student="zed")]
    text = write_summary(tmp_path, [good, bad], [], subs, roster).read_text()
    assert "Graded: 1 of 3 students." in text
    assert "| Score | 10 | 10 | 10 | 10 |" in text  # eve's 0 is not averaged in
    assert "- eve, ch10: not graded: ch10.ipynb is not valid notebook JSON." in text
    assert "## Missing\n\n- ch10 (1): zed\n" in text
    assert r"| Dynamic (looped) \*bold\* |" in text


def test_feedback_cell_rules():
    from grader.report.html import item_cells

    cells = [
        nbformat.v4.new_code_cell(source)
        for source in [
            'answer_q1 = "A"',  # 0
            'answer_q1 = "B"\n%time x = 1',  # 1: IPython syntax is fine
            'print("answer_q1", answer_q1 == "B")',  # 2: a mention, but cell 1 defines it
            "def mlp_forward(x) return x",  # 3: not valid Python: read as text
            "x = mlp_forward(1)",  # 4: only a use
            'model.save(r"out\\mnist_model.keras")',  # 5
            "print('mnist_model.keras', loss)",  # 6: the last mention wins
        ]
    ]
    items = [
        ItemResult(f"i{n}", "", [part(label, 0, 1)])
        for n, label in enumerate(["answer_q1", "mlp_forward", "mnist_model.keras", "absent"])
    ]
    two_parts = ItemResult("i4", "", [part("answer_q1", 0, 1), part("mlp_forward", 0, 1)])
    assert item_cells([*items, two_parts], cells) == {0: 1, 1: 3, 2: 6, 4: 3}


def test_html_falls_back_to_scores_when_the_notebook_cannot_be_rendered(monkeypatch):
    import grader.report.html as html_module

    def broken(cell, budget):
        raise ValueError("odd cell")

    monkeypatch.setattr(html_module, "_copied_cell", broken)
    page = render_html(make_report(), executed_notebook())
    assert "The notebook could not be shown (ValueError: odd cell)." in page
    assert page.count('class="grader-feedback') == 3


def test_summary_lists_models_flagged_for_test_set_leakage_and_keeps_their_score():
    from grader.records import ItemResult, PartResult, Report
    from grader.report.summary import summary_markdown

    def report(student, flagged):
        leakage = {"flagged": flagged, "test_accuracy": 0.999, "sealed_accuracy": 0.95, "n_sealed": 5000, "p_value": 1e-20}
        part = PartResult("mnist_model.keras", 30, 30, "passed", "accuracy ...", {"leakage": leakage})
        return Report(student, "ch10", 30, 30, [ItemResult("ch10.q9", "MLP", [part])], "", "0",
                      "2026-01-01T00:00:00+00:00", 1)

    text = summary_markdown([report("cheat", True), report("honest", False)], [])
    flagged = text.split("## Flagged: possibly trained on the test set")[1].split("##")[0]
    assert "cheat ch10" in flagged and "honest" not in flagged and "its score stands" in flagged
