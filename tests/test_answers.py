"""Static answers: the last top-level assignment in cell order, read with literal_eval, never run."""

from __future__ import annotations

import pytest

from grader.notebook.answers import find_assignment, read_choice, read_choices, read_shapes
from grader.notebook.source import as_python, parse_cell
from helpers_notebooks import answers, code, md, notebook

OPTIONS = "ABCD"
SHAPE_KEYS = ["hidden", "output"]


def choice(*sources, name="answer_q1"):
    return read_choice(find_assignment(answers(*sources), name), OPTIONS)


def choices(*sources, name="answer_q2"):
    return read_choices(find_assignment(answers(*sources), name), OPTIONS)


def shapes(*sources, name="answer_shapes"):
    return read_shapes(find_assignment(answers(*sources), name), SHAPE_KEYS)


# --- one letter -------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ['"B"', '"b"', '" b "', "'B\\n'", '"  B"'])
def test_single_letter_is_read_in_any_case_with_surrounding_spaces(written):
    reading = choice(f"answer_q1 = {written}")
    assert reading.ok
    assert reading.value == "B"
    assert reading.note is None


def test_missing_answer_names_the_variable_and_shows_an_example():
    reading = choice("x = 1", "print(x)")
    assert not reading.ok
    assert "`answer_q1` is not set" in reading.problem
    assert 'answer_q1 = "A"' in reading.problem


def test_none_answer_says_it_is_still_none():
    reading = choice("answer_q1 = None")
    assert not reading.ok
    assert "still None" in reading.problem
    assert 'answer_q1 = "A"' in reading.problem


def test_non_literal_answer_explains_answers_are_read_without_running_code():
    reading = choice("answer_q1 = chr(66)")
    assert not reading.ok
    assert "answer_q1 = chr(66)" in reading.problem
    assert "not a literal" in reading.problem
    assert "without running" in reading.problem


def test_a_variable_reference_is_not_a_literal_even_if_it_holds_a_letter():
    reading = choice('letter = "B"', "answer_q1 = letter")
    assert not reading.ok
    assert "not a literal" in reading.problem


def test_unknown_letter_is_rejected_and_the_options_are_listed():
    reading = choice('answer_q1 = "E"')
    assert not reading.ok
    assert "E is not an option" in reading.problem
    assert "A, B, C, D" in reading.problem


@pytest.mark.parametrize("written", ['"AB"', '"A, B"', '""', '["B"]', "2"])
def test_a_single_choice_needs_exactly_one_letter_as_a_string(written):
    reading = choice(f"answer_q1 = {written}")
    assert not reading.ok
    assert "exactly one letter" in reading.problem


def test_annotated_assignment_counts_as_an_answer():
    reading = choice('answer_q1: str = "B"')
    assert reading.ok and reading.value == "B"


def test_bare_annotation_without_value_is_not_an_answer():
    reading = choice("answer_q1: str")
    assert not reading.ok
    assert "is not set" in reading.problem


def test_chained_assignment_sets_each_name():
    nb = answers('answer_q1 = answer_q3 = "C"')
    assert read_choice(find_assignment(nb, "answer_q1"), OPTIONS).value == "C"
    assert read_choice(find_assignment(nb, "answer_q3"), OPTIONS).value == "C"


# --- several letters --------------------------------------------------------------------------


@pytest.mark.parametrize("written", ['{"A", "c"}', '["a", "C"]', '(" A", "C ")', '["A", "C", "A"]'])
def test_several_letters_accept_a_set_list_or_tuple(written):
    reading = choices(f"answer_q2 = {written}")
    assert reading.ok
    assert reading.value == frozenset({"A", "C"})


@pytest.mark.parametrize("written", ["set()", "[]", "()"])
def test_empty_set_of_letters_asks_for_at_least_one(written):
    reading = choices(f"answer_q2 = {written}")
    assert not reading.ok
    assert "empty set" in reading.problem
    assert "at least one letter" in reading.problem


def test_unknown_letters_in_a_set_are_named():
    reading = choices('answer_q2 = {"a", "E", "Z"}')
    assert not reading.ok
    assert "E, Z not among the options" in reading.problem


@pytest.mark.parametrize("written", ['"AC"', '"A"', "{1, 2}", '{"A": 1}', "3"])
def test_several_letters_must_be_a_collection_of_single_letters(written):
    reading = choices(f"answer_q2 = {written}")
    assert not reading.ok
    assert "answer_q2" in reading.problem


