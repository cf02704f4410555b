"""The causes of an executed notebook's failures, per item, with their hints: the one call the
report, the JSON feedback and `grade check` share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from grader.feedback import causes, hints


def explain(
    cells: Sequence[Mapping],
    item_ids: Iterable[str],
    item_cells: Mapping[str, Iterable[int]] | None = None,
    not_run: Iterable[int] = (),
) -> dict[str, causes.CellFailure]:
    """Item id -> the first cell among the item's that raised, was stopped by the grader or did
    not run (`not_run`: indices), with hints from its error and code. An item's cells are those
    under its question's heading, else `item_cells[item_id]` (the cells defining its names)."""
    failures = causes.cell_failures(cells, not_run=not_run)
    if not failures:
        return {}
    found = causes.item_causes(cells, list(item_ids), failures, item_cells)
    for item_id, failure in found.items():
        source = cells[failure.index].get("source", "")
        code = "".join(source) if isinstance(source, list) else str(source)
        found[item_id] = causes.with_hints(failure, hints.error_hints(failure.ename, failure.evalue, code))
    return found


def problem_sentences(found: Mapping[str, causes.CellFailure]) -> list[str]:
    """Report-level sentences for `problems`: each cell that raised and cost an item, once. (Cells
    the grader stopped or never ran are already there, from the run stage.)"""
    return list(dict.fromkeys(f.sentence() for f in found.values() if f.kind == "raised"))
