"""Answers read from a notebook without running it, kept as plain data in the run record.

A `Found` (grader/notebook/answers.py) becomes JSON with its value as the literal's `repr`, which
`ast.literal_eval` turns back into the same value at judging time (sets, tuples, dicts...).
"""

from __future__ import annotations

import ast
from dataclasses import asdict, fields

from grader.notebook.answers import Found, find_assignment

MAX_LITERAL_CHARS = 8_000_000  # an answer is a letter or a few shapes; kept whole up to the notebook cell cap


def found_to_data(found: Found) -> dict:
    data = asdict(found)
    data["value"] = None
    if found.literal:
        text = repr(found.value)
        try:
            same = len(text) <= MAX_LITERAL_CHARS and ast.literal_eval(text) == found.value
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            same = False
        if same:
            data["value"] = text
        else:  # nan, or far too large: judged as "not a literal value"
            data["literal"] = False
    data["unparsable_cells"] = list(found.unparsable_cells)
    data["skipped_after"] = list(found.skipped_after)
    return data


def found_from_data(data: dict) -> Found:
    known = {f.name for f in fields(Found)}
    values = {k: v for k, v in data.items() if k in known}
    values["value"] = ast.literal_eval(data["value"]) if data.get("literal") and data.get("value") is not None else None
    values["unparsable_cells"] = tuple(data.get("unparsable_cells", ()))
    values["skipped_after"] = tuple(data.get("skipped_after", ()))
    return Found(**values)


def read_static(nb, names: list[str]) -> dict[str, dict]:
    return {name: found_to_data(find_assignment(nb, name)) for name in names}
