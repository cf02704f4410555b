"""Similar submissions: near-copies are found among honest, independently written notebooks."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from grader.similar import notebook_code, pairs_html, similar_pairs

HERE = Path(__file__).parent / "similar"
HONEST = ["honest_ada", "honest_ben", "honest_chen", "honest_dana"]


def write_notebook(path: Path, source: str, assignment: str = "ch10") -> Path:
    cells = [nbformat.v4.new_code_cell(c.strip()) for c in source.split("# %%") if c.strip()]
    cells.insert(0, nbformat.v4.new_markdown_cell("# Chapter 10\nAnswer every question."))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"homl_grader": {"assignment": assignment}}), str(path))
    return path


def code_of(name: str) -> str:
    return (HERE / f"{name}.py").read_text()


@pytest.fixture(scope="module")
def stub() -> str:
    return code_of("stub")


def test_near_copy_is_found_and_honest_pairs_are_not(tmp_path, stub):
    names = HONEST + ["copied_from_ben"]
    notebooks = [(n, "ch10", notebook_code(write_notebook(tmp_path / n / "ch10.ipynb", code_of(n)))) for n in names]
    pairs = similar_pairs(notebooks, {"ch10": stub})
    assert [(p.student_a, p.student_b) for p in pairs] == [("copied_from_ben", "honest_ben")]
    pair = pairs[0]
    assert pair.share_a > 0.8 and pair.share_b > 0.8  # renamed variables and moved cells do not hide it
    joined_a = "\n".join(b.text_a for b in pair.blocks)
    joined_b = "\n".join(b.text_b for b in pair.blocks)
    assert "n_units in (256, 128)" in joined_a and "units in (256, 128)" in joined_b
    assert "hid[hid < 0] = 0" in joined_a and "z[z < 0] = 0" in joined_b


def test_honest_pairs_stay_well_below_the_threshold(stub):
    from grader.similar import THRESHOLD

    pairs = similar_pairs([(n, "ch10", code_of(n)) for n in HONEST], {"ch10": stub}, threshold=0.0)
    assert len(pairs) == len(list(combinations(HONEST, 2)))
    assert max(p.score for p in pairs) < THRESHOLD * 0.8


def test_the_stub_alone_is_not_similarity(stub):
    # two students who handed in the stub untouched share only the stub: nothing to see
    assert similar_pairs([("a", "ch10", stub), ("b", "ch10", stub)], {"ch10": stub}) == []
    # without removing the stub, they would be identical
    assert similar_pairs([("a", "ch10", stub), ("b", "ch10", stub)])[0].score == 1.0


def test_pairs_are_shown_escaped_side_by_side(stub):
    pairs = similar_pairs([(n, "ch10", code_of(n)) for n in ("honest_ben", "copied_from_ben")], {"ch10": stub})
    page = pairs_html(pairs)
    assert page.count("<pre>") == 2 * len(pairs[0].blocks)
    assert "hid[hid &lt; 0] = 0" in page


def test_grade_similar_command(tmp_path, stub):
    from grader.cli import main

    for n in HONEST + ["copied_from_ben"]:
        write_notebook(tmp_path / "submissions" / n / "ch10.ipynb", code_of(n))
    write_notebook(tmp_path / "assignments" / "ch10.ipynb", stub)
    out = tmp_path / "similar.html"
    result = CliRunner().invoke(main, ["similar", str(tmp_path / "submissions"), "--against", str(tmp_path / "assignments"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "honest_" in line or "copied" in line]
    assert len(lines) == 1 and "copied_from_ben" in lines[0] and "honest_ben" in lines[0]
    assert "side by side" in result.output and out.read_text().count("<pre>") >= 4


SHARED_HELPER = '''
def summarize_layers(sizes):
    """Parameters of a dense stack, layer by layer."""
    report, total = [], 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weights = fan_in * fan_out + fan_out
        total += weights
        report.append(f"{fan_in:>4} -> {fan_out:<4} {weights:>8,d} parameters")
    report.append(f"total: {total:,d}")
    return "\\n".join(report)

print(summarize_layers([784, 300, 100, 10]))
'''

OWN_HELPER = '''
import math
def glorot_scale(n_in, n_out):
    return math.sqrt(6 / (n_in + n_out))
for n in (10, 100, 1000):
    print(n, round(glorot_scale(n, n), 4))
'''


def test_the_class_report_of_a_grading_run_lists_near_copies_only(tmp_path, cli, sandbox_available):
    from conftest import ALL_RIGHT, MLP_NO_RELU, Q1_WRONG, XOR_WRONG, write_class

    submissions = write_class(tmp_path / "submissions", {
        "ann": (*ALL_RIGHT, SHARED_HELPER),
        "bob": (*ALL_RIGHT, SHARED_HELPER.replace("report", "lines")),  # renamed: still the same code
        "cat": (Q1_WRONG, XOR_WRONG, MLP_NO_RELU, OWN_HELPER),
    })
    result = cli(submissions, "--out", tmp_path / "out", "-j", "2")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "class.html").read_text()
    section = page[page.index("id='similar'"):]
    assert "ann" in section and "bob" in section and "summarize_layers" in section
    assert "cat" not in section and "glorot_scale" not in section


def test_the_stub_code_made_from_the_solutions_is_the_shipped_stubs():
    from grader.similar import stub_code

    repo = Path(__file__).resolve().parents[1]
    stubs = stub_code(repo / "solutions")
    assert sorted(stubs) == ["ch10", "ch14"]
    for name, code in stubs.items():
        assert code == notebook_code(repo / "assignments" / f"{name}.ipynb")


def test_class_pairs_are_kept_until_a_notebook_changes(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import grader.similar as similar

    subs = [SimpleNamespace(student=n, assignment="ch10", sha256=n, path=write_notebook(tmp_path / n / "ch10.ipynb", code_of(n)))
            for n in HONEST + ["copied_from_ben"]]
    cache = tmp_path / "similar.json"
    first = similar.class_pairs(subs, None, cache=cache)
    assert [(p.student_a, p.student_b) for p in first] == [("copied_from_ben", "honest_ben")]

    def must_not_run(*args, **kwargs):
        raise AssertionError("compared every pair again")

    monkeypatch.setattr(similar, "similar_pairs", must_not_run)
    again = similar.class_pairs(subs, None, cache=cache)
    assert [(p.student_a, p.student_b, p.share_a, len(p.blocks)) for p in again] == \
        [(p.student_a, p.student_b, p.share_a, len(p.blocks)) for p in first]
    assert similar.pairs_html(again) == similar.pairs_html(first)
    subs[0].sha256 = "changed"
    with pytest.raises(AssertionError, match="compared every pair again"):
        similar.class_pairs(subs, None, cache=cache)


def test_a_notebook_over_the_size_limit_is_not_read_and_code_is_bounded(tmp_path):
    from grader.notebook.load import MAX_NOTEBOOK_MB
    from grader.similar import MAX_CODE_CHARS

    huge = tmp_path / "huge.ipynb"
    with open(huge, "wb") as f:  # sparse: costs no disk, would cost memory if read
        f.truncate((MAX_NOTEBOOK_MB + 1) * 2**20)
    assert notebook_code(huge) == ""
    long = write_notebook(tmp_path / "long.ipynb", "# %%\n" + "x = 1\n" * MAX_CODE_CHARS)
    assert len(notebook_code(long)) == MAX_CODE_CHARS
