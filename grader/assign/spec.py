"""Item specs read from `### ITEM` cells of a solution notebook.

A solution notebook marks each gradable question with a code cell like

    ### ITEM ch10.q1
    {"title": "XOR from threshold logic units",
     "parts": [{"kind": "choice", "name": "answer_q1", "options": "ABCD", "points": 4},
               {"kind": "function", "name": "xor_network", "params": ["a", "b"],
                "check": "xor_truth_table", "points": 6}]}

A function or builder part may state `rules` on how it is written, e.g. `"rules": {"must_call":
["tlu"], "forbid": ["BitXor", "If"]}` (vocabulary in grader/judge/code_rules.py).

The dict is read with `ast.literal_eval`. Keys of choice, choices and shapes parts are not written
there: they are what the solution notebook itself assigns to the part's name, so the runnable
solution and the key cannot disagree.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from grader.errors import GraderError
from grader.notebook.answers import find_assignment, read_choice, read_choices, read_shapes
from grader.judge.code_rules import rule_problems

ITEM_MARK = re.compile(r"^\s*###\s*ITEM\s+(?P<id>[\w.]+)\s*$", re.MULTILINE)
METADATA_KEY = "homl_grader"

STATIC_KINDS = {"choice", "choices", "shapes"}
RUN_KINDS = {"function", "builder", "model", "artifacts"}
KINDS = STATIC_KINDS | RUN_KINDS


class SpecError(GraderError, ValueError):
    """A solution notebook whose item cells cannot be read."""


@dataclass
class Part:
    kind: str
    points: float
    name: str | None = None  # the variable, function or builder the student writes
    options: str | None = None  # letters of a choice question
    keys: list[str] | None = None  # entries of a shapes dict
    params: list[str] | None = None  # expected signature of a function or builder
    file: str | None = None  # model file the notebook saves
    check: str | None = None  # the judge's check for functions, builders and models
    settings: dict[str, Any] = field(default_factory=dict)  # check settings, e.g. threshold
    rules: dict[str, list[str]] | None = None  # code rules of a function part (grader/judge/code_rules.py)
    key: Any = None  # the correct answer; only in the instructor's spec

    @property
    def label(self) -> str:
        return self.name or self.file or self.check or self.kind


@dataclass
class Item:
    id: str
    title: str
    parts: list[Part]

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.parts)


@dataclass
class Assignment:
    id: str
    version: str
    title: str
    items: list[Item]

    @property
    def max_score(self) -> float:
        return sum(i.max_score for i in self.items)

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def public(self) -> dict:
        """The spec without keys: what a student's copy of the grader may hold."""
        data = asdict(self)
        for item in data["items"]:
            for part in item["parts"]:
                part.pop("key")
        return data

    @classmethod
    def from_public(cls, data: dict) -> "Assignment":
        items = [
            Item(i["id"], i["title"], [Part(**p) for p in i["parts"]]) for i in data["items"]
        ]
        return cls(data["id"], data["version"], data["title"], items)


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_item_cell(cell) -> bool:
    return cell.get("cell_type") == "code" and ITEM_MARK.match(_source(cell)) is not None


def _part(item_id: str, raw: dict) -> Part:
    if not isinstance(raw, dict):
        raise SpecError(f"{item_id}: each part must be a dict, got {raw!r:.60}")
    raw = dict(raw)
    kind = raw.get("kind")
    if kind not in KINDS:
        raise SpecError(f"{item_id}: unknown part kind {kind!r}; use one of {', '.join(sorted(KINDS))}")
    try:
        part = Part(**raw)
    except TypeError as exc:
        raise SpecError(f"{item_id}: {exc}") from None
    needs = {
        "choice": ["name", "options"],
        "choices": ["name", "options"],
        "shapes": ["name"],
        "function": ["name", "params", "check"],
        "builder": ["name", "params", "check"],
        "model": ["file", "check"],
        "artifacts": ["check"],
    }[kind]
    missing = [k for k in needs if getattr(part, k) is None]
    if missing:
        raise SpecError(f"{item_id}: a {kind} part needs {', '.join(missing)}")
    if not isinstance(part.settings, dict):
        raise SpecError(f"{item_id}: settings must be a dict")
    from grader.checks import problem_with  # the registry's checks import Part from here

    problem = problem_with(part)
    if problem:
        raise SpecError(f"{item_id}: {problem}")
    if part.rules is not None:
        if kind not in ("function", "builder"):
            raise SpecError(f"{item_id}: only function and builder parts have rules, not {kind} parts")
        problems = rule_problems(part.rules)
        if problems:
            raise SpecError(f"{item_id}: {part.name}: {'; '.join(problems)}")
    return part