def test_a_string_of_two_letters_for_several_choices_asks_for_a_set():
    reading = choices('answer_q2 = "AC"')
    assert "give a set of letters" in reading.problem


def test_elements_of_several_letters_must_each_be_one_letter():
    reading = choices('answer_q2 = {"AB", "C"}')
    assert "every element must be one letter" in reading.problem


def test_none_for_several_letters_is_still_none():
    reading = choices("answer_q2 = None")
    assert "still None" in reading.problem
    assert '{"A", "D"}' in reading.problem


# --- which assignment counts ------------------------------------------------------------------


def test_last_assignment_wins_across_cells_and_the_note_says_how_many_and_which_cell():
    nb = notebook(md("intro"), 'answer_q1 = "A"', md("more"), 'answer_q1 = "C"', "x = 1")
    found = find_assignment(nb, "answer_q1")
    assert found.count == 2
    assert found.cell == 3
    reading = read_choice(found, OPTIONS)
    assert reading.value == "C"
    assert reading.note == "`answer_q1` is set 2 times; the last one (cell 4) counts."


def test_last_assignment_wins_within_one_cell():
    reading = choice('answer_q1 = "A"\nanswer_q1 = "D"')
    assert reading.value == "D"
    assert "2 times" in reading.note


def test_last_assignment_wins_across_reordered_cells():
    # Executed in the opposite order: execution counts must not decide, cell order does.
    nb = notebook(code('answer_q1 = "A"', execution_count=9), code('answer_q1 = "B"', execution_count=1))
    reading = read_choice(find_assignment(nb, "answer_q1"), OPTIONS)
    assert reading.value == "B"


def test_a_later_bad_assignment_overrides_an_earlier_good_one():
    nb = answers('answer_q1 = "A"', "answer_q1 = chr(66)")
    reading = read_choice(find_assignment(nb, "answer_q1"), OPTIONS)
    assert not reading.ok
    assert "not a literal" in reading.problem
    assert "2 times" in reading.note


def test_a_note_comes_with_a_problem_too():
    reading = choice('answer_q1 = "B"', 'answer_q1 = "Z"')
    assert not reading.ok and "Z is not an option" in reading.problem
    assert "2 times" in reading.note


@pytest.mark.parametrize(
    "source",
    [
        'if True:\n    answer_q1 = "B"',
        'def f():\n    answer_q1 = "B"\n    return answer_q1',
        'for _ in range(1):\n    answer_q1 = "B"',
        'class A:\n    answer_q1 = "B"',
        'with open("x") as f:\n    answer_q1 = "B"',
    ],
)
def test_assignments_nested_in_blocks_are_ignored(source):
    found = find_assignment(answers(source), "answer_q1")
    assert found.missing
    assert "is not set" in read_choice(found, OPTIONS).problem


def test_nested_assignment_does_not_override_an_earlier_top_level_one():
    reading = choice('answer_q1 = "A"', 'if True:\n    answer_q1 = "B"')
    assert reading.value == "A"
    assert reading.note is None


def test_markdown_and_raw_cells_are_not_read():
    nb = notebook(md('answer_q1 = "B"'))
    assert find_assignment(nb, "answer_q1").missing


def test_list_sources_are_joined():
    nb = notebook()
    nb.cells.append({"cell_type": "code", "source": ["x = 1\n", 'answer_q1 = "D"\n'], "metadata": {}})
    assert read_choice(find_assignment(nb, "answer_q1"), OPTIONS).value == "D"


def test_cell_with_ipython_magics_is_still_parsed():
    source = '%matplotlib inline\n!pip install x\nimport numpy as np\nanswer_q1 = "C"\n%time 1 + 1'
    assert parse_cell(source) is not None
    assert choice(source).value == "C"


def test_as_python_rewrites_magics_to_calls():
    assert "get_ipython()" in as_python("%matplotlib inline")
    assert "get_ipython()" in as_python("!pip install x")


def test_cell_with_a_syntax_error_is_skipped_and_mentioned_when_the_answer_is_missing():
    nb = answers("x = 1", 'answer_q1 = "B"\nprint(', "y = (")
    found = find_assignment(nb, "answer_q1")
    assert found.missing
    assert found.unparsable_cells == (1, 2)
    problem = read_choice(found, OPTIONS).problem
    assert "cells 2, 3" in problem
    assert "not valid Python" in problem


