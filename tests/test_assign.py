"""Item specs from solution notebooks, and student stubs that keep nothing of the solution."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from grader.assign.generate import (
    SolutionMarkError,
    generate,
    render_notebook,
    render_public_spec,
    stale,
    strip_solutions,
    student_notebook,
)
from grader.assign.spec import Assignment, SpecError, is_item_cell, load_solutions, read_spec
from grader.notebook.answers import find_assignment
from helpers_notebooks import (
    SECRET_LINES,
    code,
    item,
    leaked_lines,
    notebook,
    solution,
    solution_region,
    write,
)

REPO = Path(__file__).resolve().parent.parent
REAL_SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))


def one_part_solution(part: str, *cells, item_body: str | None = None):
    body = item_body if item_body is not None else '{"title": "T", "parts": [%s]}' % part
    return notebook(item("ch99.q1", body), *cells, homl_grader={"assignment": "ch99", "version": "1"})


# --- solution regions -------------------------------------------------------------------------


def test_answer_region_for_one_letter_becomes_none():
    assert strip_solutions(solution_region('answer_q1 = "B"')) == "answer_q1 = None"


@pytest.mark.parametrize("key", ['{"A", "C"}', '["A", "C"]', '("A",)', 'set(["A"])'])
def test_answer_region_for_several_letters_becomes_an_empty_set(key):
    assert strip_solutions(solution_region(f"answer_q2 = {key}")) == "answer_q2 = set()"


def test_answer_region_for_shapes_keeps_the_keys_and_maps_them_to_none():
    stub = strip_solutions(solution_region('answer_shapes = {"hidden": (None, 300), "out": (None, 10)}'))
    assert stub == "answer_shapes = {'hidden': None, 'out': None}"


def test_several_answers_in_one_region_are_each_emptied():
    stub = strip_solutions(solution_region('answer_q1 = "B"\nanswer_q2 = {"A"}'))
    assert stub == "answer_q1 = None\nanswer_q2 = set()"


def test_code_region_becomes_your_code_here_at_its_indentation_inside_a_function():
    source = (
        "def f(x):\n"
        '    """Double x."""\n'
        "    ### BEGIN SOLUTION\n"
        "    y = x * 2\n"
        "    if y:\n"
        "        return y\n"
        "    ### END SOLUTION\n"
        "    return 0\n"
        "\n"
        "f(1)"
    )
    assert strip_solutions(source) == (
        "def f(x):\n"
        '    """Double x."""\n'
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n"
        "    return 0\n"
        "\n"
        "f(1)"
    )
    compile(strip_solutions(source), "<stub>", "exec")


def test_code_region_in_a_method_keeps_eight_spaces():
    source = "class M:\n    def call(self):\n        ### BEGIN SOLUTION\n        return 1\n        ### END SOLUTION"
    stub = strip_solutions(source)
    assert "        # YOUR CODE HERE\n        raise NotImplementedError()" in stub
    compile(stub, "<stub>", "exec")


def test_a_region_mixing_answers_and_code_becomes_a_code_stub():
    stub = strip_solutions(solution_region('x = 2\nanswer_q1 = "B"'))
    assert stub == "# YOUR CODE HERE\nraise NotImplementedError()"


def test_an_answer_computed_from_code_becomes_a_code_stub_not_an_empty_answer():
    stub = strip_solutions(solution_region("answer_q1 = 'ABCD'[1]\nprint(answer_q1)"))
    assert "'ABCD'" not in stub and "raise NotImplementedError()" in stub


def test_several_regions_in_one_cell_are_all_replaced_and_text_between_kept():
    source = solution_region('answer_q1 = "B"') + "\nprint('between')\n" + solution_region("z = 3")
    assert strip_solutions(source) == (
        "answer_q1 = None\nprint('between')\n# YOUR CODE HERE\nraise NotImplementedError()"
    )


def test_cell_without_regions_is_unchanged():
    source = "import numpy as np\n# a comment\nx = np.zeros(3)\n"
    assert strip_solutions(source) == source


def test_begin_without_end_raises():
    with pytest.raises(SolutionMarkError, match="without ### END SOLUTION"):
        strip_solutions("### BEGIN SOLUTION\nx = 1\n")


def test_begin_without_end_in_a_solution_notebook_stops_generation():
    nb = one_part_solution(
        '{"kind": "choice", "name": "answer_q1", "options": "AB", "points": 1}',
        'answer_q1 = "A"',
        "def f():\n    ### BEGIN SOLUTION\n    return 1\n",
    )
    with pytest.raises(SolutionMarkError):
        student_notebook(nb)


def test_annotated_answer_region_becomes_an_empty_answer():
    assert strip_solutions(solution_region('answer_q1: str = "B"')) == "answer_q1 = None"


# --- the student notebook ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated():
    sol = solution()
    nb, spec = student_notebook(sol)
    return sol, nb, spec, render_notebook(nb)


def test_item_cells_are_removed(generated):
    sol, nb, _, text = generated
    assert sum(is_item_cell(c) for c in sol.cells) == 4
    assert not any(is_item_cell(c) for c in nb.cells)
    assert len(nb.cells) == len(sol.cells) - 4
    assert "### ITEM" not in text
    assert '"points"' not in text and "xor_truth_table" not in text


def test_outputs_and_execution_counts_are_cleared(generated):
    _, nb, _, _ = generated
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None


def test_cell_metadata_keeps_only_tags(generated):
    _, nb, _, text = generated
    assert nb.cells[-1].metadata == {"tags": ["q4"]}
    assert "solution_note" not in text


def test_notebook_metadata_has_assignment_and_version_and_nothing_else_of_the_solution(generated):
    _, nb, _, text = generated
    assert nb.metadata["homl_grader"] == {"assignment": "ch99", "version": "2"}
    assert "solution_only" not in nb.metadata
    assert "q2 is A and E" not in text


def test_student_answers_are_empty_and_code_raises(generated):
    _, nb, _, _ = generated
    assert find_assignment(nb, "answer_q1").value is None
    assert find_assignment(nb, "answer_q2").value == set()
    assert find_assignment(nb, "answer_shapes").value == {"hidden": None, "output": None}
    xor_cell = next(c.source for c in nb.cells if "def xor_network" in c.source)
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in xor_cell
    assert '"""XOR from threshold units."""' in xor_cell  # given text outside regions is kept


def test_generated_notebook_is_valid_nbformat(generated):
    _, _, _, text = generated
    nbformat.validate(nbformat.reads(text, as_version=4))


def test_no_key_and_no_solution_line_appears_anywhere_in_the_generated_json(generated):
    sol, nb, _, text = generated
    raw = json.dumps(json.loads(text))
    for secret in ["31731", "2929", "secret_threshold", "hidden_or", "q2 is A and E", "answer_q2 is A, E", "'B'"]:
        assert secret not in raw, secret
    for written in ['answer_q1 = " b"', "answer_q1 = ' b'", 'answer_q2 = {"E", "a"}', "answer_q2 = {'E', 'a'}"]:
        assert written not in "\n".join(c.source for c in nb.cells)
    assert leaked_lines(sol, text) == []
    assert all(line not in raw for line in SECRET_LINES)


def test_solution_is_not_modified_by_generation():
    sol = solution()
    before = nbformat.writes(sol)
    student_notebook(sol)
    assert nbformat.writes(sol) == before


def test_a_key_written_outside_a_solution_region_does_not_reach_the_student():
    nb = one_part_solution(
        '{"kind": "choice", "name": "answer_q1", "options": "ABCD", "points": 1}',
        'answer_q1 = "C"  # forgot the solution markers',
    )
    try:
        student, _ = student_notebook(nb)
    except (SpecError, SolutionMarkError):
        return
    assert find_assignment(student, "answer_q1").value is None


# --- specs and keys ---------------------------------------------------------------------------


def test_keys_attach_from_the_solution_answers():
    spec = read_spec(solution())
    assert spec.id == "ch99" and spec.version == "2" and spec.title == "Chapter 99"
    q1, q2, q3, q4 = (i.parts[0] for i in spec.items)
    assert q1.key == "B"  # uppercased, spaces stripped
    assert q2.key == ["A", "E"]  # sorted list of uppercase letters
    assert q3.key == {"hidden": [None, 31731], "output": [None, 2929]}
    assert q3.keys == ["hidden", "output"]
    assert q4.key is None  # run parts are judged by a check, not a key
    assert spec.max_score == 13
    assert spec.item("ch99.q4").parts[0].params == ["a", "b"]


def test_key_comes_from_the_last_top_level_assignment_of_the_solution():
    nb = one_part_solution(
        '{"kind": "choice", "name": "answer_q1", "options": "ABCD", "points": 1}',
        'answer_q1 = "A"',
        'answer_q1 = "D"',
    )
    assert read_spec(nb).items[0].parts[0].key == "D"


def test_public_spec_has_no_key_fields_and_no_key_values():
    spec = read_spec(solution())
    public = spec.public()
    for it in public["items"]:
        for part in it["parts"]:
            assert "key" not in part
    text = render_public_spec(spec)
    assert "31731" not in text and "2929" not in text
    assert '"key"' not in text
    assert all(p.key is not None for p in spec.items[0].parts)  # public() does not strip the original


def test_public_spec_round_trips_without_keys():
    spec = read_spec(solution())
    again = Assignment.from_public(json.loads(render_public_spec(spec)))
    assert again.public() == spec.public()
    assert all(p.key is None for it in again.items for p in it.parts)
    assert again.items[2].parts[0].keys == ["hidden", "output"]


def test_version_defaults_to_1_and_title_to_the_item_id():
    nb = notebook(
        item("ch99.q1", '{"parts": [{"kind": "artifacts", "check": "training_practice", "points": 1}]}'),
        homl_grader={"assignment": "ch99"},
    )
    spec = read_spec(nb)
    assert spec.version == "1"
    assert spec.items[0].title == "ch99.q1"


def test_missing_assignment_metadata_is_a_spec_error():
    nb = notebook(item("ch99.q1", '{"parts": [{"kind": "artifacts", "check": "training_practice", "points": 1}]}'))
    with pytest.raises(SpecError, match="homl_grader.assignment"):
        read_spec(nb)


@pytest.mark.parametrize(
    "part, message",
    [
        ('{"kind": "essay", "name": "a", "points": 1}', "unknown part kind 'essay'"),
        ('{"name": "a", "points": 1}', "unknown part kind None"),
        ('{"kind": "choice", "name": "answer_q1", "points": 1}', "a choice part needs options"),
        ('{"kind": "choice", "options": "AB", "points": 1}', "a choice part needs name"),
        ('{"kind": "function", "name": "f", "points": 1}', "a function part needs params, check"),
        ('{"kind": "model", "check": "acc", "points": 1}', "a model part needs file"),
        ('{"kind": "choice", "name": "answer_q1", "options": "AB"}', "points"),
        ('{"kind": "choice", "name": "answer_q1", "options": "AB", "points": 1, "colour": 1}', "colour"),
        ('{"kind": "function", "name": "f", "params": [], "check": "xor_truth_tabel", "points": 1}',
         "unknown check 'xor_truth_tabel' for a function part; known: mlp_forward, reber_corrupt"),
        ('{"kind": "model", "file": "m.keras", "check": "xor_truth_table", "points": 1}',
         "check 'xor_truth_table' is for function parts, not model parts"),
        ('{"kind": "model", "file": "m.keras", "check": "mnist_dense", "points": 1, "settings": {"treshold": 0.9}}',
         "check 'mnist_dense' has no setting treshold (its settings: threshold)"),
    ],
    ids=["unknown-kind", "no-kind", "no-options", "no-name", "no-params-check", "no-file", "no-points", "extra-field",
         "unknown-check", "check-of-another-kind", "unknown-setting"],
)
def test_malformed_parts_are_spec_errors_naming_the_item(part, message):
    nb = one_part_solution(part, 'answer_q1 = "A"')
    with pytest.raises(SpecError) as err:
        read_spec(nb)
    assert "ch99.q1" in str(err.value)
    assert message in str(err.value)


def test_item_without_parts_is_a_spec_error():
    with pytest.raises(SpecError, match="at least one part"):
        read_spec(one_part_solution("", item_body='{"title": "T", "parts": []}'))


def test_duplicated_item_ids_are_a_spec_error():
    part = '{"title": "T", "parts": [{"kind": "artifacts", "check": "training_practice", "points": 1}]}'
    nb = notebook(item("ch99.q1", part), item("ch99.q1", part), homl_grader={"assignment": "ch99"})
    with pytest.raises(SpecError, match="repeat"):
        read_spec(nb)


@pytest.mark.parametrize("body", ['{"title": f(x), "parts": []}', '{"title": "T", "parts": [', "dict(a=1)"])
def test_non_literal_item_cell_is_a_spec_error(body):
    with pytest.raises(SpecError, match="not a Python literal dict"):
        read_spec(one_part_solution("", item_body=body))


@pytest.mark.parametrize(
    "answer_cell",
    ["x = 1", "answer_q1 = None", "answer_q1 = chr(66)", 'if True:\n    answer_q1 = "A"'],
    ids=["missing", "none", "non-literal", "nested"],
)
def test_solution_without_a_literal_answer_for_a_choice_part_is_a_spec_error(answer_cell):
    nb = one_part_solution('{"kind": "choice", "name": "answer_q1", "options": "AB", "points": 1}', answer_cell)
    with pytest.raises(SpecError, match="no literal value for answer_q1"):
        read_spec(nb)


def test_choice_key_outside_the_options_is_a_spec_error():
    nb = one_part_solution('{"kind": "choice", "name": "answer_q1", "options": "AB", "points": 1}', 'answer_q1 = "C"')
    with pytest.raises(SpecError, match="C is not an option; choose one of A, B"):
        read_spec(nb)


@pytest.mark.parametrize(
    "kind, answer",
    [
        ("choice", "answer_q1 = 2"),
        ("choices", 'answer_q1 = {"A", "Z"}'),
        ("choices", 'answer_q1 = "AB"'),
        ("choices", "answer_q1 = set()"),
        ("shapes", "answer_q1 = [(None, 3)]"),
        ("shapes", 'answer_q1 = {"dense": 5}'),
        ("shapes", "answer_q1 = {}"),
    ],
    ids=["choice-int", "choices-unknown-letter", "choices-string", "choices-empty",
         "shapes-not-dict", "shapes-not-a-shape", "shapes-empty"],
)
def test_a_solution_key_of_the_wrong_form_is_a_spec_error(kind, answer):
    options = ', "options": "ABCD"' if kind != "shapes" else ""
    nb = one_part_solution(f'{{"kind": "{kind}", "name": "answer_q1"{options}, "points": 1}}', answer)
    with pytest.raises(SpecError, match="ch99.q1"):
        read_spec(nb)


@pytest.mark.parametrize("body", ['[{"kind": "artifacts", "check": "training_practice", "points": 1}]', '{"parts": ["choice"]}'])
def test_item_cell_of_the_wrong_shape_is_a_spec_error(body):
    with pytest.raises(SpecError, match="ch99.q1"):
        read_spec(one_part_solution("", item_body=body))


def test_item_mark_must_open_the_cell():
    nb = notebook(
        code('x = 1\n### ITEM ch99.q1\n{"parts": []}'),
        item("ch99.q2", '{"parts": [{"kind": "artifacts", "check": "training_practice", "points": 1}]}'),
        homl_grader={"assignment": "ch99"},
    )
    assert [i.id for i in read_spec(nb).items] == ["ch99.q2"]


# --- generate and stale -----------------------------------------------------------------------


def test_generate_writes_nothing_and_stale_lists_missing_then_changed_files(tmp_path):
    write(tmp_path / "solutions" / "ch99.ipynb", solution())
    assignments, specs = tmp_path / "assignments", tmp_path / "specs"
    files = generate(tmp_path / "solutions", assignments, specs)
    assert set(files) == {assignments / "ch99.ipynb", specs / "ch99.json"}
    assert not assignments.exists() and not specs.exists()
    assert sorted(stale(files)) == sorted(files)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert stale(files) == []
    (specs / "ch99.json").write_text(files[specs / "ch99.json"].replace('"points": 2', '"points": 3'))
    assert stale(files) == [specs / "ch99.json"]
    # Generation is deterministic: a second run gives the same text.
    assert generate(tmp_path / "solutions", assignments, specs) == files


def test_load_solutions_indexes_specs_by_assignment_id(tmp_path):
    write(tmp_path / "a.ipynb", solution("ch98"))
    write(tmp_path / "b.ipynb", solution("ch99"))
    specs = load_solutions(tmp_path)
    assert sorted(specs) == ["ch98", "ch99"]
    assert specs["ch98"].items[0].id == "ch98.q1"


# --- the repository's own files ---------------------------------------------------------------


def _need_real_solutions():
    if not REAL_SOLUTIONS:
        pytest.skip("solutions/ has no notebooks yet; nothing to generate from")


def test_assignments_and_public_specs_are_what_grade_assign_would_write_now(monkeypatch):
    _need_real_solutions()
    monkeypatch.chdir(REPO)
    files = generate(Path("solutions"), Path("assignments"), Path("grader/specs"))
    assert stale(files) == [], "assignments/ or grader/specs/ differ from the solutions: run `grade assign`"
    extra = {p for p in Path("assignments").glob("*.ipynb")} | {p for p in Path("grader/specs").glob("*.json")}
    assert extra - set(files) == set(), "files no solution generates; remove them"


@pytest.mark.parametrize("path", REAL_SOLUTIONS or [None], ids=lambda p: p.name if p else "none")
def test_real_solutions_leak_no_key_and_no_solution_line(path):
    _need_real_solutions()
    sol = nbformat.read(path, as_version=4)
    nb, spec = student_notebook(sol)
    text = render_notebook(nb)
    for item_ in spec.items:
        for part in item_.parts:
            if part.kind in {"choice", "choices", "shapes"}:
                value = find_assignment(nb, part.name).value
                assert value in (None, set()) or (
                    isinstance(value, dict) and set(value.values()) == {None}
                ), f"{item_.id}: {part.name} keeps {value!r} in the student notebook"
    assert leaked_lines(sol, text) == []
    assert all("key" not in part for it in spec.public()["items"] for part in it["parts"])
