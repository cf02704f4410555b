"""Small notebooks built in memory for the notebook and assignment tests (no real solutions)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output


def code(source: str, execution_count: int | None = None, **metadata):
    cell = new_code_cell(source, execution_count=execution_count)
    cell.metadata.update(metadata)
    return cell


def md(source: str):
    return new_markdown_cell(source)


def notebook(*cells, **metadata):
    """A v4 notebook of the given cells; plain strings become code cells."""
    nb = new_notebook(cells=[code(c) if isinstance(c, str) else c for c in cells])
    nb.metadata.update(metadata)
    return nb


def answers(*sources: str):
    """A notebook of code cells, for the static answer readers."""
    return notebook(*sources)


def write(path: Path, nb) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def item(item_id: str, body: str):
    return code(f"### ITEM {item_id}\n{body}")


def solution_region(body: str, indent: str = "") -> str:
    lines = [f"{indent}### BEGIN SOLUTION", *body.split("\n"), f"{indent}### END SOLUTION"]
    return "\n".join(lines)


# Distinctive values so a leak is recognisable anywhere in the generated JSON.
SHAPE_KEY = {"hidden": (None, 31731), "output": (None, 2929)}
SECRET_LINES = [
    "hidden_or = secret_threshold(a + b - 0.5)",
    "return hidden_or - secret_threshold(a + b - 1.5)",
]


def solution(assignment: str = "ch99", version: str = "2"):
    """A solution notebook with one part of each static kind and one function part."""
    nb = notebook(
        md("# Chapter 99\n\nAnswer the questions below."),
        code("import math"),
        item(
            f"{assignment}.q1",
            '{"title": "One letter", "parts": [{"kind": "choice", "name": "answer_q1",'
            ' "options": "ABCD", "points": 2}]}',
        ),
        md("**Q1.** Which one?"),
        code(solution_region('answer_q1 = " b"'), execution_count=3),
        item(
            f"{assignment}.q2",
            '{"title": "Several letters", "parts": [{"kind": "choices", "name": "answer_q2",'
            ' "options": "ABCDE", "points": 3}]}',
        ),
        code(solution_region('answer_q2 = {"E", "a"}'), execution_count=4),
        item(
            f"{assignment}.q3",
            '{"title": "Shapes", "parts": [{"kind": "shapes", "name": "answer_shapes",'
            ' "points": 2}]}',
        ),
        code(
            "# shapes of the two layers\n"
            + solution_region('answer_shapes = {"hidden": (None, 31731), "output": (None, 2929)}'),
            execution_count=5,
        ),
        item(
            f"{assignment}.q4",
            '{"title": "XOR", "parts": [{"kind": "function", "name": "xor_network",'
            ' "params": ["a", "b"], "check": "xor_truth_table", "points": 6}]}',
        ),
        code(
            "def xor_network(a, b):\n"
            '    """XOR from threshold units."""\n'
            + solution_region("\n".join("    " + line for line in SECRET_LINES), indent="    ")
            + "\n\nprint(xor_network(1, 0))",
            execution_count=6,
            solution_note="uses secret_threshold",
            tags=["q4"],
        ),
        homl_grader={"assignment": assignment, "version": version, "title": "Chapter 99",
                     "notes": "q2 is A and E"},
        solution_only={"answer_q2": ["A", "E"]},
    )
    nb.cells[-1].outputs = [new_output("stream", name="stdout", text="1\nanswer_q2 is A, E\n")]
    nb.cells[4].outputs = [new_output("execute_result", data={"text/plain": "'B'"}, execution_count=3)]
    return nb


def _split_regions(nb) -> tuple[set[str], set[str]]:
    """Stripped lines of code cells inside and outside solution regions."""
    inside_lines, outside_lines = set(), set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.split("\n"):
            if cell.cell_type == "code" and re.match(r"\s*###\s*BEGIN SOLUTION", line):
                inside = True
            elif cell.cell_type == "code" and re.match(r"\s*###\s*END SOLUTION", line):
                inside = False
            else:
                (inside_lines if inside else outside_lines).add(line.strip())
    return inside_lines, outside_lines


def leaked_lines(solution_nb, student_text: str, min_length: int = 8) -> list[str]:
    """Solution-only lines (inside a region, nowhere outside one) that appear in the student JSON.

    Comments and short lines (`return x`) are not counted: they say nothing of the solution.
    """
    import json

    inside, outside = _split_regions(solution_nb)
    student = nbformat.reads(student_text, as_version=4)
    student_lines = {line.strip() for cell in student.cells for line in cell.source.split("\n")}
    for cell in student.cells:  # the rest (outputs, metadata) must not hold the line anywhere
        cell.source = ""
    raw = json.dumps(student, sort_keys=True)
    leaks = []
    for line in sorted(inside - outside):
        if len(line) < min_length or line.startswith("#"):
            continue
        if line in student_lines or json.dumps(line)[1:-1] in raw:
            leaks.append(line)
    return leaks
