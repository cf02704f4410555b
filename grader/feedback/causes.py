"""Causes, not symptoms: which cell of the executed notebook raised or was stopped, named as
the student sees it ("In [16]", "under Question 9"), with the exception and the line of the
student's own code it came from.

Everything here reads an executed notebook (nbformat dicts: code cells with execution counts
and error outputs) and returns plain data; it runs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

# Cell metadata the grader's run stage writes on a cell it interrupted: {"stopped_after_s": 180.0}.
# The run stage removes this key from every cell before running, so a notebook cannot forge it.
GRADER_METADATA = "homl_grader"

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# IPython >= 8: "Cell In[16], line 3" (optionally ", in build_model(n)"); older: "<ipython-input-16-...>"
_CELL_FRAME = re.compile(r"^Cell In\s*\[(\d+)\],\s*line (\d+)|^\s*<ipython-input-(\d+)-[0-9a-f]+>", re.M)
_ARROW_LINE = re.compile(r"^-*>\s*(\d+)\s?(.*)$", re.M)
_QUESTION = re.compile(r"^\s{0,3}#{1,6}\s*(Question\s+(\d+)\b[^\n—–:-]*)", re.M | re.I)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _source(cell: Mapping) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


@dataclass(frozen=True)
class Frame:
    """A line of the student's own code in a traceback."""

    count: int  # the execution count of the cell it is in: In [count]
    line: int  # 1-based, in that cell
    code: str  # the line itself, stripped ("" when unknown)

    def text(self, cell_count: int | None = None) -> str:
        """ "line 3: `x = ...`", or "In [12], line 3: ..." when the line is in another cell."""
        where = f"line {self.line}" if self.count == cell_count else f"In [{self.count}], line {self.line}"
        return f"{where}: `{_short(self.code, 100)}`" if self.code else where


def student_frame(traceback: Sequence[str], cells: Sequence[Mapping] = ()) -> Frame | None:
    """The deepest frame of the traceback that is in one of the notebook's cells (not library
    code). The line's text comes from the cell with that execution count when `cells` has it."""
    text = strip_ansi("\n".join(map(str, traceback)))
    found = None
    for match in _CELL_FRAME.finditer(text):
        found = match
    if found is None:
        return None
    count = int(found.group(1) or found.group(3))
    frame_text = text[found.end():]
    next_frame = re.search(r"^(?:File |Cell In|\S+Error|\S+Exception|\S+: )", frame_text, re.M)
    frame_text = frame_text[: next_frame.start()] if next_frame else frame_text
    arrow = _ARROW_LINE.search(frame_text)
    line = int(found.group(2) or (arrow.group(1) if arrow else 0))
    code = arrow.group(2).strip() if arrow else ""
    for cell in cells:
        if cell.get("cell_type") == "code" and cell.get("execution_count") == count:
            lines = _source(cell).splitlines()
            if 0 < line <= len(lines):
                code = lines[line - 1].strip()
            break
    return Frame(count, line, code) if line else None


# ---- where a cell is, as the student sees it -----------------------------------------------


def headings(cells: Sequence[Mapping]) -> list[tuple[int, str, int]]:
    """(cell index, "Question 9", 9) for each markdown cell that starts a question."""
    found = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "markdown":
            continue
        match = _QUESTION.search(_source(cell))
        if match:
            found.append((index, re.sub(r"\s+", " ", match.group(1)).strip(), int(match.group(2))))
    return found


def section_of(cells: Sequence[Mapping], index: int) -> str | None:
    """The question a cell is under ("Question 9"), or None before the first question."""
    title = None
    for start, name, _ in headings(cells):
        if start > index:
            break
        title = name
    return title


def cell_label(cells: Sequence[Mapping], index: int) -> str:
    """ "In [16]" for a cell that ran; else its place: "the 2nd code cell under Question 9"."""
    count = cells[index].get("execution_count")
    if isinstance(count, int):
        return f"In [{count}]"
    marks = [h[0] for h in headings(cells) if h[0] < index]
    start = marks[-1] if marks else -1
    position = sum(1 for c in cells[start + 1 : index + 1] if c.get("cell_type") == "code")
    section = section_of(cells, index)
    where = f"under {section}" if section else "of the notebook"
    return f"the {_ordinal(position)} code cell {where}"


def cell_place(cells: Sequence[Mapping], index: int) -> str:
    """ "In [16] (under Question 9)": the label, and the question when the label lacks it."""
    label = cell_label(cells, index)
    section = section_of(cells, index)
    return f"{label} (under {section})" if section and "under" not in label else label


def cells_text(cells: Sequence[Mapping], indices: Iterable[int]) -> str:
    """Several cells as the student sees them: "In [16] (under Question 9), the 3rd and 4th code
    cells under Question 10" (cells that never ran have no In [n]: their place is given)."""
    said, unrun = [], {}  # unrun: section -> ordinals, in order
    for index in indices:
        label = cell_label(cells, index)
        if label.startswith("In ["):
            said.append(cell_place(cells, index))
        else:
            ordinal, _, where = label.removeprefix("the ").partition(" code cell ")
            unrun.setdefault(where, []).append(ordinal)
    for where, ordinals in unrun.items():
        if len(ordinals) == 1:
            said.append(f"the {ordinals[0]} code cell {where}")
        else:
            said.append(f"the {', '.join(ordinals[:-1])} and {ordinals[-1]} code cells {where}")
    return ", ".join(said)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def item_sections(cells: Sequence[Mapping], item_ids: Iterable[str]) -> dict[str, list[int]]:
    """Item id ("ch10.q9") -> indices of the cells between its question's heading and the next
    question's. Items whose heading the notebook lacks (edited away) are left out."""
    marks = headings(cells)
    by_number = {}
    for position, (start, _, number) in enumerate(marks):
        end = marks[position + 1][0] if position + 1 < len(marks) else len(cells)
        by_number.setdefault(number, list(range(start, end)))
    sections = {}
    for item_id in item_ids:
        match = re.search(r"\.q(\d+)$", item_id)
        if match and int(match.group(1)) in by_number:
            sections[item_id] = by_number[int(match.group(1))]
    return sections