def test_syntax_error_in_another_cell_does_not_hide_a_valid_answer():
    reading = choice("def broken(:", 'answer_q1 = "B"')
    assert reading.ok and reading.value == "B"


def test_a_later_answer_in_a_broken_cell_is_mentioned_in_the_note():
    reading = choice('answer_q1 = "A"', 'answer_q1 = "B"\nprint(')
    assert reading.value == "A"
    assert reading.note is not None and "cell 2" in reading.note


# --- shapes -----------------------------------------------------------------------------------


def test_shapes_are_read_as_tuples_and_lists_are_accepted():
    reading = shapes('answer_shapes = {"hidden": (None, 300), "output": [None, 10], "extra": (1,)}')
    assert reading.ok
    assert reading.value == {"hidden": (None, 300), "output": (None, 10)}
    assert all(isinstance(v, tuple) for v in reading.value.values())


def test_partial_shapes_keep_the_good_entries_and_name_the_missing_ones():
    reading = shapes('answer_shapes = {"hidden": (None, 300)}')
    assert not reading.ok
    assert reading.value == {"hidden": (None, 300)}
    assert "no shape tuple for output" in reading.problem
    assert "hidden" not in reading.problem


def test_the_stub_dict_of_nones_names_every_entry():
    reading = shapes('answer_shapes = {"hidden": None, "output": None}')
    assert reading.value == {}
    assert "no shape tuple for hidden, output" in reading.problem


@pytest.mark.parametrize(
    "bad",
    ["300", '"(None, 300)"', "(None, -1)", "(None, True)", "(None, 3.0)", "((None, 3),)", "{None, 3}"],
    ids=["int", "string", "negative", "bool", "float", "nested", "set"],
)
def test_malformed_shape_entries_are_rejected(bad):
    reading = shapes(f'answer_shapes = {{"hidden": {bad}, "output": (None, 10)}}')
    assert not reading.ok
    assert reading.value == {"output": (None, 10)}
    assert "no shape tuple for hidden" in reading.problem


def test_zero_and_empty_shapes_are_allowed():
    reading = shapes('answer_shapes = {"hidden": (None, 0), "output": ()}')
    assert reading.ok
    assert reading.value == {"hidden": (None, 0), "output": ()}


@pytest.mark.parametrize("written", ["[(None, 3)]", '"hidden"', "(None, 3)"])
def test_shapes_must_be_a_dict(written):
    reading = shapes(f"answer_shapes = {written}")
    assert not reading.ok
    assert "must be a dict" in reading.problem
    assert '"hidden": (None, 10)' in reading.problem


def test_missing_shapes_show_an_example_with_the_first_key():
    reading = shapes("x = 1")
    assert "`answer_shapes` is not set" in reading.problem
    assert '{"hidden": (None, 10), ...}' in reading.problem


# --- nothing is executed ----------------------------------------------------------------------


def test_answers_are_never_executed(tmp_path):
    marker = tmp_path / "pwned_by_test"
    nb = answers(
        f"answer_q1 = __import__('os').system('touch {marker}')",
        f"answer_q2 = open('{marker}', 'w').write('x')",
        f"import os\nos.system('touch {marker}')\nanswer_shapes = {{'hidden': (None, 3)}}",
        f"!touch {marker}",
        f"%system touch {marker}",
    )
    q1 = read_choice(find_assignment(nb, "answer_q1"), OPTIONS)
    q2 = read_choices(find_assignment(nb, "answer_q2"), OPTIONS)
    sh = read_shapes(find_assignment(nb, "answer_shapes"), SHAPE_KEYS)
    assert "not a literal" in q1.problem
    assert "not a literal" in q2.problem
    assert sh.value == {"hidden": (None, 3)}
    assert not marker.exists()


def test_huge_expressions_are_not_evaluated():
    # literal_eval refuses arithmetic, so this cannot make a giant number or list.
    reading = choice("answer_q1 = 9 ** 9 ** 9")
    assert "not a literal" in reading.problem
    reading = choices('answer_q2 = ["A"] * 10 ** 10')
    assert "not a literal" in reading.problem
