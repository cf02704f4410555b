"""Reading a submitted file as a notebook, with one clear sentence when it is not one."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from grader.notebook import source

MAX_NOTEBOOK_MB = 50
MAX_CELLS = 2000  # the book's notebooks have a few hundred; 100,000 empty cells would run for hours


class NotebookProblem(ValueError):
    """The file cannot be graded as a notebook; the message says why, for the student."""


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")  # some Windows editors save UTF-16; kinder to accept it
        except UnicodeDecodeError:
            raise NotebookProblem(f"{name} is UTF-16 text that looks cut off: not a readable notebook.") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotebookProblem(f"{name} is not a text file (it is not UTF-8): not a notebook.") from None


def _check_cell_count(name: str, cells) -> None:
    if isinstance(cells, list) and len(cells) > MAX_CELLS:
        raise NotebookProblem(f"{name} has {len(cells):,} cells, over the {MAX_CELLS:,}-cell limit for a notebook.")


def read_notebook(path: Path, max_mb: int = MAX_NOTEBOOK_MB):
    """The notebook as nbformat v4, or NotebookProblem."""
    path = Path(path)
    name = path.name
    size = path.stat().st_size
    if size == 0:
        raise NotebookProblem(f"{name} is empty (0 bytes).")
    if size > max_mb * 2**20:
        raise NotebookProblem(
            f"{name} is {size / 2**20:.0f} MB, over the {max_mb} MB limit for a notebook "
            "(clear large outputs before submitting)."
        )
    with open(path, "rb") as f:  # never more than the limit, even if the file grew meanwhile
        raw = f.read(max_mb * 2**20 + 1)
    text = _decode(raw, name)
    try:
        data = json.loads(text)
    except RecursionError:
        raise NotebookProblem(f"{name} is not a readable notebook: its JSON is nested too deeply.") from None
    except json.JSONDecodeError as exc:
        stripped = text.strip()
        hint = ""
        if not stripped:
            hint = " (it holds only white space)"
        elif stripped[0] not in "{[":
            hint = " (it looks like a script or another file renamed .ipynb)"
        elif exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            hint = " (the file looks cut off)"  # the JSON is fine up to where the file ends
        raise NotebookProblem(f"{name} is not valid notebook JSON{hint}: {exc.msg} (line {exc.lineno}).") from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise NotebookProblem(f"{name} is JSON but not a Jupyter notebook (no cells).")
    _check_cell_count(name, data.get("cells"))  # before nbformat's slow validation
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:
        raise NotebookProblem(f"{name} is not a notebook nbformat can read: {str(exc)[:200]}") from None
    _check_cell_count(name, nb.cells)  # a converted nbformat 3 notebook too
    for cell in nb.cells:  # tolerate hand-edited notebooks with list sources or missing fields
        if isinstance(cell.get("source"), list):
            cell.source = "".join(cell.source)
        if cell.cell_type == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
        cell.setdefault("metadata", {})
    # IPython syntax converted once per cell, within a budget, before any static part reads it
    source.prepare(c.source for c in nb.cells if c.cell_type == "code" and isinstance(c.source, str))
    return nb
