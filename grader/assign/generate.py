"""Student notebooks from solution notebooks (`grade assign`).

In code cells, each `### BEGIN SOLUTION` ... `### END SOLUTION` region is replaced:
- a region of only `answer_...` assignments becomes the same names set to empty answers
  (`None` for a letter, `set()` for several letters, the same keys mapped to None for shapes);
- any other region becomes `# YOUR CODE HERE` and `raise NotImplementedError()` at its indentation.
`### ITEM` cells (specs and points) are dropped, outputs cleared, and the assignment id and version
written into the notebook metadata.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

import nbformat

from grader.assign.spec import METADATA_KEY, STATIC_KINDS, Assignment, SpecError, is_item_cell, read_spec
from grader.errors import GraderError
from grader.notebook.answers import find_assignment

BEGIN = re.compile(r"^(?P<indent>[ \t]*)###\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^[ \t]*###\s*END SOLUTION\s*$")


class SolutionMarkError(GraderError, ValueError):
    pass


def _empty_value(value: ast.expr) -> str:
    if isinstance(value, (ast.Set, ast.List, ast.Tuple)) or (
        isinstance(value, ast.Call) and getattr(value.func, "id", "") in {"set", "frozenset"}
    ):
        return "set()"
    if isinstance(value, ast.Dict):
        keys = ", ".join(f"{ast.unparse(k)}: None" for k in value.keys)
        return "{" + keys + "}"
    return "None"


def _answer_stub(lines: list[str]) -> list[str] | None:
    """Stub lines when the region only assigns `answer_*` names, else None."""
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return None
    if not tree.body:
        return None
    stub = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target = node.target
        else:
            return None
        if not (isinstance(target, ast.Name) and target.id.startswith("answer_")):
            return None
        stub.append(f"{target.id} = {_empty_value(node.value)}")
    return stub


def strip_solutions(source: str) -> str:
    """The cell source with every solution region replaced by its stub."""
    out: list[str] = []
    region: list[str] | None = None
    indent = ""
    for line in source.split("\n"):
        if region is None:
            begin = BEGIN.match(line)
            if begin:
                region, indent = [], begin.group("indent")
            else:
                out.append(line)
        elif END.match(line):
            dedented = [l[len(indent):] if l.startswith(indent) else l.lstrip() for l in region]
            stub = _answer_stub(dedented)
            if stub is None:
                stub = ["# YOUR CODE HERE", "raise NotImplementedError()"]
            out.extend(indent + s for s in stub)
            region = None
        else:
            region.append(line)
    if region is not None:
        raise SolutionMarkError("### BEGIN SOLUTION without ### END SOLUTION")
    return "\n".join(out)


def _refuse_leaked_keys(nb, spec: Assignment) -> None:
    """A key written outside solution markers would reach students: refuse to generate."""
    for item in spec.items:
        for part in item.parts:
            if part.kind not in STATIC_KINDS:
                continue
            value = find_assignment(nb, part.name).value
            empty = value is None or value == set() or (
                isinstance(value, dict) and all(v is None for v in value.values())
            )
            if not empty:
                raise SolutionMarkError(
                    f"{item.id}: {part.name} keeps its value in the student notebook: "
                    "put the answer between ### BEGIN SOLUTION and ### END SOLUTION"
                )


def student_notebook(solution) -> tuple[object, Assignment]:
    """The student notebook and the assignment spec, from a solution notebook."""
    spec = read_spec(solution)
    nb = copy.deepcopy(solution)
    cells = []
    for cell in nb.cells:
        if is_item_cell(cell):
            continue
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            cell.outputs = []
            cell.execution_count = None
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in {"tags"}}
        cells.append(cell)
    nb.cells = cells
    _refuse_leaked_keys(nb, spec)
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        METADATA_KEY: {"assignment": spec.id, "version": spec.version},
    }
    return nb, spec


def render_notebook(nb) -> str:
    return nbformat.writes(nb) + "\n"


def render_public_spec(spec: Assignment) -> str:
    return json.dumps(spec.public(), indent=1, sort_keys=True) + "\n"


def generate(solutions: Path, assignments: Path, specs: Path) -> dict[Path, str]:
    """Every file `grade assign` writes, as path -> text (nothing written here)."""
    files = {}
    for path in sorted(Path(solutions).glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        try:
            nb, spec = student_notebook(solution)
        except (SolutionMarkError, SpecError) as exc:
            raise type(exc)(f"{path}: {exc}") from None
        files[Path(assignments) / path.name] = render_notebook(nb)
        files[Path(specs) / f"{spec.id}.json"] = render_public_spec(spec)
    return files


def stale(files: dict[Path, str]) -> list[Path]:
    """The files whose content on disk differs from what would be generated."""
    return [p for p, text in files.items() if not p.exists() or p.read_text() != text]
