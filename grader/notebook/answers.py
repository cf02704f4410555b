"""Static answers: the value of the last top-level assignment to a name, never executed.

The same readers serve the judge (which compares with the key) and `grade check` (which only
says whether an answer is present and well-formed).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from grader.notebook.source import parse_cell


@dataclass(frozen=True)
class Found:
    """What the notebook assigns to a name at top level."""

    name: str
    value: Any = None
    literal: bool = False  # the last assignment's value is a Python literal
    source: str | None = None  # the last assignment as written, for messages
    cell: int | None = None  # index of the cell holding the last assignment
    count: int = 0  # top-level assignments seen in the whole notebook
    unparsable_cells: tuple[int, ...] = ()
    skipped_after: tuple[int, ...] = ()  # unparsable cells after the last assignment that mention the name

    @property
    def missing(self) -> bool:
        return self.count == 0


def _code_cells(nb) -> list[tuple[int, str]]:
    cells = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            cells.append((index, "".join(source) if isinstance(source, list) else str(source)))
    return cells


def _targets(node: ast.stmt) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return node.targets
    if isinstance(node, ast.AnnAssign) and node.value is not None:
        return [node.target]
    return []


MAX_SHOWN = 200  # characters of an answer quoted back in feedback


def _written(node: ast.stmt) -> str:
    """The assignment as written, short enough to quote in a report."""
    try:
        text = ast.unparse(node)
    except (RecursionError, MemoryError, ValueError):  # parsed, but too deep to print back
        text = f"{ast.unparse(_targets(node)[0])} = ..."
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def find_assignment(nb, name: str) -> Found:
    """The last top-level `name = <value>` in the notebook's code cells, in cell order."""
    last: tuple[int, ast.stmt, str] | None = None
    count = 0
    unparsable = []
    for index, source in _code_cells(nb):
        tree = parse_cell(source)
        if tree is None:
            unparsable.append(index)
            continue
        for node in tree.body:
            if any(isinstance(t, ast.Name) and t.id == name for t in _targets(node)):
                count += 1
                last = (index, node, source)
    if last is None:
        return Found(name, unparsable_cells=tuple(unparsable))
    index, node, _ = last
    sources = dict(_code_cells(nb))
    skipped = tuple(i for i in unparsable if i > index and name in sources.get(i, ""))
    written = _written(node)
    try:
        value = ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return Found(name, None, False, written, index, count, tuple(unparsable), skipped)
    return Found(name, value, True, written, index, count, tuple(unparsable), skipped)


@dataclass(frozen=True)
class Reading:
    """An answer made comparable, or the reason it is not."""

    value: Any = None
    problem: str | None = None
    note: str | None = None  # worth saying, but not a problem (e.g. set in several cells)

    @property
    def ok(self) -> bool:
        return self.problem is None


def _common_problem(found: Found, example: str) -> str | None:
    if found.missing:
        extra = ""
        if found.unparsable_cells:
            cells = ", ".join(str(i + 1) for i in found.unparsable_cells)
            many = len(found.unparsable_cells) > 1
            extra = f" (cell{'s' if many else ''} {cells} {'are' if many else 'is'} not valid Python and {'were' if many else 'was'} skipped)"
        return f"`{found.name}` is not set{extra}: write `{example}` in its answer cell."
    if not found.literal:
        return (
            f"`{found.source}` is not a literal value; answers are read without running "
            f"your code, so write the value itself, e.g. `{example}`."
        )
    if found.value is None:
        return f"`{found.name}` is still None: replace it with your answer, e.g. `{example}`."
    return None


def _note(found: Found) -> str | None:
    notes = []
    if found.count > 1:
        notes.append(f"`{found.name}` is set {found.count} times; the last one (cell {found.cell + 1}) counts")
    for index in found.skipped_after:
        notes.append(f"cell {index + 1} also mentions `{found.name}` but is not valid Python and was skipped")
    return "; ".join(notes) + "." if notes else None


def _letter(value: Any) -> str | None:
    if isinstance(value, str):
        letter = value.strip().upper()
        return letter if len(letter) == 1 else None
    return None


def read_choice(found: Found, options: str) -> Reading:
    """One letter among `options`, case and surrounding spaces ignored."""
    example = f'{found.name} = "{options[0]}"'
    problem = _common_problem(found, example)
    if problem:
        return Reading(problem=problem, note=_note(found))
    letter = _letter(found.value)
    if letter is None:
        return Reading(
            problem=f"`{found.source}`: give exactly one letter as a string, e.g. `{example}`.",
            note=_note(found),
        )
    if letter not in options:
        return Reading(
            problem=f"`{found.source}`: {letter} is not an option; choose one of {', '.join(options)}.",
            note=_note(found),
        )
    return Reading(value=letter, note=_note(found))


def read_choices(found: Found, options: str) -> Reading:
    """A set of letters among `options` (a list or tuple is accepted too)."""
    example = f'{found.name} = {{"{options[0]}", "{options[-1]}"}}'
    problem = _common_problem(found, example)
    if problem:
        return Reading(problem=problem, note=_note(found))
    value = found.value
    if isinstance(value, str) or not isinstance(value, (set, frozenset, list, tuple)):
        return Reading(
            problem=f"`{found.source}`: give a set of letters, e.g. `{example}`.", note=_note(found)
        )
    letters = [_letter(v) for v in value]
    if any(letter is None for letter in letters):
        return Reading(
            problem=f"`{found.source}`: every element must be one letter, e.g. `{example}`.",
            note=_note(found),
        )
    unknown = sorted(set(letters) - set(options))
    if unknown:
        return Reading(
            problem=f"`{found.source}`: {', '.join(unknown)} not among the options {', '.join(options)}.",
            note=_note(found),
        )
    if not letters:
        return Reading(
            problem=f"`{found.name}` is an empty set: choose at least one letter, e.g. `{example}`.",
            note=_note(found),
        )
    return Reading(value=frozenset(letters), note=_note(found))


def _shape(value: Any) -> tuple | None:
    if isinstance(value, (tuple, list)) and all(
        v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0) for v in value
    ):
        return tuple(value)
    return None


def read_shapes(found: Found, keys: list[str]) -> Reading:
    """A dict from each name in `keys` to a shape tuple (None for the batch dimension).

    The value is a dict holding only the well-formed entries; the problem names the others.
    """
    example = f"{found.name} = {{\"{keys[0]}\": (None, 10), ...}}"
    problem = _common_problem(found, example)
    if problem:
        return Reading(problem=problem, note=_note(found))
    if not isinstance(found.value, dict):
        return Reading(problem=f"`{found.name}` must be a dict like `{example}`.", note=_note(found))
    shapes, bad = {}, []
    for key in keys:
        shape = _shape(found.value.get(key))
        if shape is None:
            bad.append(key)
        else:
            shapes[key] = shape
    problem = None
    if bad:
        problem = (
            f"`{found.name}`: no shape tuple for {', '.join(bad)} "
            "(use a tuple of ints, None for the batch dimension)."
        )
    return Reading(value=shapes, problem=problem, note=_note(found))