# ---- what went wrong in a cell ---------------------------------------------------------------


@dataclass(frozen=True)
class CellFailure:
    """A code cell that raised, was stopped by the grader, or never ran."""

    index: int  # in the notebook
    place: str  # "In [16] (under Question 9)"
    kind: str  # "raised", "stopped" or "not run"
    ename: str = ""
    evalue: str = ""
    frame: Frame | None = None
    stopped_after_s: float | None = None
    count: int | None = None  # the cell's execution count
    hints: tuple[str, ...] = field(default=())

    def sentence(self) -> str:
        """One sentence for the student, first in the item's feedback."""
        if self.kind == "stopped":
            seconds = f" after {self.stopped_after_s:g} s" if self.stopped_after_s else ""
            return f"{self.place} was stopped by the grader{seconds}: it ran past the time limit of one cell."
        if self.kind == "not run":
            return f"{self.place} did not run: the notebook stopped before it."
        where = f" ({self.frame.text(self.count)})" if self.frame else ""
        return f"{self.place} raised {self.ename}: {_short(self.evalue, 300)}{where}."


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stopped_cells(cells: Sequence[Mapping]) -> dict[int, float]:
    """Index -> seconds, for the cells the grader's run stage marked as interrupted."""
    found = {}
    for index, cell in enumerate(cells):
        mark = (cell.get("metadata") or {}).get(GRADER_METADATA) or {}
        if isinstance(mark, Mapping) and isinstance(mark.get("stopped_after_s"), (int, float)):
            found[index] = float(mark["stopped_after_s"])
    return found


def cell_failures(
    cells: Sequence[Mapping], stopped: Mapping[int, float] | None = None, not_run: Iterable[int] = ()
) -> list[CellFailure]:
    """Every code cell that raised, was stopped (`stopped`: index -> seconds; read from the
    grader's marks when None) or did not run (`not_run`: indices), in notebook order."""
    stopped = stopped_cells(cells) if stopped is None else stopped
    not_run = set(not_run)
    found = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        place = cell_place(cells, index)
        count = cell.get("execution_count") if isinstance(cell.get("execution_count"), int) else None
        if index in stopped:
            found.append(CellFailure(index, place, "stopped", stopped_after_s=stopped[index], count=count))
            continue
        if index in not_run:
            found.append(CellFailure(index, place, "not run", count=count))
            continue
        error = next((o for o in cell.get("outputs") or [] if o.get("output_type") == "error"), None)
        if error is None:
            continue
        found.append(CellFailure(
            index, place, "raised",
            ename=str(error.get("ename", "Error")),
            evalue=strip_ansi(str(error.get("evalue", ""))),
            frame=student_frame(error.get("traceback") or [], cells),
            count=count,
        ))
    return found


def item_causes(
    cells: Sequence[Mapping],
    item_ids: Iterable[str],
    failures: Sequence[CellFailure],
    item_cells: Mapping[str, Iterable[int]] | None = None,
) -> dict[str, CellFailure]:
    """Item id -> the first failure among its cells: those under its question's heading, else
    (`item_cells`) the cells that define its names."""
    sections = item_sections(cells, item_ids)
    causes = {}
    for item_id in item_ids:
        own = set(sections.get(item_id) or (item_cells or {}).get(item_id) or ())
        first = next((f for f in failures if f.index in own), None)
        if first is not None:
            causes[item_id] = first
    return causes


def with_hints(failure: CellFailure, hints: Iterable[str]) -> CellFailure:
    return replace(failure, hints=tuple(dict.fromkeys([*failure.hints, *hints])))


LEAD = "As a result: "


def annotate(report, causes: Mapping[str, CellFailure], static_labels: Iterable[str] = ()):
    """A copy of `report` (grader.records.Report) whose failed parts' feedback starts with their
    item's cause, then "As a result: <what it cost>". Parts in `static_labels` (answers read
    without running the notebook) are left alone: a cell's failure did not cost them."""
    static_labels = set(static_labels)
    from copy import deepcopy

    report = deepcopy(report)
    for item in report.items:
        cause = causes.get(item.id)
        if cause is None:
            continue
        for part in item.parts:
            if part.status != "passed" and part.label not in static_labels and not part.feedback.startswith(cause.sentence()):
                part.feedback = f"{cause_text(cause)} {LEAD}{part.feedback}"
    return report


def cause_text(cause: CellFailure) -> str:
    """The cause sentence and its hints, as plain text."""
    return " ".join([cause.sentence(), *(f"Hint: {h}" for h in cause.hints)])


def strip_cause(feedback: str, cause: CellFailure) -> str:
    """Part feedback without the cause `annotate` put in front (the HTML shows it once, on top)."""
    if feedback.startswith(cause.sentence()) and LEAD in feedback:
        return feedback.split(LEAD, 1)[1]
    return feedback