def read_spec(nb) -> Assignment:
    """The assignment spec of a solution notebook, with keys read from its answers."""
    meta = nb.get("metadata", {}).get(METADATA_KEY)
    if not meta or "assignment" not in meta:
        raise SpecError(f"notebook metadata has no {METADATA_KEY}.assignment")
    items = []
    for cell in nb.cells:
        if not is_item_cell(cell):
            continue
        text = _source(cell)
        item_id = ITEM_MARK.match(text).group("id")
        body = ITEM_MARK.sub("", text, count=1)
        try:
            raw = ast.literal_eval(body.strip())
        except (ValueError, SyntaxError) as exc:
            raise SpecError(f"{item_id}: the ITEM cell is not a Python literal dict ({exc})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("parts", []), list):
            raise SpecError(f"{item_id}: the ITEM cell must hold a dict with a list of parts")
        parts = [_part(item_id, p) for p in raw.get("parts", [])]
        if not parts:
            raise SpecError(f"{item_id}: an item needs at least one part")
        items.append(Item(item_id, raw.get("title", item_id), parts))
    if not items:
        raise SpecError("no ### ITEM cells: a solution notebook marks each question with a cell starting `### ITEM <id>`")
    ids = [i.id for i in items]
    if len(ids) != len(set(ids)):
        raise SpecError(f"item ids repeat: {ids}")
    assignment = Assignment(meta["assignment"], str(meta.get("version", "1")), meta.get("title", ""), items)
    _attach_keys(nb, assignment)
    return assignment


def _definition_source(nb, name: str) -> str | None:
    """The last code cell of the solution that defines `name` at top level."""
    found = None
    for cell in nb.cells:
        if cell.get("cell_type") != "code" or is_item_cell(cell):
            continue
        source = _source(cell)
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        if any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body):
            found = source
    return found


def _attach_keys(nb, assignment: Assignment) -> None:
    for item in assignment.items:
        for part in item.parts:
            if part.kind == "builder":
                # the grader's own build of the model is the solution's builder, run by the evaluator
                part.key = _definition_source(nb, part.name)
                if part.key is None:
                    raise SpecError(f"{item.id}: the solution does not define {part.name}")
                continue
            if part.kind not in STATIC_KINDS:
                continue
            found = find_assignment(nb, part.name)
            if not found.literal or found.value is None:
                raise SpecError(f"{item.id}: the solution gives no literal value for {part.name}")
            # a key must be an answer a student could give: check it with the students' readers
            if part.kind == "choice":
                reading = read_choice(found, part.options)
            elif part.kind == "choices":
                reading = read_choices(found, part.options)
            else:
                if not isinstance(found.value, dict) or not found.value:
                    raise SpecError(f"{item.id}: the key of {part.name} must be a non-empty dict of shapes")
                reading = read_shapes(found, list(found.value))
            if not reading.ok:
                raise SpecError(f"{item.id}: bad key: {reading.problem}")
            if part.kind == "choice":
                part.key = reading.value
            elif part.kind == "choices":
                part.key = sorted(reading.value)
            else:
                part.key = {k: list(v) for k, v in reading.value.items()}
                part.keys = list(reading.value)


def load_solution(path: Path) -> tuple[Any, Assignment]:
    nb = nbformat.read(path, as_version=4)
    try:
        return nb, read_spec(nb)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None


def load_solutions(folder: Path) -> dict[str, Assignment]:
    """Every solution notebook in `folder`, by assignment id."""
    specs = {}
    for path in sorted(Path(folder).glob("*.ipynb")):
        _, spec = load_solution(path)
        specs[spec.id] = spec
    return specs


PUBLIC_SPECS = Path(__file__).resolve().parent.parent / "specs"


def load_public_specs(folder: Path = PUBLIC_SPECS) -> dict[str, Assignment]:
    """The keyless specs shipped with the package (written by `grade assign`)."""
    specs = {}
    for path in sorted(Path(folder).glob("*.json")):
        spec = Assignment.from_public(json.loads(path.read_text()))
        specs[spec.id] = spec
    return specs
